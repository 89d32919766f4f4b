"""The client against a scripted in-process gRPC server on loopback: retry, deadline, breaker, fallback
metrics, error mapping (the real service is exercised in tests/e2e/test_credit_grpc.py)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from prometheus_client import REGISTRY
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit_client import Behavior, CircuitBreaker, CreditClient, InvalidRequest, Segment
from regua_platform.service_tokens import TokenIssuer, TokenVerifier
from regua_platform.signing import new_key_pair, signer_from, verifier_from
from regua_platform.telemetry import configure_tracing


class Scripted(pb_grpc.CreditAnalysisServiceServicer):
    """Answers each call with the next scripted outcome: a StatusCode to abort with, a delay, or OK."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def _next(self, context: grpc.aio.ServicerContext, what: str) -> None:
        self.calls.append((what, dict(context.invocation_metadata())))
        step = self.script.pop(0) if self.script else None
        if isinstance(step, float):
            await asyncio.sleep(step)
        elif step is grpc.StatusCode.INVALID_ARGUMENT:
            bad = error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="debtor_id", description="must be a UUID")])
            detail = any_pb2.Any()
            detail.Pack(bad)
            status = status_pb2.Status(code=3, message="debtor_id: must be a UUID", details=[detail])
            await context.abort(step, status.message,
                                trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),))
        elif isinstance(step, grpc.StatusCode):
            await context.abort(step, step.name)

    async def GetDebtorProfile(self, request: pb.GetDebtorProfileRequest,
                               context: grpc.aio.ServicerContext) -> pb.GetDebtorProfileResponse:
        await self._next(context, "profile")
        return pb.GetDebtorProfileResponse(profile=pb.DebtorProfile(
            debtor_id=request.debtor_id, behavior=pb.PAYMENT_BEHAVIOR_ALWAYS_LATE,
            recommended_segment=pb.RULER_SEGMENT_FIRM, history=pb.PaymentHistory(paid_late=3),
            score=pb.Score(value=270, model_version="rules-v1", method=pb.SCORE_METHOD_RULES,
                           reasons=[pb.Reason(code=pb.REASON_CODE_DAYS_LATE, impact=-50)])))

    async def BatchGetDebtorProfiles(self, request: pb.BatchGetDebtorProfilesRequest,
                                     context: grpc.aio.ServicerContext) -> pb.BatchGetDebtorProfilesResponse:
        await self._next(context, "batch")
        known, unknown = request.debtor_ids[::2], request.debtor_ids[1::2]
        return pb.BatchGetDebtorProfilesResponse(
            profiles=[pb.DebtorProfile(debtor_id=d, behavior=pb.PAYMENT_BEHAVIOR_ON_TIME) for d in known],
            not_found_debtor_ids=unknown)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Scripted, str]]:
    servicer = Scripted()
    server = grpc.aio.server()
    pb_grpc.add_CreditAnalysisServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("regua_credit_client_fallbacks_total", {"reason": reason}) or 0.0


