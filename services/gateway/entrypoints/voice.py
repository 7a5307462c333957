"""A connection's voice: the listener and speaker around the session core, and barge-in.

Barge-in: while a reply plays and ``interrupt_response`` is on, caller speech that has lasted
``interruption_delay`` (at least ``BARGE_IN_MIN_MS``) and whose live transcript is not a
backchannel ("uh-huh", "okay", a cough: empty) stops the reply. The agent transcript is trimmed
to what had played (what the caller's phone confirmed playing, when it reports that: ``Playout``),
and ``reply.done{interrupted}`` goes out. A turn that is only a backchannel
while the agent talks is not a turn at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from services.gateway.domain.actions import Action, Publish, Speak
from services.gateway.domain.session import VoiceSession
from services.gateway.domain.turn_detection import TurnDetector, is_backchannel
from services.gateway.pipeline.inference import Audio, InferencePool, SpeechModels, synthesize_all
from services.gateway.pipeline.listener import (
    Listener,
    ListenerEvent,
    Partial,
    SpeechStarted,
    SpeechStopped,
    TurnEnded,
)
from services.gateway.pipeline.speaker import Playback, Speaker
from shared.audio.codecs import WIRE_FORMATS, Pcm
from shared.events import TurnMetrics

BARGE_IN_MIN_MS = 300
MAX_QUEUED_SENTENCES = 64


class Playout(Protocol):
    """The caller's own account of what it played (Twilio's marks), not the send-time estimate."""

    def heard_ms(self, reply_id: str) -> int:
        """How much of ``reply_id`` the caller has confirmed playing."""
        ...

    async def played(self, reply_id: str, sent_ms: int) -> None:
        """Return once the caller has played ``sent_ms`` of the reply (or a bound has passed)."""
        ...


class VoiceChannel:
    def __init__(
        self,
        *,
        session: Callable[[], VoiceSession],
        perform: Callable[[Sequence[Action]], None],
        send: Callable[[dict[str, Any]], None],
        models: SpeechModels,
        pool: InferencePool,
        on_interrupt: Callable[[], None] = lambda: None,
        playout: Playout | None = None,
    ) -> None:
        self._session = session
        self._playout = playout
        self._on_interrupt = on_interrupt
        self._perform = perform
        self._models = models
        self._pool = pool
        config = session().config
        td = config["input"]["turn_detection"]
        self._detector = models.new_detector()
        self.listener = Listener(
            wire=WIRE_FORMATS[config["input"]["format"]["encoding"]],
            detector=TurnDetector(
                threshold=td["vad_threshold"],
                min_silence_ms=int(td["min_silence"]),
                max_silence_ms=int(td["max_silence"]),
            ),
            vad=self._vad,
            transcribe_partial=lambda audio: self._transcribe(models.partial, audio),
            transcribe_final=lambda audio: self._transcribe(models.final, audio),
            emit=self._on_listener_event,
        )
        self._speaker = Speaker(
            synthesize=self._synthesize,
            tts_rate=models.synthesizer.sample_rate,
            wire=WIRE_FORMATS[config["output"]["format"]["encoding"]],
            send=send,
            volume=config["output"]["volume"],
        )
        self._send = send
        self._listening = asyncio.create_task(self.listener.run(), name="listener")
        self._playing: tuple[Playback, asyncio.Task[None], asyncio.Queue[str | None]] | None = None
        self._extra_stages: dict[str, float] = {}
        self._turn: TurnEnded | None = None  # the caller turn the next reply answers
        self._spoke_at = 0.0

    @property
    def detected_turn(self) -> TurnEnded | None:
        """The caller turn the next reply answers, with its recogniser timings (for tracing)."""
        return self._turn

    # -- the core's actions --------------------------------------------------------------------

    def hear(self, audio: bytes) -> None:
        self.listener.push(audio)

    # -- replies (the ReplyOutput the replier drives) -------------------------------------------

    def start(self, reply_id: str, item_id: str) -> None:
        """Open a spoken reply; sentences follow through ``say`` until ``end``."""
        if self._playing is not None:
            self.interrupt()  # a new reply supersedes one still playing
        # Bound: a reply is a few sentences; past this many waiting, more are dropped.
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=MAX_QUEUED_SENTENCES)
        playback = Playback(reply_id, item_id)
        self._spoke_at = time.monotonic()
        task = asyncio.create_task(self._play(playback, queue), name=f"reply:{reply_id}")
        self._playing = (playback, task, queue)

    def say(self, text: str) -> None:
        if self._playing is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._playing[2].put_nowait(text)

    def end(self) -> None:
        if self._playing is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._playing[2].put_nowait(None)

    def note_stage(self, stage: str, ms: float) -> None:
        """A latency of this turn measured elsewhere (the model's first token)."""
        self._extra_stages[stage] = ms

    def speak(self, action: Speak) -> None:
        self.start(action.reply_id, action.item_id)
        self.say(action.text)
        self.end()

    def interrupt(self) -> None:
        """Stop the reply in progress; its transcript is what was heard."""
        if self._playing is None:
            return
        playback, task, _ = self._playing
        self._playing = None
        task.cancel()
        self._on_interrupt()
        played = playback.played_ms(time.monotonic())
        if self._playout is not None:
            played = min(playback.sent_ms, self._playout.heard_ms(playback.reply_id))
        self._perform(
            self._session().finish_reply(
                playback.reply_id,
                playback.item_id,
                playback.played_text(played),
                interrupted=True,
                played_ms=played,
            )
        )

    async def close(self) -> None:
        # A reply still playing ends as interrupted, so the call log keeps what was said.
        with contextlib.suppress(Exception):
            self.interrupt()
        tasks = [self._listening]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- internals -----------------------------------------------------------------------------

    async def _play(self, playback: Playback, queue: asyncio.Queue[str | None]) -> None:
        async def sentences() -> AsyncIterator[str]:
            while (sentence := await queue.get()) is not None:
                yield sentence

        await self._speaker.play(playback, sentences(), on_first_audio=self._first_audio)
        if self._playout is not None and playback.sent_ms:
            await self._playout.played(playback.reply_id, playback.sent_ms)
        if self._playing is not None and self._playing[0] is playback:
            self._playing = None
            self._perform(
                self._session().finish_reply(
                    playback.reply_id,
                    playback.item_id,
                    playback.text,
                    interrupted=False,
                    played_ms=playback.sent_ms,
                )
            )

    def _first_audio(self) -> None:
        turn, self._turn = self._turn, None
        if turn is None:
            return
        now = time.monotonic()
        stages = {
            "end_of_turn": float(turn.end_of_turn_ms),
            "stt": round(turn.stt_ms, 1),
            **self._extra_stages,
            "tts_first_audio": round((now - self._spoke_at) * 1000, 1),
            "voice_to_voice": round((now - turn.speech_end_at) * 1000, 1),
        }
        session = self._session()
        self._perform([Publish(TurnMetrics(turn=session.turns, stages_ms=stages))])

    async def _on_listener_event(self, event: ListenerEvent) -> None:
        session = self._session()
        td = session.config["input"]["turn_detection"]
        if isinstance(event, SpeechStarted):
            self._send({"type": "input.speech.started", "timestamp": event.at_ms})
        elif isinstance(event, Partial):
            self._send(
                {"type": "transcript.user.delta", "text": event.text, "item_id": event.item_id}
            )
            delay = max(BARGE_IN_MIN_MS, int(td.get("interruption_delay") or 0))
            if (
                self._playing is not None
                and td["interrupt_response"]
                and event.speech_ms >= delay
                and not is_backchannel(event.text)
            ):
                self.interrupt()
        elif isinstance(event, SpeechStopped):
            self._send({"type": "input.speech.stopped", "timestamp": event.at_ms})
        elif isinstance(event, TurnEnded):
            if is_backchannel(event.text) and (self._playing is not None or not event.text.strip()):
                return  # "uh-huh" while the agent talks, or noise: not a turn
            if self._playing is not None and td["interrupt_response"]:
                self.interrupt()
            self._turn = event
            self._extra_stages = {}
            self._perform(
                session.heard(
                    event.text,
                    item_id=event.item_id,
                    started_ms=event.started_ms,
                    ended_ms=event.ended_ms,
                )
            )

    async def _vad(self, frames: Audio) -> list[float]:
        return await self._pool.run(lambda: self._detector.probabilities(frames))

    async def _transcribe(self, model: Any, audio: Audio) -> str:
        terms = self._session().config["input"]["keyterms"]
        prompt = ", ".join(terms) if terms else None
        text: str = await self._pool.run(lambda: model.transcribe(audio, prompt=prompt))
        return text

    async def _synthesize(self, text: str) -> Pcm:
        pcm: Pcm = await self._pool.run(lambda: synthesize_all(self._models.synthesizer, text))
        return pcm
