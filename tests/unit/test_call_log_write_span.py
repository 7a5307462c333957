# ruff: noqa: F811  (the spans fixture imported from tests.support.tracing is a parameter here)
"""The analytics write of a batch is one span, linked to the spans that published its records."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.analytics.domain.call_log import CallerMemory, CallLogChange
from services.analytics.handlers import handle_call_events
from shared.events import TranscriptUser, new_event
from shared.kafka.consumer import ConsumedEvent
from tests.support.fakes import FakeRedactor
from tests.support.tracing import named, spans  # noqa: F401 (fixture)

tracer = trace.get_tracer("test")


class StoredLog:
    def __init__(self) -> None:
        self.batches: list[list[CallLogChange]] = []

    async def apply_many(self, changes: list[CallLogChange]) -> int:
        self.batches.append(changes)
        return len(changes)

    async def ping(self) -> bool:
        return True


def said(call_id: str, text: str, published_by: trace.SpanContext) -> ConsumedEvent:
    payload = TranscriptUser(item_id="i1", text=text)
    envelope = new_event(payload, call_id=call_id, line_id="l", source="gw")
    return ConsumedEvent(envelope, payload, "cc.call-events.v1", 0, 0, published_by)


async def test_one_write_span_links_each_publishing_span_once(
    spans: InMemorySpanExporter,
) -> None:
    with tracer.start_as_current_span("turn a") as a, tracer.start_as_current_span("turn b") as b:
        turn_a, turn_b = a.get_span_context(), b.get_span_context()
    events = [
        said("sess_a", "my name is Zelda Quarterfield", turn_a),
        said("sess_a", "and my order", turn_a),
        said("sess_b", "hello", turn_b),
        said("sess_c", "no context", trace.INVALID_SPAN_CONTEXT),
    ]
    log = StoredLog()

    new = await handle_call_events(
        events, call_log=log, redactor=FakeRedactor({}), memory=CallerMemory(10)
    )

    assert new == 4 and len(log.batches) == 1
    (write,) = named(list(spans.get_finished_spans()), "call_log.write")
    assert {(link.context.trace_id, link.context.span_id) for link in write.links} == {
        (turn_a.trace_id, turn_a.span_id),
        (turn_b.trace_id, turn_b.span_id),
    }
    attributes = dict(write.attributes or {})
    assert attributes["batch.size"] == 4
    assert attributes["calls"] == 3
    assert attributes["records.new"] == 4
    assert "Zelda" not in " ".join(str(v) for v in attributes.values())
