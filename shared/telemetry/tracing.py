"""OpenTelemetry setup and W3C trace-context propagation through Kafka headers."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from shared.settings import TelemetrySettings

KafkaHeaders = list[tuple[str, bytes]]


def setup_tracing(
    service_name: str,
    settings: TelemetrySettings,
    *,
    exporter: SpanExporter | None = None,
) -> TracerProvider:
    """Install a tracer provider for this process.

    Spans go to ``exporter`` when given (tests pass an in-memory one), else to the OTLP/HTTP
    endpoint when one is configured, else nowhere (spans are still created, so trace ids exist
    for log correlation).
    """
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    if exporter is None and settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        # The exporter's own timeout bounds each export; the batch queue is bounded (2048 spans
        # by default) and drops the oldest spans when the collector is away.
        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def inject_headers(headers: KafkaHeaders | None = None) -> KafkaHeaders:
    """Kafka headers carrying the current trace context (``traceparent``/``tracestate``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    out = list(headers or [])
    out.extend((key, value.encode()) for key, value in carrier.items())
    return out


def extract_context(headers: Sequence[tuple[str, bytes]] | None) -> context.Context:
    """The trace context a producer put in a record's headers (empty context if none)."""
    carrier = {}
    for key, value in headers or ():
        try:
            carrier[key] = value.decode()
        except (UnicodeDecodeError, AttributeError):
            continue
    return propagate.extract(carrier)
