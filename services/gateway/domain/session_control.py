"""The call-control side of a session (sans I/O): say, whisper, pause, hang up; a phone call's
answer and keys.

A mixin of ``VoiceSession``, kept apart so the session module stays readable. A paused agent
takes no turns (a held caller, a caller with a person); whispers are a supervisor's
instructions for the agent's next turns, never spoken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.gateway.domain.actions import Action, Publish, Respond
from services.gateway.domain.protocol import MAX_TEXT_CHARS
from shared.events import DtmfReceived

# Supervisor whispers kept for the agent's next turns; past it the oldest is forgotten.
MAX_WHISPERS = 8


class SessionControl:
    # Fields and methods of the session this mixes into (``VoiceSession`` defines them).
    state: str
    changes: int
    paused: bool
    whispers: list[str]

    if TYPE_CHECKING:

        def _reply(self, text: str) -> list[Action]: ...

        def _end(self, now: float, reason: str, *, send: bool) -> list[Action]: ...

        def _become_ready(self, now: float) -> list[Action]: ...

    def _respond(self, instructions: str | None = None) -> list[Action]:
        """An agent turn, unless the agent is paused (the caller gets no AI answer then)."""
        return [] if self.paused else [Respond(instructions)]

    def announce(self, text: str) -> list[Action]:
        """Say ``text`` to the caller as a reply of its own, without running the agent."""
        text = text.strip()[:MAX_TEXT_CHARS]
        return self._reply(text) if text and self.state == "ready" else []

    def whisper(self, text: str) -> None:
        """An instruction for the agent's next turns (the newest ``MAX_WHISPERS`` are kept)."""
        self.whispers = [*self.whispers, text.strip()[:MAX_TEXT_CHARS]][-MAX_WHISPERS:]
        self.changes += 1

    def pause(self, paused: bool) -> None:
        if self.paused != paused:
            self.paused = paused
            self.changes += 1

    def hang_up(self, now: float, reason: str) -> list[Action]:
        """The server ends the call: ``call.ended`` with ``reason``, then a normal close."""
        return self._end(now, reason, send=True)

    def answer(self, now: float) -> list[Action]:
        """A phone call's stream started: the call is live with the line's configuration."""
        return self._become_ready(now) if self.state == "connecting" else []

    def on_dtmf(self, digit: str) -> list[Action]:
        """A key the caller pressed (phone calls): an event; the rules decide what it means."""
        if self.state != "ready":
            return []
        return [Publish(DtmfReceived(digit=digit))]
