"""Realistic call events for the ingestion bench, and redaction timed on its caller sentences.

Caller turns mix plain support requests with utterances of the redaction evaluation corpus
(``tests/redaction/corpus.yaml``: names, emails, card and phone numbers, addresses, spoken and
written), so the redactor sees the PII it sees in production.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bench.analytics_seed import AGENT_PHRASES, ITEMS, USER_PHRASES
from shared.events import (
    CallEnded,
    CallStarted,
    Envelope,
    EventPayload,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)
from shared.redaction import default_redactor

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "redaction" / "corpus.yaml"
# Share of caller turns taken from the PII corpus; the rest are plain requests.
PII_SHARE = 0.35
LINES = ("demo-retail", "billing", "returns")


def caller_sentences(rng: random.Random, count: int) -> list[str]:
    """``count`` caller turns: corpus utterances (PII) mixed with plain support requests."""
    corpus = [u["text"] for u in yaml.safe_load(CORPUS.read_text())["utterances"]]
    plain = [p for p in USER_PHRASES if "[" not in p]
    out = []
    for _ in range(count):
        if rng.random() < PII_SHARE:
            out.append(rng.choice(corpus))
        else:
            out.append(rng.choice(plain).replace("{item}", rng.choice(ITEMS)))
    return out


def call_events(rng: random.Random, calls: int, turns_per_call: int) -> list[Envelope]:
    """Whole calls, in order: started, caller/agent turns each with metrics, a tool call and
    its result in half of them, ended."""
    sentences = iter(caller_sentences(rng, calls * turns_per_call))
    start = datetime.now(UTC) - timedelta(minutes=30)
    events: list[Envelope] = []
    for n in range(calls):
        line = LINES[n % len(LINES)]
        timed: list[tuple[float, EventPayload]] = [
            (0, CallStarted(channel="twilio", caller=f"+1415555{n % 10_000:04d}", line_id=line))
        ]
        for t in range(1, turns_per_call + 1):
            reply = rng.choice(AGENT_PHRASES).replace("{item}", rng.choice(ITEMS))
            v2v = rng.lognormvariate(7.55, 0.35)
            stages = {"end_of_turn": v2v * 0.55, "stt": v2v * 0.1, "voice_to_voice": v2v}
            timed += [
                (t * 9, TranscriptUser(item_id=f"item_{t}", text=next(sentences))),
                (t * 9 + 2, TranscriptAgent(reply_id=f"reply_{t}", text=reply)),
                (t * 9 + 2, TurnMetrics(turn=t, stages_ms=stages)),
            ]
            if t == 1 and n % 2 == 0:
                arguments = {"order_id": "ORD-77315", "email": "jane.doe@example.com"}
                timed += [
                    (12, ToolCall(tool_call_id="tc1", name="order_status", arguments=arguments,
                                  executor="server")),
                    (13, ToolResult(tool_call_id="tc1", status="ok", duration_ms=45)),
                ]  # fmt: skip
        length = turns_per_call * 9 + 5
        timed.append((length, CallEnded(reason="completed", duration_s=length)))
        at = start + timedelta(seconds=n * 5)
        events += [
            new_event(
                payload,
                call_id=f"sess_ingest{n:05d}",
                source="bench",
                line_id=line,
                occurred_at=at + timedelta(seconds=seconds),
            )
            for seconds, payload in timed
        ]
    return events


def time_redaction(sentences: list[str]) -> dict[str, float]:
    """Milliseconds ``default_redactor().redact`` takes per caller sentence: p50 / p95 / mean."""
    redactor = default_redactor()
    redactor.redact("warm up: my email is jane@example.com")
    costs = []
    for text in sentences:
        started = time.perf_counter()
        redactor.redact(text)
        costs.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(costs, n=100)
    return {"p50": cuts[49], "p95": cuts[94], "mean": statistics.fmean(costs)}
