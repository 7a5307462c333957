"""Escalation rules evaluated after each call event (pure: no I/O; the scorers are ports).

``EscalationEngine.observe(envelope, payload)`` updates the call's signals and returns the events
to publish: ``sentiment.scored`` for each caller utterance and at most one
``escalation.requested`` (v2) per call, from the highest-priority enabled rule that matches.
Reasons and evidence describe signals (counts, scores, item ids), never the caller's words.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.session.domain.anger_cues import with_anger_cues
from services.session.domain.signals import CallSignals, Measurement, slope
from services.session.ports import (
    CallerCues,
    ProfanityCounter,
    SentenceEmbedder,
    SentimentScorer,
)
from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    DtmfReceived,
    Envelope,
    EscalationRequested,
    EventPayload,
    Evidence,
    Interruption,
    SentimentScored,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
)
from shared.lines import Condition, EscalationRule, InnerGroup, SupportLine

# Calls tracked at once. At the bound the call seen least recently is forgotten (its signals
# start again from nothing if it sends another event); a session service instance holding this
# many live calls should be scaled out long before.
MAX_CALLS = 10_000
# Caller utterances the trend in sentiment.scored is computed over.
TREND_UTTERANCES = 3


@dataclass
class _Call:
    line_id: str
    signals: CallSignals
    escalated: bool = False


@dataclass(frozen=True)
class Match:
    """A rule that holds now, with what made it hold."""

    rule: EscalationRule
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]


def _evidence(condition: Condition, measured: Measurement) -> Evidence:
    return Evidence(
        signal=condition.signal,
        detail=measured.detail[:500],
        item_ids=list(measured.item_ids),
        value=None if measured.value is None else round(float(measured.value), 4),
        threshold=condition.threshold,
    )


def _reason(condition: Condition, measured: Measurement) -> str:
    return f"{measured.detail} ({condition.comparison} {condition.threshold:g})"


def evaluate(rule: EscalationRule, signals: CallSignals) -> Match | None:
    """The rule's match on these signals, or None."""
    held: list[tuple[Condition, Measurement]] = []

    def check(condition: Condition) -> bool:
        measured = signals.measure(condition)
        if condition.holds(measured.value):
            held.append((condition, measured))
            return True
        return False

    def group(members: list[Condition], combinator: str) -> bool:
        # Every member is measured (no short-circuit) so the evidence lists all that held.
        results = [check(member) for member in members]
        return any(results) if combinator == "any" else all(results)

    results = []
    for member in rule.when.members:
        if isinstance(member, InnerGroup):
            results.append(group(member.members, member.combinator))
        else:
            results.append(check(member))
    matched = any(results) if rule.when.combinator == "any" else all(results)
    if not matched:
        return None
    return Match(
        rule=rule,
        reasons=tuple(_reason(c, m) for c, m in held),
        evidence=tuple(_evidence(c, m) for c, m in held),
    )


def _fixed(lines: dict[str, SupportLine]) -> Callable[[], Mapping[str, SupportLine]]:
    return lambda: lines


