"""The one client of regua.credit.v1.CreditAnalysisService (the ruler and negotiation call it synchronously).

Every call has a deadline (default 200 ms; it is the whole budget, retry included). UNAVAILABLE is retried
once within that budget. When the service does not answer (deadline exceeded, unavailable twice, any
server error) or the circuit breaker is open, the caller gets a fallback result marked ``fallback=True``
and ``regua_credit_client_fallbacks_total{reason}`` counts it: the caller carries on (a case still opens,
on the standard segment) and asks again later (``available`` says when the circuit is closed again).

Answers the service did give are not fallbacks: an unknown debtor is a profile with ``found=False``; bad
input raises InvalidRequest (with the service's per-field violations), an unknown invoice NotFound, a
settled or cancelled one InvoiceNotOpen. Those are the caller's to fix, and they count as the service
being up. Client spans (OpenTelemetry) carry the trace context to the service in the call's metadata.

Every call carries a short-lived token signed with the calling service's key (regua_platform.service_tokens)
naming the tenant it asks for; the service takes the tenant from it. TLS when REGUA_CREDIT_CLIENT_TLS_CA is set.
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast
from uuid import UUID

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from prometheus_client import Counter
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit_client.breaker import CircuitBreaker, State
from regua_credit_client.models import DebtorProfile, OfferLimits, limits_from, profile_from
from regua_platform.service_tokens import TokenIssuer
from regua_platform.settings import Settings
from regua_platform.signing import signer_from

FALLBACKS = Counter("regua_credit_client_fallbacks_total",
                    "Credit-analysis calls answered by the client's fallback instead of the service", ["reason"])
# The denominator of the fallback-ratio SLO: every call made (answered, failed or fallen back), once per call.
CALLS = Counter("regua_credit_client_calls_total", "Credit-analysis calls made through the client")
RETRIES = Counter("regua_credit_client_retries_total", "Credit-analysis calls retried after UNAVAILABLE")

MAX_BATCH = 10_000  # the service's limit per BatchGetDebtorProfiles call
_MIN_RETRY_BUDGET = 0.005  # not worth a retry with less time than this left
_DETAILS_KEY = "grpc-status-details-bin"
_CHANNEL_OPTIONS = (
    # Reconnect quickly once the service is back (gRPC's default backoff grows to two minutes).
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),  # a 10,000-debtor batch answer is a few MB
    ("grpc.lb_policy_name", "round_robin"),  # spread calls over every replica the target resolves to
)
R = TypeVar("R")

if TYPE_CHECKING:  # mypy-protobuf's typed view of a stub on an aio channel; it does not exist at run time
    from regua.credit.v1.credit_analysis_pb2_grpc import CreditAnalysisServiceAsyncStub as AsyncStub


class CreditError(Exception):
    """The service answered with an error the caller must handle (not a fallback)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidRequest(CreditError):
    def __init__(self, code: grpc.StatusCode, message: str, violations: Sequence[tuple[str, str]]) -> None:
        super().__init__(code, message)
        self.violations = list(violations)  # (field, description)


class NotFound(CreditError):
    pass


class InvoiceNotOpen(CreditError):
    pass


