"""The call ledger of a fault test: what the broker carried against what the call log stored.

``ledger(...)`` reads every record of ``cc.call-events.v1`` for the given call ids (from the
topic's beginning to its end) and the rows of analytics' ``call_events`` table for them, waits
(bounded) until the call log has caught up, and returns a ``Ledger``:

- ``published``: distinct events (by ``event_id``) on the broker for these calls;
- ``stored``: rows in ``call_events`` for these calls;
- ``lost``: published but never stored;
- ``duplicated``: stored more than once *logically*. ``call_events`` is keyed by
  ``(event_id, occurred_at)``, so one event id cannot be stored twice; a redelivery bug would
  instead store the same fact under a new id: the same call, type and source and the same item,
  reply, tool-call or command id (``call.started`` / ``call.ended``: once per call; other types:
  the same payload at the same moment);
- ``redelivered``: records the broker holds more than once (at-least-once; not a loss or a
  duplicate in the call log as long as ``duplicated`` is 0);
- ``not_one_start`` / ``not_one_end``: calls without exactly one ``call.started`` /
  ``call.ended`` in the call log;
- ``double_reported``: tool calls with more than one ``tool.result`` stored, from any source
  (the gateway alone reports a tool call's outcome; analytics and the escalation rules count
  each report, so a second one would count a failure twice);
- ``unpublished``: ids the caller saw in a transcript frame (``item_id`` / ``reply_id``) with no
  transcript event on the broker: events a process lost before they reached the broker.

``CallerRecord`` is the caller's side: what a scripted client saw. ``Ledger.save()`` writes the
figures as JSON to ``test-artifacts/faults/<fault>.json`` (collected into docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from shared.events import Envelope
from tests.support.kafka import read_topic_to_end

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "faults"

# The payload field that makes an event of this type one fact of its call.
LOGICAL_ID = {
    "transcript.user": "item_id",
    "sentiment.scored": "item_id",
    "transcript.agent": "reply_id",
    "interruption": "reply_id",
    "tool.call": "tool_call_id",
    "tool.result": "tool_call_id",
    "tool.side_effect": "tool_call_id",
    "turn.metrics": "turn",
    "control.applied": "command_id",
}
ONCE_PER_CALL = ("call.started", "call.ended")


@dataclass
class CallerRecord:
    """What one scripted caller experienced."""

    call_id: str = ""
    replies: list[str] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)  # question sent -> agent transcript
    errors: list[str] = field(default_factory=list)  # session.error codes
    close_codes: list[int | None] = field(default_factory=list)  # one per socket
    seen_ids: set[str] = field(default_factory=set)  # item/reply ids of transcript frames
    resumed: bool = False

    def saw(self, frame: dict[str, Any]) -> None:
        """Note one server frame."""
        kind = frame.get("type")
        if kind == "session.error":
            self.errors.append(str(frame.get("code")))
        elif kind == "transcript.user":
            self.seen_ids.add(str(frame["item_id"]))
        elif kind == "transcript.agent":
            self.seen_ids.add(str(frame["reply_id"]))


@dataclass
class Ledger:
    fault: str
    calls: int
    published: int
    stored: int
    lost: list[str]
    duplicated: list[str]
    redelivered: int
    not_one_start: list[str]
    not_one_end: list[str]
    unpublished: list[str]
    double_reported: int = 0
    callers: list[CallerRecord] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """The JSON-ready summary (counts, the slowest answer, errors and close codes seen)."""
        answers = [s for c in self.callers for s in c.answer_s]
        return {
            "fault": self.fault,
            "calls": self.calls,
            "published": self.published,
            "stored": self.stored,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "redelivered_on_broker": self.redelivered,
            "calls_without_one_started": len(self.not_one_start),
            "calls_without_one_ended": len(self.not_one_end),
            "seen_by_caller_never_published": len(self.unpublished),
            "tool_calls_reported_twice": self.double_reported,
            "caller": {
                "turns": len(answers),
                "slowest_answer_s": round(max(answers), 3) if answers else None,
                "errors": dict(Counter(e for c in self.callers for e in c.errors)),
                "close_codes": dict(
                    Counter(str(code) for c in self.callers for code in c.close_codes)
                ),
                "resumed": sum(c.resumed for c in self.callers),
            },
            "notes": self.notes,
        }

    def save(self, directory: Path = ARTIFACTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.fault}.json"
        path.write_text(json.dumps(self.figures(), indent=2, sort_keys=True) + "\n")
        return path

    def __str__(self) -> str:
        return json.dumps(self.figures(), sort_keys=True)


def logical_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """One fact of a call: what a redelivery under a new event id would store again."""
    kind, payload = row["type"], row["payload"]
    if kind in ONCE_PER_CALL:
        return (row["call_id"], kind)
    if kind in LOGICAL_ID:
        return (row["call_id"], kind, row["source"], payload.get(LOGICAL_ID[kind]))
    return (row["call_id"], kind, row["source"], row["occurred_at"], json.dumps(payload))


async def stored_rows(dsn: str, schema: str, call_ids: list[str]) -> list[dict[str, Any]]:
    """``call_events`` rows of these calls (payload decoded)."""
    conn = await asyncpg.connect(_plain(dsn), timeout=5)
    try:
        rows = await conn.fetch(
            f'SELECT event_id, occurred_at, call_id, type, source, payload FROM "{schema}".'
            "call_events WHERE call_id = ANY($1::text[])",
            call_ids,
        )
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()
    return [
        {**dict(r), "event_id": str(r["event_id"]), "payload": json.loads(r["payload"])}
        for r in rows
    ]


async def ledger(
    fault: str,
    *,
    bootstrap: str,
    topic: str,
    dsn: str,
    schema: str,
    call_ids: list[str],
    callers: list[CallerRecord] | None = None,
    settle_s: float = 30.0,
) -> Ledger:
    """Count what happened to the events of ``call_ids`` (see the module docstring).

    Waits up to ``settle_s`` for the call log to hold every published event, then 1 s more for
    anything arriving twice.
    """
    wanted = set(call_ids)
    records = await read_topic_to_end(bootstrap, topic)
    on_broker = [e for e in (Envelope.from_json(r.value) for r in records if r.value)]
    on_broker = [e for e in on_broker if e.call_id in wanted]
    published = {str(e.event_id) for e in on_broker}
    deadline = time.monotonic() + settle_s
    rows = await stored_rows(dsn, schema, call_ids)
    while published - {r["event_id"] for r in rows} and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        rows = await stored_rows(dsn, schema, call_ids)
    await asyncio.sleep(1.0)  # a late duplicate would show up now
    rows = await stored_rows(dsn, schema, call_ids)
    stored_ids = {r["event_id"] for r in rows}
    facts = Counter(logical_key(r) for r in rows)
    per_call = {
        kind: Counter(r["call_id"] for r in rows if r["type"] == kind) for kind in ONCE_PER_CALL
    }
    transcribed = {
        str(e.payload.get(LOGICAL_ID[e.type]))
        for e in on_broker
        if e.type in ("transcript.user", "transcript.agent")
    }
    seen = {i for c in callers or [] for i in c.seen_ids}
    reports = Counter(
        str(row["payload"]["tool_call_id"]) for row in rows if row["type"] == "tool.result"
    )
    return Ledger(
        fault=fault,
        calls=len(wanted),
        published=len(published),
        stored=len(rows),
        lost=sorted(published - stored_ids),
        duplicated=sorted(repr(k) for k, n in facts.items() if n > 1),
        redelivered=len(on_broker) - len(published),
        not_one_start=sorted(c for c in wanted if per_call["call.started"][c] != 1),
        not_one_end=sorted(c for c in wanted if per_call["call.ended"][c] != 1),
        unpublished=sorted(seen - transcribed),
        double_reported=sum(n > 1 for n in reports.values()),
        callers=list(callers or []),
    )


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
