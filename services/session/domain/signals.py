"""Per-call escalation signals, fed one decoded call event at a time (pure, no I/O).

``CallSignals`` keeps only what the rules' windows can need: every history is a bounded deque
(``MAX_HISTORY`` entries; the oldest falls off, so a window longer than that sees the last
``MAX_HISTORY``), text is examined up to ``cues.MAX_CHARS``, and no text is kept except the
normalised last few questions and statements the repeat check compares with (``Repeats``).
``measure(condition)`` answers a condition's value with the item ids behind it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from services.session.domain.cues import is_fallback_reply
from services.session.domain.meaning import CallerMeaning
from services.session.domain.person_cues import asks_for_person
from services.session.domain.repeats import Embed, Repeats
from shared.lines.escalation import Condition

# Entries kept per history (utterance scores, tool results, replies, repeats): above the
# largest window a rule may name (MAX_WINDOW_TURNS = 50) in turns.
MAX_HISTORY = 64
# barge_in_rate is measured once the window holds this many agent replies (1 of 1 is no rate).
MIN_REPLIES_FOR_RATE = 3
MAX_IDS = 10  # item ids per evidence entry


@dataclass(frozen=True)
class Measurement:
    """A signal's value now, the utterances (item or reply ids) behind it, and a short note."""

    value: float | None
    item_ids: tuple[str, ...] = ()
    detail: str = ""


@dataclass
class _Utterance:
    caller_turn: int
    item_id: str
    score: float


