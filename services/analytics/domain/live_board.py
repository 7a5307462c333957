"""The live calls a supervisor watches, fed with redacted call events (pure: no I/O).

``LiveBoard.apply`` takes an event's envelope and its *redacted* payload (``redact_event`` in
``call_log``, the same redaction the call log stores) and keeps, per live call, its row
(``CallRow`` of docs/dashboard.md), its timeline items and its risk; it returns the alerts the
event raised. It records which rows and items changed since the last ``drain`` so the hub can
send them in batches.

Bounds (each says what happens when reached):
- ``max_calls`` (2,000) live calls: a new call first makes room by removing the ended call that
  ended first; with no ended call left it is refused (its events are dropped and counted in
  ``refused``).
- ``max_items`` (300) timeline items per call: the oldest item is dropped.
- ``SENTIMENT_POINTS`` (30) sentiment scores per call: the oldest is dropped.
- ended calls are kept ``ended_ttl_s`` (60 s) so the wall screen sees them end, then removed.
- ``max_alerts`` (50) recent alerts: the oldest is forgotten.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from shared.events import Envelope

MAX_CALLS = 2_000
MAX_ITEMS = 300
SENTIMENT_POINTS = 30
ENDED_TTL_S = 60.0
MAX_ALERTS = 50
# Risk at or above this raises a ``risk`` alert, once per call.
RISK_ALERT_AT = 0.7
# Alert priorities (0..100) where the event carries none: a failed handoff leaves a caller with
# nobody; a risky call is a hint.
HANDOFF_FAILED_PRIORITY = 90
RISK_PRIORITY = 50

_STATES = frozenset(
    {"listening", "agent_speaking", "tool_running", "on_hold", "with_human", "disconnected"}
)
_WORDS = re.compile(r"[^\w]+")


@dataclass
class _Signals:
    """What the risk heuristic reads, counted per call."""

    trend: float | None = None
    barge_ins: int = 0
    tool_failures: int = 0
    fallbacks: int = 0
    repeats: int = 0
    last_user_text: str = ""
    escalated: bool = False


@dataclass
class _Call:
    row: dict[str, Any]
    items: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    sentiment: deque[float] = field(default_factory=lambda: deque(maxlen=SENTIMENT_POINTS))
    signals: _Signals = field(default_factory=_Signals)
    user_items: set[str] = field(default_factory=set)
    ended_at: float | None = None  # the board's clock when it ended
    risk_alerted: bool = False


@dataclass(frozen=True)
class Changes:
    """What changed since the last drain: rows to upsert, calls removed, items per call."""

    upserts: list[dict[str, Any]]
    removed: list[str]
    items: dict[str, list[dict[str, Any]]]

    def __bool__(self) -> bool:
        return bool(self.upserts or self.removed or self.items)


def risk_of(sentiment: list[float], signals: _Signals) -> dict[str, Any]:
    """The heuristic risk of a call: a score 0..1 and the reasons that moved it.

    Negative sentiment and a falling trend, barge-ins, tool errors and timeouts, dialogue
    fallbacks and a caller repeating themselves each add a capped share; an escalation sets it
    to 1.
    """
    if signals.escalated:
        return {"score": 1.0, "reasons": ["escalation requested"]}
    parts: list[tuple[float, str]] = []
    if sentiment and sentiment[-1] < 0:
        parts.append((0.4 * -sentiment[-1], "negative sentiment"))
    trend = signals.trend
    if trend is None and len(sentiment) >= 3:
        trend = sentiment[-1] - sentiment[-3]
    if trend is not None and trend < -0.1:
        parts.append((min(0.2, -trend * 0.4), "sentiment falling"))
    parts.append((min(0.2, 0.07 * signals.barge_ins), "caller barged in"))
    parts.append((min(0.25, 0.1 * signals.tool_failures), "tool errors or timeouts"))
    parts.append((min(0.2, 0.1 * signals.fallbacks), "dialogue fallbacks"))
    parts.append((min(0.3, 0.15 * signals.repeats), "caller repeated themselves"))
    moved = sorted((p for p in parts if p[0] > 0), key=lambda p: -p[0])
    score = min(1.0, sum(share for share, _ in moved))
    return {"score": round(score, 3), "reasons": [reason for _, reason in moved]}


class LiveBoard:
    """The live calls, their timelines and the recent alerts."""

    def __init__(
        self,
        *,
        max_calls: int = MAX_CALLS,
        max_items: int = MAX_ITEMS,
        ended_ttl_s: float = ENDED_TTL_S,
        max_alerts: int = MAX_ALERTS,
    ) -> None:
        self.max_calls = max_calls
        self._max_items = max_items
        self._ended_ttl_s = ended_ttl_s
        self._calls: dict[str, _Call] = {}
        self._alerts: deque[dict[str, Any]] = deque(maxlen=max_alerts)
        self._dirty_rows: set[str] = set()
        self._removed: set[str] = set()
        self._dirty_items: dict[str, dict[str, None]] = {}
        self.refused = 0  # events dropped because the board was full of live calls

    # -- reading -------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        return [dict(c.row) for c in self._calls.values()]

    def row(self, call_id: str) -> dict[str, Any] | None:
        call = self._calls.get(call_id)
        return dict(call.row) if call else None

    def line_of(self, call_id: str) -> str | None:
        """The line of a live call; None for one that ended or that the board does not hold."""
        call = self._calls.get(call_id)
        if call is None or call.row["ended"]:
            return None
        return str(call.row["line_id"])

    def items(self, call_id: str) -> list[dict[str, Any]]:
        call = self._calls.get(call_id)
        return list(call.items.values()) if call else []

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._alerts)

    @property
    def active_calls(self) -> int:
        return sum(1 for c in self._calls.values() if c.ended_at is None)

    def __len__(self) -> int:
        return len(self._calls)

    def drain(self) -> Changes:
        """What changed since the last drain (and forget it)."""
        upserts = [dict(self._calls[c].row) for c in self._dirty_rows if c in self._calls]
        items = {
            call_id: [call.items[i] for i in ids if i in call.items]
            for call_id, ids in self._dirty_items.items()
            if (call := self._calls.get(call_id)) is not None
        }
        changes = Changes(upserts, sorted(self._removed), {k: v for k, v in items.items() if v})
        self._dirty_rows.clear()
        self._removed.clear()
        self._dirty_items.clear()
        return changes

    # -- writing -------------------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Remove the calls that ended more than ``ended_ttl_s`` before ``now``."""
        for call_id in [
            cid
            for cid, c in self._calls.items()
            if c.ended_at is not None and now - c.ended_at >= self._ended_ttl_s
        ]:
            self._remove(call_id)

    def apply(
        self, envelope: Envelope, payload: dict[str, Any], *, now: float
    ) -> list[dict[str, Any]]:
        """Apply one redacted event (``now``: the board's clock, seconds); the alerts it raised."""
        call = self._call_for(envelope, payload, now)
        if call is None:
            return []
        alerts: list[dict[str, Any]] = []
        _APPLY.get(envelope.type, _ignore)(self, call, envelope, payload, alerts)
        if envelope.type == "call.ended" and call.ended_at is None:
            call.ended_at = now
        old_risk = call.row["risk"]
        call.row["risk"] = risk_of(list(call.sentiment), call.signals)
        if call.row["risk"] != old_risk:
            self._dirty_rows.add(envelope.call_id)
        if (
            call.row["risk"]["score"] >= RISK_ALERT_AT
            and not call.risk_alerted
            and not call.signals.escalated  # the escalation alert already says it
        ):
            alerts.append(self._alert(envelope, "risk", None, call.row["risk"]["reasons"]))
        if call.row["risk"]["score"] >= RISK_ALERT_AT:
            call.risk_alerted = True
        return alerts

    def _call_for(self, envelope: Envelope, payload: dict[str, Any], now: float) -> _Call | None:
        call = self._calls.get(envelope.call_id)
        if call is not None:
            return call
        if envelope.type == "call.ended":
            return None  # nothing live to show of a call seen only as it ended
        if len(self._calls) >= self.max_calls and not self._make_room():
            self.refused += 1
            return None
        call = _Call(
            row={
                "call_id": envelope.call_id,
                "line_id": envelope.line_id or payload.get("line_id") or "",
                "channel": payload.get("channel"),
                "started_at": envelope.occurred_at.isoformat(),
                "ended": False,
                "state": "listening",
                "turns": 0,
                "sentiment": [],
                "risk": {"score": 0.0, "reasons": []},
                "escalated": False,
                "last_v2v_ms": None,
                "agent_id": None,
            }
        )
        self._calls[envelope.call_id] = call
        self._removed.discard(envelope.call_id)
        self._dirty_rows.add(envelope.call_id)
        return call

    def _make_room(self) -> bool:
        ended = [(c.ended_at, cid) for cid, c in self._calls.items() if c.ended_at is not None]
        if not ended:
            return False
        self._remove(min(ended)[1])
        return True

    def _remove(self, call_id: str) -> None:
        del self._calls[call_id]
        self._dirty_rows.discard(call_id)
        self._dirty_items.pop(call_id, None)
        self._removed.add(call_id)

    def _set(self, call: _Call, **fields: Any) -> None:
        call.row.update(fields)
        self._dirty_rows.add(call.row["call_id"])

    def _item(self, call: _Call, item: dict[str, Any]) -> None:
        """Add an item, or replace the one with its ``id`` (keeping its place)."""
        items = call.items
        items[item["id"]] = item
        while len(items) > self._max_items:
            items.popitem(last=False)
        self._dirty_items.setdefault(call.row["call_id"], {})[item["id"]] = None

    def _alert(
        self,
        envelope: Envelope,
        kind: str,
        rule_id: str | None,
        reasons: list[str],
        priority: int = RISK_PRIORITY,
    ) -> dict[str, Any]:
        alert = {
            "id": f"{kind}:{envelope.event_id}",
            "at": envelope.occurred_at.isoformat(),
            "call_id": envelope.call_id,
            "line_id": envelope.line_id,
            "kind": kind,
            "rule_id": rule_id,
            "reasons": reasons,
            "priority": priority,
        }
        self._alerts.append(alert)
        return alert

    # -- per event type ------------------------------------------------------------------------

    def _started(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        self._set(
            call,
            channel=p.get("channel"),
            line_id=env.line_id or p.get("line_id") or call.row["line_id"],
            started_at=env.occurred_at.isoformat(),
        )

    def _ended(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        self._set(call, ended=True, state="ended")
        self._item(call, _base(env, "state", state="ended"))

    def _user(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        item_id = str(p.get("item_id"))
        text = str(p.get("text", ""))
        self._item(call, _base(env, "user", f"user:{item_id}", text=text))
        if item_id not in call.user_items:
            call.user_items.add(item_id)
            self._set(call, turns=len(call.user_items))
            words = _WORDS.sub(" ", text.lower()).strip()
            if words and words == call.signals.last_user_text:
                call.signals.repeats += 1
            call.signals.last_user_text = words

    def _agent(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        item = _base(env, "agent", f"agent:{p.get('reply_id')}", text=p.get("text", ""))
        item["interrupted"] = bool(p.get("interrupted"))
        self._item(call, item)

    def _interruption(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        reply_id = p.get("reply_id")
        self._item(
            call,
            _base(env, "interruption", reply_id=reply_id, played_ms=p.get("played_ms")),
        )
        agent = call.items.get(f"agent:{reply_id}")
        if agent is not None:
            self._item(call, {**agent, "interrupted": True})
        if p.get("kind", "barge_in") == "barge_in":
            call.signals.barge_ins += 1

    def _tool(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        item_id = f"tool:{p.get('tool_call_id')}"
        known = call.items.get(item_id, {})
        if env.type == "tool.call":
            fields = {"name": p.get("name"), "status": known.get("status", "running")}
            fields["duration_ms"] = known.get("duration_ms")
            self._item(call, {**_base(env, "tool", item_id), **fields})
            return
        status = p.get("status")
        item = known or {**_base(env, "tool", item_id), "name": None}
        self._item(call, {**item, "status": status, "duration_ms": p.get("duration_ms")})
        if status in ("error", "timeout"):
            call.signals.tool_failures += 1

    def _turn(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        stages = p.get("stages_ms") or {}
        v2v = stages.get("voice_to_voice")
        turn = p.get("turn")
        self._item(
            call, _base(env, "turn", f"turn:{turn}", turn=turn, v2v_ms=v2v, stages_ms=stages)
        )
        if v2v is not None:
            self._set(call, last_v2v_ms=v2v)

    def _sentiment(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        call.sentiment.append(float(p.get("score", 0.0)))
        trend = p.get("trend")
        call.signals.trend = float(trend) if trend is not None else None
        self._set(call, sentiment=list(call.sentiment))

    def _fallback(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        call.signals.fallbacks += 1

    def _escalation(self, call: _Call, env: Envelope, p: dict[str, Any], alerts: list[Any]) -> None:
        reasons = list(p.get("reasons") or [])
        priority = int(p.get("priority") or 0)
        evidence = [
            {k: e.get(k) for k in ("signal", "detail", "value", "threshold")}
            for e in p.get("evidence") or []
            if isinstance(e, dict)
        ]
        item = _base(env, "escalation", rule_id=p.get("rule_id"), reasons=reasons)
        self._item(call, {**item, "priority": priority, "evidence": evidence})
        call.signals.escalated = True
        self._set(call, escalated=True)
        alerts.append(self._alert(env, "escalation", p.get("rule_id"), reasons, priority))

    def _assigned(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        self._set(call, agent_id=p.get("agent_id"))

    def _handoff(self, call: _Call, env: Envelope, p: dict[str, Any], alerts: list[Any]) -> None:
        completed = env.type == "handoff.completed"
        item = _base(env, "handoff", outcome="completed" if completed else "failed")
        item.update(agent_id=p.get("agent_id"), reason=p.get("reason"))
        self._item(call, item)
        if completed:
            self._set(call, agent_id=p.get("agent_id"), state="with_human")
        else:
            reasons = [str(p["reason"])] if p.get("reason") else []
            alerts.append(
                self._alert(env, "handoff_failed", None, reasons, HANDOFF_FAILED_PRIORITY)
            )

    def _state(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        state = p.get("state")
        if state in _STATES and not call.row["ended"]:
            self._set(call, state=state)
        self._item(call, _base(env, "state", state=state))

    def _dtmf(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        self._item(call, _base(env, "dtmf", digit=p.get("digit")))

    def _control(self, call: _Call, env: Envelope, p: dict[str, Any], _: list[Any]) -> None:
        item = _base(env, "control", f"control:{p.get('command_id') or env.event_id}")
        item.update({k: p.get(k) for k in ("command", "issued_by", "ok", "detail")})
        self._item(call, item)


def _base(env: Envelope, kind: str, item_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A timeline item; without an id of its own, the event id makes one."""
    return {
        "id": item_id or f"{kind}:{env.event_id}",
        "kind": kind,
        "at": env.occurred_at.isoformat(),
        **fields,
    }


def _ignore(*_: Any) -> None:
    return None


_APPLY: dict[str, Any] = {
    "call.started": LiveBoard._started,
    "call.ended": LiveBoard._ended,
    "transcript.user": LiveBoard._user,
    "transcript.agent": LiveBoard._agent,
    "interruption": LiveBoard._interruption,
    "tool.call": LiveBoard._tool,
    "tool.result": LiveBoard._tool,
    "turn.metrics": LiveBoard._turn,
    "sentiment.scored": LiveBoard._sentiment,
    "dialogue.fallback": LiveBoard._fallback,
    "escalation.requested": LiveBoard._escalation,
    "escalation.assigned": LiveBoard._assigned,
    "handoff.completed": LiveBoard._handoff,
    "handoff.failed": LiveBoard._handoff,
    "call.state_changed": LiveBoard._state,
    "dtmf.received": LiveBoard._dtmf,
    "control.applied": LiveBoard._control,
}