class _Unanswered(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_REASONS = {grpc.StatusCode.DEADLINE_EXCEEDED: "deadline_exceeded", grpc.StatusCode.UNAVAILABLE: "unavailable"}
# Codes that mean "the service is fine, the request is not": they never open the circuit.
_CALLER_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
                  grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def _violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            bad = error_details_pb2.BadRequest()
            return [(v.field, v.description) for d in status.details if d.Unpack(bad) for v in bad.field_violations]
    return []


def _caller_error(error: grpc.aio.AioRpcError) -> CreditError:
    code, message = error.code(), error.details() or ""
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidRequest(code, message, _violations(error))
    if code is grpc.StatusCode.NOT_FOUND:
        return NotFound(code, message)
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return InvoiceNotOpen(code, message)
    return CreditError(code, message)


class CreditClient:
    """Use inside a running event loop; ``close()`` (or ``async with``) releases the channel."""

    def __init__(self, target: str, *, deadline: float = 0.2, batch_deadline: float = 5.0,
                 breaker: CircuitBreaker | None = None, metadata: Sequence[tuple[str, str]] = (),
                 credentials: TokenIssuer | None = None,
                 channel_credentials: grpc.ChannelCredentials | None = None) -> None:
        self.target = target
        self._credentials = credentials  # None: calls carry no token (the service refuses them)
        self._channel_credentials = channel_credentials
        self.deadline = deadline
        self.batch_deadline = batch_deadline
        self.breaker = breaker or CircuitBreaker()
        self._metadata = tuple(metadata)  # sent with every call, besides the tenant
        self._channel: grpc.aio.Channel | None = None
        self._stub: AsyncStub | None = None
        self._tracer = trace.get_tracer(__name__)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> "CreditClient":
        breaker = CircuitBreaker(settings.credit_client_breaker_failures, settings.credit_client_breaker_reset_seconds)
        signer = signer_from(settings.service_name, settings.signing_key)
        credentials = TokenIssuer(signer, settings.credit_token_seconds) if signer else None
        return cls(settings.credit_grpc_target, deadline=settings.credit_client_deadline_ms / 1000, breaker=breaker,
                   credentials=credentials, channel_credentials=channel_credentials(settings),
                   **overrides)  # type: ignore[arg-type]

    @property
    def available(self) -> bool:
        """False while the circuit is open: calls fall back at once. Re-ask fallback answers once True."""
        return self.breaker.state is State.CLOSED

    def _stub_(self) -> "AsyncStub":
        if self._stub is None:
            interceptors = aio_client_interceptors(  # type: ignore[no-untyped-call]
                tracer_provider=trace.get_tracer_provider())
            self._channel = (
                grpc.aio.secure_channel(self.target, self._channel_credentials, options=_CHANNEL_OPTIONS,
                                        interceptors=interceptors) if self._channel_credentials
                else grpc.aio.insecure_channel(self.target, options=_CHANNEL_OPTIONS, interceptors=interceptors))
            self._stub = cast("AsyncStub", pb_grpc.CreditAnalysisServiceStub(self._channel))
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None

    async def __aenter__(self) -> "CreditClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # --- the API ---------------------------------------------------------------------------------------------

    async def debtor_profile(self, tenant_id: str, debtor_id: UUID) -> DebtorProfile:
        request = pb.GetDebtorProfileRequest(debtor_id=str(debtor_id))
        with self._tracer.start_as_current_span("credit.debtor_profile") as span:
            try:
                response = await self._call(self._stub_().GetDebtorProfile, request, tenant_id, self.deadline)
            except NotFound:
                return DebtorProfile.not_found(debtor_id)
            except _Unanswered as unanswered:
                span.set_attribute("regua.credit.fallback", unanswered.reason)
                return DebtorProfile.fallback_for(debtor_id, unanswered.reason)
        return profile_from(response.profile)

    async def debtor_profiles(self, tenant_id: str, debtor_ids: Sequence[UUID],
                              deadline: float | None = None) -> dict[UUID, DebtorProfile]:
        """A profile for every id asked (unknown debtors: ``found=False``), in batches of up to 10,000."""
        wanted = list(dict.fromkeys(debtor_ids))
        out: dict[UUID, DebtorProfile] = {}
        with self._tracer.start_as_current_span("credit.debtor_profiles") as span:
            span.set_attribute("regua.credit.debtors", len(wanted))
            for start in range(0, len(wanted), MAX_BATCH):
                chunk = wanted[start:start + MAX_BATCH]
                request = pb.BatchGetDebtorProfilesRequest(debtor_ids=[str(d) for d in chunk])
                try:
                    response = await self._call(self._stub_().BatchGetDebtorProfiles, request, tenant_id,
                                                deadline or self.batch_deadline)
                except _Unanswered as unanswered:
                    span.set_attribute("regua.credit.fallback", unanswered.reason)
                    out |= {d: DebtorProfile.fallback_for(d, unanswered.reason) for d in chunk}
                    continue
                out |= {p.debtor_id: p for p in map(profile_from, response.profiles)}
                out |= {UUID(d): DebtorProfile.not_found(UUID(d)) for d in response.not_found_debtor_ids}
        return {d: out[d] for d in wanted}

    async def offer_limits(self, tenant_id: str, debtor_id: UUID, invoice_id: UUID) -> OfferLimits:
        """Raises NotFound for an unknown debtor or invoice, InvoiceNotOpen for a settled or cancelled one."""
        request = pb.GetOfferLimitsRequest(debtor_id=str(debtor_id), invoice_id=str(invoice_id))
        with self._tracer.start_as_current_span("credit.offer_limits") as span:
            try:
                response = await self._call(self._stub_().GetOfferLimits, request, tenant_id, self.deadline)
            except _Unanswered as unanswered:
                span.set_attribute("regua.credit.fallback", unanswered.reason)
                return OfferLimits.fallback_for(invoice_id, unanswered.reason)
        return limits_from(response)

    async def serving(self, timeout: float = 1.0) -> bool:
        """The service's standard health check (not subject to the circuit breaker)."""
        self._stub_()
        assert self._channel is not None
        try:
            reply = await health_pb2_grpc.HealthStub(self._channel).Check(
                health_pb2.HealthCheckRequest(service=pb.DESCRIPTOR.services_by_name["CreditAnalysisService"]
                                              .full_name), timeout=timeout)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    # --- deadline, retry, breaker ----------------------------------------------------------------------------

    async def _call(self, method: Callable[..., Awaitable[R]], request: object, tenant_id: str, budget: float) -> R:
        CALLS.inc()
        if not self.breaker.allow():
            raise self._fallback("circuit_open")
        metadata = ((self._credentials.metadata(tenant_id),) if self._credentials else ()) + self._metadata
        ends = time.monotonic() + budget
        retried = False
        while True:
            try:
                response = await method(request, timeout=max(ends - time.monotonic(), 0.001), metadata=metadata)
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if code in _CALLER_ERRORS:
                    self.breaker.success()  # the service is up and answered
                    raise _caller_error(error) from error
                if code is grpc.StatusCode.UNAVAILABLE and not retried:
                    pause = random.uniform(0.002, 0.010)  # jittered, so callers do not retry in lockstep
                    if ends - time.monotonic() - pause > _MIN_RETRY_BUDGET:
                        retried = True
                        RETRIES.inc()
                        await asyncio.sleep(pause)
                        continue
                self.breaker.failure()
                raise self._fallback(_REASONS.get(code, "error")) from error
            self.breaker.success()
            return response

    @staticmethod
    def _fallback(reason: str) -> _Unanswered:
        FALLBACKS.labels(reason).inc()
        return _Unanswered(reason)


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """TLS to the service when its CA is configured, with this service's certificate for mutual TLS."""
    if not settings.credit_client_tls_ca:
        return None

    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    return grpc.ssl_channel_credentials(read(settings.credit_client_tls_ca), read(settings.credit_client_tls_key),
                                        read(settings.credit_client_tls_cert))
