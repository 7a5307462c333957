"""Spans of this test process, in memory.

A process has one tracer provider: the first ``set_tracer_provider`` wins and later ones are
ignored. Tests therefore share it: the first to ask sets an SDK provider, and each test adds its
own exporter to it (and filters the spans by trace or call id, since other tests' spans arrive
there too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def process_provider() -> TracerProvider:
    """The process's SDK tracer provider, set now if none is."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        pytest.fail("a tracer provider that is not the SDK's was set elsewhere")
    return provider


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended in this process while the test runs (exported as each one ends)."""
    exporter = InMemorySpanExporter()
    process_provider().add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # it keeps no more spans; the provider cannot drop a processor


def of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def named(found: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in found if s.name == name]
