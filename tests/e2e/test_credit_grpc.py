"""Credit analysis over real gRPC on loopback: the service runs as its own process (started by the stack, fed
by the real broker from ingestion's events), the clients run here."""

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit_client import FALLBACKS, Behavior, CircuitBreaker, CreditClient, DebtorProfile, Segment
from regua_localstack.portfolio import invoice
from regua_localstack.processes import Service, free_port
from regua_localstack.stack import LocalStack
from regua_platform.service_tokens import TokenIssuer
from regua_platform.signing import new_key_pair, signer_from
from tests.support.client import Platform, eventually

SERVICE = "regua.credit.v1.CreditAnalysisService"
DELAY_HEADER = "x-regua-test-delay-ms"


@pytest.fixture(scope="module")
def channel(stack: LocalStack) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(stack.grpc_target("credit")) as ch:
        yield ch


def caller(stack: LocalStack, service: str = "ruler") -> TokenIssuer:
    """Credentials as the ruler (an allowed caller) has them: tokens signed with its key."""
    return TokenIssuer(stack.signer(service))


def tenant(stack: LocalStack, tenant_id: str) -> tuple[tuple[str, str]]:
    return (caller(stack).metadata(tenant_id),)


def profile(stack: LocalStack, tenant_id: str, debtor_id: str) -> DebtorProfile:
    async def ask() -> DebtorProfile:
        async with CreditClient(stack.grpc_target("credit"), deadline=2.0, credentials=caller(stack)) as client:
            return await client.debtor_profile(tenant_id, uuid.UUID(debtor_id))

    return asyncio.run(ask())


def today() -> date:
    """The service's "today": the wall clock in the default time zone (it ignores the ruler's simulated one)."""
    return datetime.now(ZoneInfo("America/Sao_Paulo")).date()


def wednesday_weeks_ago(weeks: int) -> date:
    """A Wednesday, so that paying five days later lands on a Monday: exactly five days late."""
    return today() - timedelta(days=(today().weekday() - 2) % 7, weeks=weeks)


