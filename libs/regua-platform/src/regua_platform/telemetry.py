"""OpenTelemetry set-up, once per process. Spans are exported over OTLP/HTTP when an endpoint is set;
without one they still exist, so trace context is propagated across Kafka headers and logs carry ids."""

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def configure_tracing(service: str, otlp_endpoint: str | None) -> None:
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "regua"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    _configured = True


def shutdown_tracing() -> None:
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def current_trace() -> dict[str, str]:
    """The current trace context as W3C headers (traceparent, tracestate), to store with a row that a later
    action (a timer, a ticker) continues."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