async def test_answers_carry_the_tenant_and_become_dataclasses(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    debtor = uuid.uuid4()
    configure_tracing("credit-client-test", None)  # a real tracer provider, as every service has
    private, public = new_key_pair()
    signer = signer_from("ruler", private)
    assert signer is not None
    async with CreditClient(target, credentials=TokenIssuer(signer)) as client:
        profile = await client.debtor_profile("tn_a", debtor)
    assert (profile.debtor_id, profile.behavior, profile.segment, profile.score) == (
        debtor, Behavior.ALWAYS_LATE, Segment.FIRM, 270)
    assert profile.paid_late == 3 and profile.reasons[0].code == "days_late" and not profile.fallback
    # The tenant travels inside the caller's signed token, never as a header of its own the server would trust.
    assert "x-tenant-id" not in servicer.calls[0][1]
    claims = TokenVerifier(verifier_from(json.dumps({"ruler": public})), ["ruler"]).from_metadata(
        servicer.calls[0][1]["authorization"])
    assert (claims.service, claims.tenant) == ("ruler", "tn_a")
    assert "traceparent" in servicer.calls[0][1]  # the client span's context travels with the call


async def test_one_retry_on_unavailable(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    servicer.script = [grpc.StatusCode.UNAVAILABLE]
    async with CreditClient(target) as client:
        assert not (await client.debtor_profile("tn_a", uuid.uuid4())).fallback
        assert len(servicer.calls) == 2
        before = fallbacks("unavailable")
        servicer.script = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
        profile = await client.debtor_profile("tn_a", uuid.uuid4())
    assert profile.fallback and profile.fallback_reason == "unavailable" and profile.behavior is Behavior.UNKNOWN
    assert profile.segment is Segment.STANDARD and profile.score is None
    assert len(servicer.calls) == 4 and fallbacks("unavailable") == before + 1


async def test_deadline_exceeded_falls_back_without_retrying(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    servicer.script = [0.5]
    before = fallbacks("deadline_exceeded")
    async with CreditClient(target, deadline=0.05) as client:
        started = asyncio.get_running_loop().time()
        profile = await client.debtor_profile("tn_a", uuid.uuid4())
        assert asyncio.get_running_loop().time() - started < 0.3
    assert profile.fallback_reason == "deadline_exceeded" and len(servicer.calls) == 1
    assert fallbacks("deadline_exceeded") == before + 1


async def test_breaker_opens_then_recovers(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    servicer.script = [grpc.StatusCode.INTERNAL] * 2
    async with CreditClient(target, breaker=CircuitBreaker(failures=2, reset_seconds=0.2)) as client:
        for _ in range(2):
            assert (await client.debtor_profile("tn_a", uuid.uuid4())).fallback_reason == "error"
        assert not client.available
        before = fallbacks("circuit_open")
        assert (await client.debtor_profile("tn_a", uuid.uuid4())).fallback_reason == "circuit_open"
        assert len(servicer.calls) == 2 and fallbacks("circuit_open") == before + 1
        await asyncio.sleep(0.25)
        assert not (await client.debtor_profile("tn_a", uuid.uuid4())).fallback  # the trial call closes it
        assert client.available


async def test_caller_errors_raise_and_do_not_open_the_circuit(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    servicer.script = [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND]
    async with CreditClient(target, breaker=CircuitBreaker(failures=1)) as client:
        with pytest.raises(InvalidRequest) as raised:
            await client.debtor_profile("tn_a", uuid.uuid4())
        assert raised.value.violations == [("debtor_id", "must be a UUID")]
        unknown = await client.debtor_profile("tn_a", uuid.uuid4())
        assert not unknown.found and not unknown.fallback and unknown.behavior is Behavior.NO_HISTORY
        assert client.available


async def test_batch_answers_every_id_and_falls_back_as_a_whole(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    ids = [uuid.uuid4() for _ in range(4)]
    async with CreditClient(target) as client:
        profiles = await client.debtor_profiles("tn_a", [*ids, ids[0]])
        assert list(profiles) == ids
        assert [p.found for p in profiles.values()] == [True, False, True, False]
        servicer.script = [0.5]
        late = await client.debtor_profiles("tn_a", ids, deadline=0.05)
    assert all(p.fallback_reason == "deadline_exceeded" for p in late.values())


async def test_service_down_falls_back_fast() -> None:
    async with CreditClient("127.0.0.1:1", deadline=0.2) as client:
        profile = await client.debtor_profile("tn_a", uuid.uuid4())
        limits = await client.offer_limits("tn_a", uuid.uuid4(), uuid.uuid4())
        assert not await client.serving(timeout=0.2)
    assert profile.fallback_reason == "unavailable"
    assert limits.fallback and limits.max_installments == 1 and limits.max_principal_discount_bps == 0


def calls() -> float:
    return REGISTRY.get_sample_value("regua_credit_client_calls_total") or 0.0


async def test_every_call_counts_once_for_the_fallback_ratio(fake: tuple[Scripted, str]) -> None:
    servicer, target = fake
    before, fell_back = calls(), fallbacks("unavailable")
    async with CreditClient(target) as client:
        servicer.script = [grpc.StatusCode.UNAVAILABLE]  # retried once, then answered: one call
        assert not (await client.debtor_profile("tn_a", uuid.uuid4())).fallback
        servicer.script = [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE]
        assert (await client.debtor_profile("tn_a", uuid.uuid4())).fallback
    assert calls() == before + 2 and fallbacks("unavailable") == fell_back + 1  # a 50% fallback ratio