def test_health_serving_and_reflection_lists_the_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                              timeout=5)
    services = {s.name for r in replies for s in r.list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= services


def test_input_errors_carry_field_details(stack: LocalStack, channel: grpc.Channel) -> None:
    stub = pb_grpc.CreditAnalysisServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetOfferLimits(pb.GetOfferLimitsRequest(debtor_id="not-a-uuid"), metadata=tenant(stack, "tn_x"),
                            timeout=5)
    error: Any = raised.value
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("debtor_id", "must be a UUID"), ("invoice_id", "is required")]
    with pytest.raises(grpc.RpcError) as raised:
        stub.BatchGetDebtorProfiles(pb.BatchGetDebtorProfilesRequest(), metadata=tenant(stack, "tn_x"), timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetDebtorProfile(pb.GetDebtorProfileRequest(debtor_id=str(uuid.uuid4())), timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def two_tenants_one_debtor(platform: Platform, external_id: str) -> tuple[str, str, str]:
    """Tenants A and B, and a debtor of A's that credit analysis has seen."""
    tenant_a, key_a = platform.new_tenant("Padaria Pão Quente Ltda", "11222333000181")
    tenant_b, _ = platform.new_tenant("Academia Corpo São Ltda", "11444777000161")
    with platform.api(key_a) as api:
        r = api.post("/v1/invoices", json=invoice(random.Random(external_id), external_id, wednesday_weeks_ago(-2)))
        assert r.status_code == 201, r.text
        debtor_id: str = r.json()["debtor_id"]
    eventually(lambda: profile(platform.stack, tenant_a, debtor_id).found, 30,
               what="the credit service to see the invoice")
    return tenant_a, tenant_b, debtor_id


def test_unknown_debtor_and_another_tenants_debtor_are_not_found(platform: Platform, channel: grpc.Channel) -> None:
    tenant_a, tenant_b, debtor_id = two_tenants_one_debtor(platform, "PQ-1")
    known = profile(platform.stack, tenant_a, debtor_id)
    assert known.behavior is Behavior.NO_HISTORY and known.open_invoices == 1 and not known.fallback
    stub = pb_grpc.CreditAnalysisServiceStub(channel)
    for who, debtor in ((tenant_b, debtor_id), (tenant_a, str(uuid.uuid4()))):
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetDebtorProfile(pb.GetDebtorProfileRequest(debtor_id=debtor), metadata=tenant(platform.stack, who),
                                  timeout=5)
        assert raised.value.code() is grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    batch = stub.BatchGetDebtorProfiles(pb.BatchGetDebtorProfilesRequest(debtor_ids=[debtor_id]),
                                        metadata=tenant(platform.stack, tenant_b), timeout=5)
    assert list(batch.not_found_debtor_ids) == [debtor_id] and not batch.profiles


def test_calls_without_a_valid_service_token_are_refused(platform: Platform, channel: grpc.Channel) -> None:
    """A raw call (as grpcurl would make it) naming a tenant in `x-tenant-id` reads nothing: the tenant comes
    only from a token an allowed caller signed; a token for tenant A never reads tenant B's debtor."""
    tenant_a, tenant_b, debtor_id = two_tenants_one_debtor(platform, "PQ-9")
    stub = pb_grpc.CreditAnalysisServiceStub(channel)
    request = pb.GetDebtorProfileRequest(debtor_id=debtor_id)

    def code(metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
        try:
            stub.GetDebtorProfile(request, metadata=metadata, timeout=5)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[attr-defined, no-any-return]
        return grpc.StatusCode.OK

    forged_key, _ = new_key_pair()
    forged = signer_from("ruler", forged_key)
    assert forged is not None
    assert code((("x-tenant-id", tenant_a),)) is grpc.StatusCode.UNAUTHENTICATED
    assert code((("authorization", "Bearer v1.e30.AAAA"),)) is grpc.StatusCode.UNAUTHENTICATED
    assert code((TokenIssuer(forged).metadata(tenant_a),)) is grpc.StatusCode.UNAUTHENTICATED  # not the ruler's key
    # ingestion's key is trusted for events, but ingestion is not an allowed caller of credit analysis.
    assert code((caller(platform.stack, "ingestion").metadata(tenant_a),)) is grpc.StatusCode.PERMISSION_DENIED
    assert code(tenant(platform.stack, tenant_a)) is grpc.StatusCode.OK
    # Tenant B's token, with tenant A's id in the old header besides: B's view, where A's debtor does not exist.
    assert code((*tenant(platform.stack, tenant_b), ("x-tenant-id", tenant_a))) is grpc.StatusCode.NOT_FOUND


def test_three_late_payments_make_an_always_late_payer(platform: Platform, channel: grpc.Channel) -> None:
    tenant_id, api_key = platform.new_tenant("Eletro Casa Bela Ltda", "11222333000181")
    rng = random.Random(21)
    debtor = invoice(rng, "ECB-0", today())["debtor"]

    def register_and_pay(api: httpx.Client, n: int, due: date, days_late: int) -> str:
        body = {**invoice(rng, f"ECB-{n}", due), "debtor": debtor, "amount_cents": 20_000}
        r = api.post("/v1/invoices", json=body)
        assert r.status_code == 201, r.text
        paid_at = datetime.combine(due + timedelta(days=days_late), clock_time(15), UTC)
        r = api.post(f"/v1/invoices/{r.json()['id']}/payments",
                     json={"amount_cents": 20_000, "paid_at": paid_at.isoformat()})
        assert r.status_code == 201, r.text
        debtor_id: str = r.json()["debtor_id"]
        return debtor_id

    def settled(paid_late: int, invoices: int) -> DebtorProfile:
        return eventually(
            lambda: (p := profile(platform.stack, tenant_id, debtor_id)).paid_late == paid_late
            and p.invoices == invoices and p.open_invoices == 0 and p, 30, what=f"{paid_late} late payments")

    with platform.api(api_key) as api:
        debtor_id = register_and_pay(api, 1, wednesday_weeks_ago(12), 0)
        first = settled(0, 1)
        assert first.behavior is Behavior.ON_TIME and first.segment is Segment.FRIENDLY
        for n, weeks in enumerate((10, 8, 6), start=1):
            register_and_pay(api, n + 1, wednesday_weeks_ago(weeks), 5)  # a Wednesday due date, paid on Monday
            now = settled(n, n + 1)
            expected = Behavior.ALWAYS_LATE if n == 3 else Behavior.SOMETIMES_LATE
            assert now.behavior is expected, now
    assert (now.paid_on_time, now.paid_late, now.mean_days_late, now.max_days_late) == (1, 3, 5.0, 5)
    assert now.segment is Segment.FIRM and now.score is not None and now.score < first.score  # type: ignore[operator]
    assert now.model_version == "rules-v2" and now.reasons

    stub = pb_grpc.CreditAnalysisServiceStub(channel)
    due = wednesday_weeks_ago(2)
    with platform.api(api_key) as api:
        r = api.post("/v1/invoices", json={**invoice(rng, "ECB-9", due), "debtor": debtor, "amount_cents": 100_000})
        invoice_id = r.json()["id"]
    credential = tenant(platform.stack, tenant_id)
    limits = eventually(lambda: _offer_limits(stub, credential, debtor_id, invoice_id), 30, what="offer limits")
    days = (today() - due).days
    assert limits.debt.principal_cents == 100_000 and limits.debt.fine_cents == 2_000  # 2% fine
    assert limits.debt.days_overdue == days and limits.debt.interest_cents == round(1_000 * days / 30)  # 1% a month
    assert limits.score.value < 400 and limits.max_principal_discount_bps == 0  # a poor score: no discount
    assert limits.max_installments == 3 and limits.offer_valid_days == 5


def _offer_limits(stub: pb_grpc.CreditAnalysisServiceStub, credential: tuple[tuple[str, str]], debtor_id: str,
                  invoice_id: str) -> pb.GetOfferLimitsResponse | None:
    try:
        reply: pb.GetOfferLimitsResponse = stub.GetOfferLimits(
            pb.GetOfferLimitsRequest(debtor_id=debtor_id, invoice_id=invoice_id),
            metadata=credential, timeout=5)
    except grpc.RpcError as error:
        assert error.code() is grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
        return None  # the service has not seen the invoice yet
    return reply


def test_metrics_count_calls_by_method_and_code(stack: LocalStack) -> None:
    metrics = httpx.get(f"{stack.url('credit')}/metrics/", timeout=5).text
    assert 'regua_credit_grpc_requests_total{code="OK",method="GetDebtorProfile"}' in metrics
    assert 'regua_credit_grpc_requests_total{code="INVALID_ARGUMENT",method="GetOfferLimits"}' in metrics
    assert "regua_credit_grpc_request_seconds_bucket" in metrics


@pytest.fixture(scope="module")
def slow_credit(stack: LocalStack) -> Iterator[tuple[Service, str]]:
    """A second credit process with the test hooks on (the stack's own never honours the delay header)."""
    grpc_port = free_port()
    env = {**stack.service_env("credit"), "REGUA_CREDIT_TEST_HOOKS": "true", "REGUA_CREDIT_GRPC_PORT": str(grpc_port)}
    service = Service.python_module("credit-test-hooks", "regua_credit", free_port(), env, stack.workdir / "logs")
    service.start()
    try:
        service.wait_ready()
        yield service, f"127.0.0.1:{grpc_port}"
    finally:
        service.stop()


def test_deadline_shorter_than_a_forced_delay(stack: LocalStack, slow_credit: tuple[Service, str]) -> None:
    _, target = slow_credit
    request = pb.GetDebtorProfileRequest(debtor_id=str(uuid.uuid4()))
    metadata = (caller(stack).metadata("tn_x"), (DELAY_HEADER, "500"))
    with grpc.insecure_channel(target) as ch, pytest.raises(grpc.RpcError) as raised:
        pb_grpc.CreditAnalysisServiceStub(ch).GetDebtorProfile(request, metadata=metadata, timeout=0.1)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    # The stack's service has no hooks: the same header changes nothing there.
    with grpc.insecure_channel(stack.grpc_target("credit")) as ch, pytest.raises(grpc.RpcError) as raised:
        pb_grpc.CreditAnalysisServiceStub(ch).GetDebtorProfile(request, metadata=metadata, timeout=0.4)
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_client_falls_back_when_slow_or_down_and_recovers(stack: LocalStack,
                                                          slow_credit: tuple[Service, str]) -> None:
    service, target = slow_credit
    debtor = uuid.uuid4()

    def fallbacks(reason: str) -> float:
        return FALLBACKS.labels(reason)._value.get()

    async def slow() -> tuple[DebtorProfile, float]:
        # The default deadline: 200 ms.
        async with CreditClient(target, metadata=[(DELAY_HEADER, "1000")], credentials=caller(stack)) as client:
            started = time.perf_counter()
            answer = await client.debtor_profile("tn_x", debtor)
            return answer, time.perf_counter() - started

    before = fallbacks("deadline_exceeded")
    answer, seconds = asyncio.run(slow())
    # What the ruler gets: it opens the case on the standard segment and re-segments later.
    assert answer.fallback and answer.fallback_reason == "deadline_exceeded" and seconds < 0.5
    assert (answer.behavior, answer.segment, answer.score) == (Behavior.UNKNOWN, Segment.STANDARD, None)
    assert fallbacks("deadline_exceeded") == before + 1

    async def down_then_back() -> list[str | None]:
        reasons: list[str | None] = []
        async with CreditClient(target, breaker=CircuitBreaker(failures=2, reset_seconds=0.5),
                                credentials=caller(stack)) as client:
            await asyncio.to_thread(service.stop)
            for _ in range(3):
                reasons.append((await client.debtor_profile("tn_x", debtor)).fallback_reason)
            assert not client.available
            await asyncio.to_thread(lambda: (service.start(), service.wait_ready()))
            for _ in range(50):  # the channel reconnects within its (shortened) backoff
                answer = await client.debtor_profile("tn_x", debtor)
                if not answer.fallback:
                    break
                await asyncio.sleep(0.3)
            reasons.append(answer.fallback_reason)
            assert client.available
        return reasons

    assert asyncio.run(down_then_back()) == ["unavailable", "unavailable", "circuit_open", None]
