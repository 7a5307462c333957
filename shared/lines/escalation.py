"""Escalation rules: when a caller should go to a person (the session service evaluates them).

A rule names a queue and a priority and says ``when`` as conditions over per-call signals,
combined with ``any`` or ``all`` (one level of nesting). A condition compares one signal with a
threshold, over a window of turns or seconds where the signal has one. docs/handoff.md section
1.1 is the YAML reference; ``SIGNALS`` below is the table it is written from.

    - id: anger-trend
      priority: 60
      when:
        all:
          - {signal: sentiment_trend, threshold: -0.35, window_turns: 3}
          - {signal: sentiment, threshold: -0.3}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Op = Literal[">=", "<="]
Window = Literal["turns", "seconds"]


@dataclass(frozen=True)
class SignalSpec:
    """What a signal measures and what a condition over it may say."""

    description: str
    low: float  # the threshold's allowed range
    high: float
    op: Op  # the natural comparison (a condition may override it)
    windows: tuple[Window, ...] = ()  # the window kinds it accepts; () = whole call
    default_window_turns: int | None = None
    stats: tuple[str, ...] = ()  # for sentiment_trend: mean | slope
    integer: bool = False  # a count: the threshold must be a whole number


# The signals the session service computes (services/session/domain/signals.py).
SIGNALS: dict[str, SignalSpec] = {
    "asked_for_person": SignalSpec(
        "explicit requests for a person by the caller", 1, 20, ">=", ("turns",), integer=True
    ),
    "sentiment": SignalSpec("the latest caller utterance's score, -1..1", -1, 1, "<="),
    "sentiment_trend": SignalSpec(
        "mean or slope (per utterance) of the last N caller scores",
        -1,
        1,
        "<=",
        ("turns",),
        default_window_turns=3,
        stats=("mean", "slope"),
    ),
    "profanity": SignalSpec("swear words by the caller", 1, 50, ">=", ("turns",), integer=True),
    "agent_fallbacks": SignalSpec(
        "'sorry, I didn't get that' replies and dialogue.fallback events in the last N agent turns",
        1,
        20,
        ">=",
        ("turns",),
        default_window_turns=6,
        integer=True,
    ),
    "repeated_questions": SignalSpec(
        "repeats: the agent asking (nearly) the same question again, or the caller repeating "
        "themselves, in the last N turns of either side",
        1,
        20,
        ">=",
        ("turns",),
        default_window_turns=8,
        integer=True,
    ),
    "tool_failures": SignalSpec(
        "tool results with status error or timeout",
        1,
        50,
        ">=",
        ("turns", "seconds"),
        integer=True,
    ),
    "barge_in_rate": SignalSpec(
        "interruptions per agent reply over the last N agent replies (at least 3 replies)",
        0,
        1,
        ">=",
        ("turns",),
        default_window_turns=5,
    ),
    "dtmf_zero": SignalSpec("presses of the 0 key", 1, 10, ">=", integer=True),
    "no_progress_s": SignalSpec(
        "seconds since the call started or since the last successful tool result",
        1,
        14_400,
        ">=",
    ),
}

RULE_ID = r"^[a-z][a-z0-9_-]{0,63}$"
MAX_WINDOW_TURNS = 50
MAX_WINDOW_S = 3600.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One signal against one threshold (``op`` defaults to the signal's natural direction)."""

    signal: str
    threshold: float
    op: Op | None = None
    window_turns: int | None = Field(None, ge=1, le=MAX_WINDOW_TURNS)
    window_s: float | None = Field(None, gt=0, le=MAX_WINDOW_S)
    stat: Literal["mean", "slope"] | None = None

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        if value not in SIGNALS:
            known = ", ".join(sorted(SIGNALS))
            raise ValueError(f"unknown signal {value!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _fits_the_signal(self) -> Condition:
        spec = SIGNALS[self.signal]
        if not spec.low <= self.threshold <= spec.high:
            raise ValueError(
                f"threshold {self.threshold:g} of {self.signal} is outside "
                f"[{spec.low:g}, {spec.high:g}]"
            )
        if spec.integer and self.threshold != int(self.threshold):
            raise ValueError(f"threshold of {self.signal} is a count: a whole number")
        if self.window_turns is not None and "turns" not in spec.windows:
            raise ValueError(f"{self.signal} takes no window_turns")
        if self.window_s is not None and "seconds" not in spec.windows:
            raise ValueError(f"{self.signal} takes no window_s")
        if self.window_turns is not None and self.window_s is not None:
            raise ValueError("give window_turns or window_s, not both")
        if self.stat is not None and self.stat not in spec.stats:
            raise ValueError(f"{self.signal} takes no stat")
        if self.signal == "sentiment_trend" and self.turns is not None and self.turns < 2:
            raise ValueError("sentiment_trend needs a window of at least 2 utterances")
        return self

    @property
    def comparison(self) -> Op:
        return self.op or SIGNALS[self.signal].op

    @property
    def turns(self) -> int | None:
        """The window in turns: the condition's own, else the signal's default."""
        return self.window_turns or SIGNALS[self.signal].default_window_turns

    @property
    def statistic(self) -> str:
        return self.stat or "mean"

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` (None: not measurable yet) meets the threshold."""
        if value is None:
            return False
        if self.comparison == ">=":
            return value >= self.threshold
        return value <= self.threshold


def _member_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "group" if ("any" in value or "all" in value) else "condition"
    if isinstance(value, Condition):
        return "condition"
    if isinstance(value, InnerGroup):
        return "group"
    return None


MemberT = TypeVar("MemberT")


def _one_of(any_: list[Any] | None, all_: list[Any] | None) -> None:
    given = [m for m in (any_, all_) if m is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of 'any' or 'all'")
    if not given[0]:
        raise ValueError("a group needs at least one condition")


class _Group(_Strict, Generic[MemberT]):
    """``any`` (or) / ``all`` (and) of members: exactly one of the two, not empty."""

    any: list[MemberT] | None = Field(None, max_length=20)
    all: list[MemberT] | None = Field(None, max_length=20)

    @model_validator(mode="after")
    def _one_combinator(self) -> Self:
        _one_of(self.any, self.all)
        return self

    @property
    def combinator(self) -> Literal["any", "all"]:
        return "any" if self.any is not None else "all"

    @property
    def members(self) -> list[MemberT]:
        return list(self.any if self.any is not None else self.all or [])


class InnerGroup(_Group[Condition]):
    """A nested group: conditions only (one level of nesting is enough)."""


Member = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated[InnerGroup, Tag("group")],
    Discriminator(_member_kind),
]


class When(_Group[Member]):
    """The top of a rule's conditions: ``any`` (or) / ``all`` (and) of conditions or groups."""

    def conditions(self) -> list[Condition]:
        """Every condition, nested ones included."""
        found: list[Condition] = []
        for member in self.members:
            found.extend(member.members if isinstance(member, InnerGroup) else [member])
        return found


class EscalationRule(_Strict):
    """When to hand the caller to a person, which queue, and how urgently."""

    id: str = Field(pattern=RULE_ID)
    description: str = Field("", max_length=500)
    # None: the line's ``human_queue``.
    queue: str | None = Field(None, min_length=1, max_length=100)
    priority: int = Field(50, ge=0, le=100)
    enabled: bool = True
    when: When

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_rule(cls, data: Any, handler: Any) -> Any:
        # pydantic names a list item by its index; a person editing YAML needs the rule's id.
        try:
            return handler(data)
        except ValidationError as exc:
            rule_id = data.get("id") if isinstance(data, dict) else None
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {_message(e['msg'])}"
                for e in exc.errors()
            )
            raise PydanticCustomError(
                "escalation_rule",
                "rule {rule}: {problems}",
                {"rule": repr(rule_id) if rule_id else "(no id)", "problems": problems},
            ) from None


def _message(text: str) -> str:
    return text.removeprefix("Value error, ")


def check_unique_ids(rules: list[EscalationRule]) -> None:
    """Raise ``ValueError`` naming the first rule id given twice."""
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ValueError(f"escalation rule {rule.id!r} is defined twice")
        seen.add(rule.id)