@dataclass
class CallSignals:
    """Everything the rules read about one call."""

    started_at: datetime | None = None
    now: datetime | None = None
    last_progress_at: datetime | None = None
    caller_turns: int = 0
    agent_turns: int = 0
    turns: int = 0  # transcript events of either side
    scores: deque[_Utterance] = field(default_factory=lambda: deque(maxlen=MAX_HISTORY))
    person_requests: deque[tuple[int, str]] = field(
        default_factory=lambda: deque(maxlen=MAX_HISTORY)
    )
    profanity: deque[tuple[int, str, int]] = field(
        default_factory=lambda: deque(maxlen=MAX_HISTORY)
    )
    # Agent turn numbers whose reply was a fallback (a reply and its dialogue.fallback event
    # count once), with the reply id when known.
    fallbacks: dict[int, str] = field(default_factory=dict)
    replies: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_HISTORY))
    interrupted: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_HISTORY))
    said: Repeats = field(default_factory=Repeats)
    repeats: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=MAX_HISTORY))
    # (when, caller turn, tool call id) of each failed tool result.
    tool_failures: deque[tuple[datetime, int, str]] = field(
        default_factory=lambda: deque(maxlen=MAX_HISTORY)
    )
    dtmf_zero: int = 0

    # -- feeding ------------------------------------------------------------------------------

    def tick(self, at: datetime) -> None:
        """The clock of the call: every event's ``occurred_at``."""
        if self.started_at is None:
            self.started_at = at
            self.last_progress_at = at
        if self.now is None or at > self.now:
            self.now = at

    def caller_said(
        self,
        item_id: str,
        text: str,
        score: float,
        swear_words: int,
        meaning: CallerMeaning | None = None,
    ) -> None:
        """A caller utterance. ``meaning`` (the embedding model's reading) adds the requests
        and loop complaints no text rule names, and repeats said in other words."""
        self.caller_turns += 1
        self.turns += 1
        self.scores.append(_Utterance(self.caller_turns, item_id, score))
        if asks_for_person(text) or (meaning is not None and meaning.asks_for_person):
            self.person_requests.append((self.caller_turns, item_id))
        if swear_words:
            self.profanity.append((self.caller_turns, item_id, swear_words))
        # A loop from the caller's side, counted once per utterance.
        if self.said.caller(text, meaning):
            self.repeats.append((self.turns, item_id))

    def agent_said(
        self,
        reply_id: str,
        text: str,
        interrupted: bool,
        fallback_phrase: str,
        embed: Embed | None = None,
    ) -> None:
        """An agent reply. ``embed`` (unit-length sentence embeddings) tells replies that say
        the same thing in other words; without it replies are compared word by word."""
        self.agent_turns += 1
        self.turns += 1
        self.replies.append((self.agent_turns, reply_id))
        if interrupted:
            self.interrupted.append(reply_id)
        if is_fallback_reply(text, fallback_phrase):
            self.fallbacks[self.agent_turns] = reply_id
        # A loop from the agent's side, counted once per reply.
        if self.said.agent(text, fallback_phrase, embed):
            self.repeats.append((self.turns, reply_id))
        # Keep only the fallbacks a window can still see.
        for turn in [t for t in self.fallbacks if t <= self.agent_turns - MAX_HISTORY]:
            del self.fallbacks[turn]

    def dialogue_fell_back(self) -> None:
        # The provider failed; the fallback provider's reply is the next agent turn.
        self.fallbacks.setdefault(self.agent_turns + 1, "")

    def reply_interrupted(self, reply_id: str) -> None:
        if reply_id not in self.interrupted:
            self.interrupted.append(reply_id)

    def tool_finished(self, tool_call_id: str, status: str) -> None:
        if status == "ok":
            self.last_progress_at = self.now
        elif self.now is not None:
            self.tool_failures.append((self.now, self.caller_turns, tool_call_id))

    def key_pressed(self, digit: str) -> None:
        if digit == "0":
            self.dtmf_zero += 1

    # -- measuring ----------------------------------------------------------------------------

    def measure(self, condition: Condition) -> Measurement:
        """The value ``condition`` compares with its threshold (None: not measurable yet)."""
        measure = getattr(self, f"_measure_{condition.signal}")
        result: Measurement = measure(condition)
        return result

    def _since_caller_turn(self, condition: Condition) -> int:
        turns = condition.window_turns
        return 0 if turns is None else self.caller_turns - turns

    def _measure_asked_for_person(self, condition: Condition) -> Measurement:
        since = self._since_caller_turn(condition)
        ids = [item for turn, item in self.person_requests if turn > since]
        return Measurement(len(ids), _ids(ids), f"asked for a person {_times(len(ids))}")

    def _measure_sentiment(self, condition: Condition) -> Measurement:
        if not self.scores:
            return Measurement(None)
        last = self.scores[-1]
        return Measurement(
            last.score, (last.item_id,), f"latest caller sentiment {last.score:+.2f}"
        )

    def _measure_sentiment_trend(self, condition: Condition) -> Measurement:
        n = condition.turns or 3
        if len(self.scores) < n:
            return Measurement(None)
        window = list(self.scores)[-n:]
        values = [u.score for u in window]
        ids = _ids([u.item_id for u in window])
        if condition.statistic == "slope":
            value = slope(values)
            return Measurement(
                value,
                ids,
                f"caller sentiment slope {value:+.2f} per utterance over the last {n} utterances",
            )
        value = sum(values) / n
        return Measurement(
            value, ids, f"caller sentiment mean {value:+.2f} over the last {n} utterances"
        )

    def _measure_profanity(self, condition: Condition) -> Measurement:
        since = self._since_caller_turn(condition)
        found = [(item, count) for turn, item, count in self.profanity if turn > since]
        total = sum(count for _, count in found)
        return Measurement(total, _ids([i for i, _ in found]), f"{total} swear words")

    def _measure_agent_fallbacks(self, condition: Condition) -> Measurement:
        n = condition.turns or 6
        since = self.agent_turns - n
        found = [reply for turn, reply in self.fallbacks.items() if turn > since]
        return Measurement(
            len(found),
            _ids([r for r in found if r]),
            f"{len(found)} agent fallbacks in the last {n} agent replies",
        )

    def _measure_repeated_questions(self, condition: Condition) -> Measurement:
        n = condition.turns or 8
        found = [item for turn, item in self.repeats if turn > self.turns - n]
        return Measurement(
            len(found),
            _ids(found),
            f"the same thing said again or corrected {_times(len(found))}",
        )

    def _measure_tool_failures(self, condition: Condition) -> Measurement:
        if condition.window_s is not None and self.now is not None:
            window = condition.window_s
            found = [
                c for at, _, c in self.tool_failures if (self.now - at).total_seconds() <= window
            ]
            where = f"in the last {window:g} s"
        else:
            since = self._since_caller_turn(condition)
            found = [c for _, turn, c in self.tool_failures if turn > since]
            where = (
                ""
                if condition.window_turns is None
                else (f"in the last {condition.window_turns} caller turns")
            )
        return Measurement(
            len(found), _ids(found), f"{len(found)} tool errors or timeouts {where}".strip()
        )

    def _measure_barge_in_rate(self, condition: Condition) -> Measurement:
        n = condition.turns or 5
        window = [reply for _, reply in list(self.replies)[-n:]]
        if len(window) < min(n, MIN_REPLIES_FOR_RATE):
            return Measurement(None)
        hit = [reply for reply in window if reply in self.interrupted]
        rate = len(hit) / len(window)
        return Measurement(
            rate, _ids(hit), f"caller interrupted {len(hit)} of the last {len(window)} replies"
        )

    def _measure_dtmf_zero(self, condition: Condition) -> Measurement:
        return Measurement(self.dtmf_zero, (), f"pressed 0 {_times(self.dtmf_zero)}")

    def _measure_no_progress_s(self, condition: Condition) -> Measurement:
        if self.now is None or self.last_progress_at is None:
            return Measurement(None)
        seconds = (self.now - self.last_progress_at).total_seconds()
        return Measurement(seconds, (), f"{seconds:.0f} s without a successful tool result")


def slope(values: list[float]) -> float:
    """Least-squares slope of ``values`` per step (0 for fewer than two)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def _ids(ids: list[str]) -> tuple[str, ...]:
    return tuple(ids[-MAX_IDS:])


def _times(n: int) -> str:
    return {0: "no times", 1: "once", 2: "twice"}.get(n, f"{n} times")
