"""One invoice's journey is one trace: the services export spans over OTLP/HTTP to a receiver in this test's
process, and the test follows the parent links from the provider call back to the HTTP request, service by
service (ingestion -> ruler -> dispatcher -> provider call; a payment -> the ruler's stop -> the dispatcher's
withdrawal and thank-you)."""

import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from regua_contracts import topics
from regua_localstack.stack import LocalStack
from tests.conftest import session_start
from tests.support.channels import at_local, next_monday, register, tenant_with_ruler, unique_phone
from tests.support.client import Platform, eventually
from tests.support.providers import Providers

SERVICES = ["ingestion", "ruler", "credit", "dispatch-sms", "dispatch-email"]
STEPS = "      - {key: D+1, offset_days: 1, send: [sms], template: notice, tone: informative}\n"
EMAIL_STEPS = "      - {key: D+1, offset_days: 1, send: [email], template: notice, tone: informative}\n"


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
        spans = []
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes if a.key == "service.name")
            spans += [Span(service, s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex())
                      for scope in resource.scope_spans for s in scope.spans]
        with self.server.lock:
            self.server.spans += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def traced() -> Iterator[tuple[Platform, Receiver]]:
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="regua-traces-"))
    stack = LocalStack(workdir=workdir, extra_env={
        "REGUA_CLOCK_MODE": "simulated", "REGUA_RULER_TICK_SECONDS": "0.2", "REGUA_RULER_CLAIM_BATCH": "100",
        "REGUA_CONSUMER_RETRY_BASE_SECONDS": "0.05", "REGUA_OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100"})  # spans leave each process a tenth of a second after they end
    try:
        stack.start_infra()
        stack.start_services(SERVICES)
        platform = Platform(stack)
        platform.set_clock(session_start(datetime.now(UTC)))
        yield platform, receiver
    finally:
        stack.stop()
        receiver.shutdown()
        print(f"\nlogs of the traced stack: {workdir / 'logs'}")


def _ancestry(receiver: Receiver, leaf: Span) -> list[Span]:
    """The leaf and its parents up to its trace's root, leaf first, once the receiver has them all (each
    process exports its spans in its own batches). A parent that never comes fails the test."""
    def chain() -> list[Span] | None:
        by_id = {s.span_id: s for s in receiver.received()}
        spans = [leaf]
        while spans[-1].parent_id in by_id:
            spans.append(by_id[spans[-1].parent_id])
        return spans if not spans[-1].parent_id else None

    return eventually(chain, 30, what="every parent of the span up to the trace's root")


def _hops(chain: list[Span]) -> list[tuple[str, str]]:
    """(service, span name) where the chain enters another service, root first."""
    hops: list[tuple[str, str]] = []
    for span in reversed(chain):
        if not hops or hops[-1][0] != span.service:
            hops.append((span.service, span.name))
    return hops


def _one(spans: list[Span], service: str, name: str, trace_id: str) -> list[Span]:
    return [s for s in spans if (s.service, s.name, s.trace_id) == (service, name, trace_id)]


def _root_of(spans: list[Span], service: str, name: str, after: set[str]) -> Span | None:
    """The newest root span of ``service`` named ``name`` not in ``after`` (span ids seen before)."""
    found = [s for s in spans if (s.service, s.name) == (service, name) and not s.parent_id
             and s.span_id not in after]
    return found[-1] if found else None


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_an_invoice_is_one_trace_from_its_registration_to_the_providers_call(
        traced: tuple[Platform, Receiver], channel: str) -> None:
    platform, receiver = traced
    dispatcher = f"dispatch-{channel}"
    key = tenant_with_ruler(platform, "Livraria Ponto Final Ltda", STEPS if channel == "sms" else EMAIL_STEPS,
                            services=(dispatcher,))
    phone = unique_phone()
    due = next_monday(platform)
    seen = {s.span_id for s in receiver.received()}
    register(platform, key, due, 54_321, phone=phone, email=f"traces.{phone[-8:]}@example.com")
    request = eventually(lambda: _root_of(receiver.received(), "ingestion", "POST /v1/invoices", seen), 30,
                         what="the registration's HTTP span")
    platform.set_clock(at_local(due + timedelta(days=1)))

    send = eventually(lambda: _one(receiver.received(), dispatcher, f"{channel} provider send", request.trace_id),
                      60, what="the provider call in the registration's trace")[0]
    chain = _ancestry(receiver, send)
    assert chain[-1] == request  # an unbroken chain of parents from the provider call to the HTTP request
    assert _hops(chain) == [
        ("ingestion", "POST /v1/invoices"),
        ("ruler", f"{topics.INVOICES} process"),  # the case opened; the ticker's command continues its trace
        (dispatcher, f"{topics.contact_commands(channel)} process"),
    ]
    assert chain[1].name == f"{topics.contact_commands(channel)} process"  # the call: a child of the command's span
    if channel == "sms":
        # The double writes its log after answering: the span can be seen before the line is.
        eventually(lambda: Providers(platform.stack).received("sms", phone), 30, what="the SMS at the provider")


def test_a_payment_is_one_trace_to_the_ruler_stop_and_the_dispatchers_withdrawal(
        traced: tuple[Platform, Receiver]) -> None:
    platform, receiver = traced
    key = tenant_with_ruler(platform, "Padaria Pão Quente Ltda", STEPS, services=("dispatch-sms",))
    phone = unique_phone()
    invoice = register(platform, key, next_monday(platform), 12_000, phone=phone)
    seen = {s.span_id for s in receiver.received()}
    with platform.api(key) as api:
        assert api.post(f"/v1/invoices/{invoice['id']}/payments", json={"amount_cents": 12_000}).status_code == 201
    payment = eventually(lambda: _root_of(receiver.received(), "ingestion",
                                          "POST /v1/invoices/{invoice_id}/payments", seen), 30,
                         what="the payment's HTTP span")

    def withdrawal() -> list[Span]:
        return _one(receiver.received(), "dispatch-sms", f"{topics.CASES} process", payment.trace_id)

    stopped = eventually(withdrawal, 30, what="the dispatcher reading case.stopped in the payment's trace")[0]
    assert _hops(_ancestry(receiver, stopped)) == [
        ("ingestion", "POST /v1/invoices/{invoice_id}/payments"),
        ("ruler", f"{topics.INVOICES} process"),  # invoice.paid stopped the case
        ("dispatch-sms", f"{topics.CASES} process"),
    ]
    # The thank-you the stop sends goes to the provider in the same trace.
    send = eventually(lambda: _one(receiver.received(), "dispatch-sms", "sms provider send", payment.trace_id),
                      30, what="the thank-you's provider call in the payment's trace")[0]
    assert _hops(_ancestry(receiver, send)) == [
        ("ingestion", "POST /v1/invoices/{invoice_id}/payments"),
        ("ruler", f"{topics.INVOICES} process"),
        ("dispatch-sms", f"{topics.contact_commands('sms')} process"),
    ]