class EscalationEngine:
    """Signals and rules for every live call; one instance per session-service process.

    ``observe`` is synchronous and CPU-bound (the sentiment scorer takes milliseconds): an
    asyncio consumer runs it in a thread, one call's events in order. Not thread-safe for
    concurrent calls into the same engine: serialise, or shard calls across engines.
    """

    def __init__(
        self,
        scorer: SentimentScorer,
        lines: Mapping[str, SupportLine] | Callable[[], Mapping[str, SupportLine]],
        profanity: ProfanityCounter,
        *,
        embedder: SentenceEmbedder | None = None,
        caller_cues: CallerCues | None = None,
        max_calls: int = MAX_CALLS,
    ) -> None:
        self._scorer = scorer
        self._profanity = profanity
        # Requests for a person and loop complaints in phrasings no text rule names, and the
        # caller saying the same thing in other words; without it only the text rules count.
        self._caller_cues = caller_cues
        # Tells agent replies that say the same thing in other words (a loop); without it
        # replies are compared word by word.
        self._embed = embedder.embed if embedder is not None else None
        # A callable is read at every event: lines reloaded while calls run take effect at once
        # (``lambda: line_book.lines``); a mapping is fixed.
        self._lines = lines if callable(lines) else _fixed(dict(lines))
        self._max_calls = max_calls
        self._calls: OrderedDict[str, _Call] = OrderedDict()

    @property
    def tracked_calls(self) -> int:
        return len(self._calls)

    def forget(self, call_id: str) -> None:
        """Drop a call's state (on call.ended)."""
        self._calls.pop(call_id, None)

    def observe(self, envelope: Envelope, payload: EventPayload) -> list[EventPayload]:
        """Feed one decoded call event; the events to publish because of it."""
        if isinstance(payload, CallEnded):
            self.forget(envelope.call_id)
            return []
        call = self._call(envelope, payload)
        signals = call.signals
        signals.tick(envelope.occurred_at)
        line = self._lines().get(call.line_id)
        out: list[EventPayload] = []
        if isinstance(payload, TranscriptUser):
            score = max(-1.0, min(1.0, float(self._scorer.score(payload.text))))
            # Sarcasm, exasperation and threats to leave read as anger whatever their words.
            score = with_anger_cues(payload.text, score)
            # After the scorer: the embeddings it made are cached, so this reads them again.
            meaning = self._caller_cues.read(payload.text) if self._caller_cues else None
            signals.caller_said(
                payload.item_id,
                payload.text,
                score,
                self._profanity.count(payload.text),
                meaning,
            )
            recent = [u.score for u in list(signals.scores)[-TREND_UTTERANCES:]]
            trend = round(slope(recent), 4) if len(recent) >= 2 else None
            out.append(SentimentScored(item_id=payload.item_id, score=score, trend=trend))
        elif isinstance(payload, TranscriptAgent):
            phrase = line.dialogue.fallback_phrase if line is not None else ""
            signals.agent_said(
                payload.reply_id, payload.text, payload.interrupted, phrase, self._embed
            )
        elif isinstance(payload, Interruption):
            if payload.kind == "barge_in":
                signals.reply_interrupted(payload.reply_id)
        elif isinstance(payload, DialogueFallback):
            signals.dialogue_fell_back()
        elif isinstance(payload, ToolResult):
            signals.tool_finished(payload.tool_call_id, payload.status)
        elif isinstance(payload, DtmfReceived):
            signals.key_pressed(payload.digit)
        elif isinstance(payload, EscalationRequested):
            call.escalated = True  # ours, read back, or another producer's: once per call
        if call.escalated or line is None:
            return out
        decision = self.decide(line, signals)
        if decision is not None:
            call.escalated = True
            out.append(decision)
        return out

    def decide(self, line: SupportLine, signals: CallSignals) -> EscalationRequested | None:
        """The escalation the line's rules ask for now, if any (highest priority first; among
        equals, the first in the file)."""
        rules = sorted(
            (rule for rule in line.escalation if rule.enabled),
            key=lambda rule: -rule.priority,
        )
        for rule in rules:
            match = evaluate(rule, signals)
            if match is None:
                continue
            scores = [e.value for e in match.evidence if e.signal.startswith("sentiment")]
            return EscalationRequested(
                rule_id=rule.id,
                reasons=[rule.description or rule.id, *match.reasons][:50],
                score=scores[0] if scores else None,
                queue=rule.queue or line.human_queue,
                priority=rule.priority,
                rules_version=line.config_hash or None,
                evidence=list(match.evidence)[:50],
            )
        return None

    def _call(self, envelope: Envelope, payload: EventPayload) -> _Call:
        call = self._calls.get(envelope.call_id)
        if call is None:
            line_id = payload.line_id if isinstance(payload, CallStarted) else envelope.line_id
            call = _Call(line_id=line_id, signals=CallSignals())
            self._calls[envelope.call_id] = call
            while len(self._calls) > self._max_calls:
                self._calls.popitem(last=False)  # the call seen least recently
        else:
            self._calls.move_to_end(envelope.call_id)
            if isinstance(payload, CallStarted) and payload.line_id:
                call.line_id = payload.line_id
        return call
