"""One trace per caller turn: a root span ``turn`` and a child span for each pipeline stage.

The root starts when the caller's turn is detected (backdated, for a spoken turn, to the caller's
last voiced frame, so ``end_of_turn`` and ``stt`` fall inside it). Stages measured elsewhere as
durations (the ``turn.metrics`` timings) become spans with explicit start and end times; the
dialogue runs inside a live span, so the tool calls it makes and the events it publishes are its
children. Every event the connection publishes until the next turn begins carries this trace's
context in its Kafka headers (``attached``).

Attributes are ids, numbers and names only: never transcript text or tool arguments.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping

from opentelemetry import context, trace

from services.gateway.pipeline.listener import TurnEnded

tracer = trace.get_tracer("switchboard.gateway")

# What a turn waits for before its root span ends: the agent's run, and (a spoken turn) the
# first audio of the answer. A turn whose reply never comes ends when the next turn begins or the
# call closes: at most one turn is open per call.
DIALOGUE = "dialogue"
AUDIO = "audio"


def _ns_ago(ms: float, now_ns: int) -> int:
    return now_ns - int(ms * 1_000_000)


class TurnTrace:
    """The trace of a call's current caller turn (one per connection)."""

    def __init__(self) -> None:
        self._span: trace.Span | None = None
        self._context: context.Context | None = None
        self._attributes: dict[str, str | int] = {}
        self._turn = 0
        self._waiting: set[str] = set()

    @property
    def span(self) -> trace.Span | None:
        """The root span of the current turn (ended or not); None before the first turn."""
        return trace.get_current_span(self._context) if self._context is not None else None

    def begin(self, call_id: str, line_id: str, turn: int, heard: TurnEnded | None) -> None:
        """Start turn ``turn`` (once per turn number); ``heard``: the recogniser's timings."""
        if turn == self._turn and self._context is not None:
            return
        self.end()
        now, mono = time.time_ns(), time.monotonic()
        start = now
        self._turn = turn
        self._attributes = {"call.id": call_id, "line.id": line_id, "turn.number": turn}
        if heard is not None:
            speech_end = _ns_ago((mono - heard.speech_end_at) * 1000, now)
            stt_start = _ns_ago(heard.stt_ms, now)
            start = min(speech_end, stt_start)
        # A fresh root: a turn never hangs under the span that is current (the socket's own
        # span, which lasts the whole call); it links to it instead.
        call = trace.get_current_span().get_span_context()
        root = tracer.start_span(
            "turn",
            context=context.Context(),
            start_time=start,
            attributes=self._attributes,
            links=[trace.Link(call)] if call.is_valid else [],
        )
        self._span = root
        self._context = trace.set_span_in_context(root)
        self._waiting = {DIALOGUE}
        if heard is not None:
            self._waiting.add(AUDIO)
            eot_end = speech_end + heard.end_of_turn_ms * 1_000_000
            self.stage("end_of_turn", speech_end, eot_end)
            self.stage("stt", stt_start, now)

    def stage(self, name: str, start_ns: int, end_ns: int) -> None:
        """A stage of this turn that already happened, from ``start_ns`` to ``end_ns``."""
        if self._context is None:
            return
        span = tracer.start_span(
            name,
            context=self._context,
            start_time=start_ns,
            attributes={**self._attributes, "stage": name},
        )
        span.end(end_time=max(start_ns, end_ns))

    def stage_just_ended(self, name: str, ms: float) -> None:
        """A stage that took ``ms`` and ended now (the model's first token, first audio)."""
        now = time.time_ns()
        self.stage(name, _ns_ago(ms, now), now)

    @contextlib.contextmanager
    def running(self, name: str) -> Iterator[None]:
        """Run a stage (the dialogue) as the current span, a child of this turn."""
        if self._context is None:
            yield
            return
        attributes = {**self._attributes, "stage": name}
        with tracer.start_as_current_span(name, context=self._context, attributes=attributes):
            yield

    def spoke(self, stages_ms: Mapping[str, float], turn: int) -> None:
        """The first audio of turn ``turn``'s answer (``turn.metrics``): its stage, then done."""
        if turn != self._turn:
            return  # an earlier turn's answer, late: that turn is over
        if "tts_first_audio" in stages_ms:
            self.stage_just_ended("tts_first_audio", stages_ms["tts_first_audio"])
        if self._span is not None and "voice_to_voice" in stages_ms:
            self._span.set_attribute("voice_to_voice_ms", stages_ms["voice_to_voice"])
        self.done(AUDIO)

    @property
    def turn(self) -> int:
        """The number of the current turn (0 before the first)."""
        return self._turn

    def done(self, part: str, turn: int | None = None) -> None:
        """``part`` of the turn is over; the root span ends when nothing else is awaited.

        ``turn``: the turn that part belonged to; a late report for an earlier turn is ignored.
        """
        if turn is not None and turn != self._turn:
            return
        self._waiting.discard(part)
        if not self._waiting:
            self.end()

    def end(self) -> None:
        """End the turn's root span (its context stays, for the events still to come)."""
        span, self._span = self._span, None
        self._waiting = set()
        if span is not None:
            span.end()

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """The turn's context as the current one, unless a span of this turn is current."""
        current = trace.get_current_span().get_span_context()
        turn = self._context
        if turn is None or (
            current.is_valid
            and current.trace_id == trace.get_current_span(turn).get_span_context().trace_id
        ):
            yield
            return
        token = context.attach(turn)
        try:
            yield
        finally:
            context.detach(token)
