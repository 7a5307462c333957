"""A connection's replies: runs agent turns and carries what they do to the caller.

The session core asks for a turn (``Respond``); the replier runs it as one owned task, feeding
sentences to the connection's reply output (speech, or whole text replies), tool calls to the
session (``tool.call`` for client tools, events for all), and remembered messages to the
conversation, and a goodbye (``EndCall``) to the connection's call control, which hangs up once it
has played. A newer turn or a barge-in cancels the turn in progress; a client tool that does
not answer within its ``timeout_seconds`` is settled as a timeout so the agent goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from services.gateway.dialogue.agent import (
    Agent,
    AgentTool,
    FellBack,
    FirstToken,
    Remember,
    Say,
    ToolFinished,
    ToolStarted,
)
from services.gateway.dialogue.base import EndCall
from services.gateway.dialogue.prompt import model_messages
from services.gateway.domain.actions import Action, Publish, Respond
from services.gateway.domain.session import VoiceSession
from services.gateway.entrypoints.call_metrics import observe_stage
from services.gateway.entrypoints.turn_trace import DIALOGUE, TurnTrace
from shared.events import DialogueFallback

log = logging.getLogger(__name__)


class ReplyOutput(Protocol):
    """Where a reply's sentences go: speech (``VoiceChannel``) or a whole text reply."""

    def start(self, reply_id: str, item_id: str) -> None: ...

    def say(self, text: str) -> None: ...

    def end(self) -> None: ...

    def interrupt(self) -> None: ...

    def note_stage(self, stage: str, ms: float) -> None: ...


class TextOutput:
    """Replies delivered whole, as text (``GATEWAY_VOICE=off``, chat channels)."""

    def __init__(
        self, session: Callable[[], VoiceSession], perform: Callable[[Sequence[Action]], None]
    ) -> None:
        self._session = session
        self._perform = perform
        self._reply: tuple[str, str, list[str]] | None = None

    def start(self, reply_id: str, item_id: str) -> None:
        self.interrupt()
        self._reply = (reply_id, item_id, [])

    def say(self, text: str) -> None:
        if self._reply is not None:
            self._reply[2].append(text)

    def end(self) -> None:
        self._finish(interrupted=False)

    def interrupt(self) -> None:
        self._finish(interrupted=True)

    def note_stage(self, stage: str, ms: float) -> None:
        # A text turn has no turn.metrics (no speech stages); its timings go to metrics only.
        observe_stage(stage, ms)

    def _finish(self, *, interrupted: bool) -> None:
        if self._reply is None:
            return
        reply_id, item_id, parts = self._reply
        self._reply = None
        self._perform(
            self._session().finish_reply(
                reply_id, item_id, " ".join(parts), interrupted=interrupted, played_ms=0
            )
        )


def _session_prompt(session: VoiceSession) -> str:
    """The session's own prompt and a supervisor's whispers, for the system message."""
    notes = [f"Instruction from your supervisor (never read it out): {w}" for w in session.whispers]
    return "\n".join([session.config.get("system_prompt") or "", *notes]).strip()


class Replier:
    def __init__(
        self,
        *,
        session: Callable[[], VoiceSession],
        perform: Callable[[Sequence[Action]], None],
        output: Callable[[], ReplyOutput],
        agent: Callable[[VoiceSession], tuple[Agent, list[AgentTool]]],
        end_call: Callable[[], None] = lambda: None,
        turn_trace: TurnTrace | None = None,
    ) -> None:
        self._session = session
        self._trace = turn_trace or TurnTrace()
        self._end_call = end_call
        self._perform = perform
        self._output = output
        self._agent = agent
        self._task: asyncio.Task[None] | None = None
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def respond(self, action: Respond) -> None:
        """Start a turn; one still running is superseded (its reply ends as interrupted)."""
        self.cancel()
        self._task = asyncio.create_task(self._run(action), name="agent-turn")

    def cancel(self) -> None:
        """Stop generating (barge-in, a newer turn, the end of the call)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def settle(self, timeout_s: float) -> None:
        """Let the turn in progress finish writing (not speaking), for at most ``timeout_s``."""
        task = self._task
        if task is not None and not task.done():
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), timeout_s)

    async def close(self) -> None:
        task, self._task = self._task, None
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, action: Respond) -> None:
        turn = self._trace.turn
        try:
            with self._trace.running(DIALOGUE):  # the tools it calls are its children
                await self._turn(action)
        finally:
            self._trace.done(DIALOGUE, turn)

    async def _turn(self, action: Respond) -> None:
        session = self._session()
        agent, tools = self._agent(session)
        messages = model_messages(
            session.line,
            session.context,
            session_prompt=_session_prompt(session),
            instructions=action.instructions,
        )
        output = self._output()
        started = False
        goodbye = False

        def ensure_started() -> None:
            nonlocal started
            if not started:
                started = True
                reply_id, item_id, actions = session.begin_reply()
                self._perform(actions)
                output.start(reply_id, item_id)

        try:
            async for item in agent.run_turn(messages, tools):
                if isinstance(item, Say):
                    ensure_started()
                    output.say(item.text)
                elif isinstance(item, Remember):
                    session.remember(item.message)
                elif isinstance(item, ToolStarted):
                    ensure_started()
                    client = item.tool.executor == "client"
                    self._perform(
                        session.tool_called(
                            item.call_id, item.tool.name, item.arguments, client=client,
                            now=time.time(),
                        )
                    )  # fmt: skip
                    if client:
                        self._arm_timeout(item.call_id, item.tool.timeout_s)
                elif isinstance(item, ToolFinished):
                    outcome = item.outcome
                    self._perform(
                        session.tool_finished(item.call_id, outcome.status, outcome.duration_ms)
                    )
                elif isinstance(item, FellBack):
                    log.warning(
                        "dialogue provider failed; using the fallback",
                        extra={"call_id": session.session_id, "provider": item.provider},
                    )
                    fallback = DialogueFallback(provider=item.provider, reason=item.reason[:200])
                    self._perform([Publish(fallback)])
                elif isinstance(item, FirstToken):
                    output.note_stage("llm_first_token", item.ms)
                    self._trace.stage_just_ended("llm_first_token", item.ms)
                elif isinstance(item, EndCall):
                    goodbye = True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("agent turn failed", extra={"call_id": session.session_id})
            ensure_started()
            output.say(agent.settings.fallback_phrase)
        if started:
            output.end()
        if goodbye:
            self._end_call()  # after the reply it ends has played

    def _arm_timeout(self, call_id: str, timeout_s: float) -> None:
        def fire() -> None:
            self._timers.pop(call_id, None)
            self._perform(self._session().tool_timed_out(call_id, time.time()))

        loop = asyncio.get_running_loop()
        self._timers[call_id] = loop.call_later(timeout_s, fire)
