"""gRPC entrypoint of regua.credit.v1.CreditAnalysisService. Thin: tenant from the caller's verified token
(interceptors.AuthInterceptor), parse, call the analyst within the caller's deadline, map results and errors
to status codes.

Errors: bad input is INVALID_ARGUMENT with a google.rpc.BadRequest detail (one violation per field);
a call without a valid service token is UNAUTHENTICATED (an `x-tenant-id` header is not trusted; a caller
not allowed is PERMISSION_DENIED); an unknown debtor or invoice is NOT_FOUND, exactly as when it
belongs to another tenant; offer limits on a settled or cancelled invoice are FAILED_PRECONDITION.
"""

import asyncio
import re
from collections.abc import Awaitable, Sequence
from typing import NoReturn, TypeVar
from uuid import UUID

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit import convert
from regua_credit.analysis import Analyst, InvoiceNotOpen, NotFound
from regua_credit.interceptors import CALLER_TENANT

MAX_BATCH = 10_000
_TENANT = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_DETAILS_KEY = "grpc-status-details-bin"  # where the rich google.rpc.Status travels (grpcio-status reads it)
T = TypeVar("T")


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, message: str,
                 violations: Sequence[tuple[str, str]] = ()) -> NoReturn:
    details = []
    if violations:
        bad = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations])
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    await context.abort(code, message, trailing_metadata=((_DETAILS_KEY, status.SerializeToString()),))
    raise AssertionError("abort returned")  # context.abort always raises


async def _invalid(context: grpc.aio.ServicerContext, violations: Sequence[tuple[str, str]]) -> NoReturn:
    await _abort(context, grpc.StatusCode.INVALID_ARGUMENT,
                 "; ".join(f"{f}: {d}" for f, d in violations), violations)


async def _tenant(context: grpc.aio.ServicerContext) -> str:
    tenant = CALLER_TENANT.get()
    if tenant is None:  # no AuthInterceptor ran: never serve a call without a verified caller
        await _abort(context, grpc.StatusCode.UNAUTHENTICATED, "a service token is required")
    if not _TENANT.match(tenant):
        await _invalid(context, [("tenant", "must be 1-64 letters, digits, '_', '-' or '.'")])
    return tenant


def _uuid(field: str, value: str, violations: list[tuple[str, str]]) -> UUID | None:
    if not value:
        violations.append((field, "is required"))
        return None
    try:
        return UUID(value)
    except ValueError:
        violations.append((field, "must be a UUID"))
        return None


async def _within_deadline(context: grpc.aio.ServicerContext, work: Awaitable[T]) -> T:
    """Stops working for a caller who has stopped waiting."""
    remaining = context.time_remaining()
    try:
        async with asyncio.timeout(remaining):
            return await work
    except TimeoutError:
        await _abort(context, grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")


class CreditAnalysisService(pb_grpc.CreditAnalysisServiceServicer):
    def __init__(self, analyst: Analyst) -> None:
        self._analyst = analyst

    async def GetDebtorProfile(self, request: pb.GetDebtorProfileRequest,
                               context: grpc.aio.ServicerContext) -> pb.GetDebtorProfileResponse:
        tenant = await _tenant(context)
        violations: list[tuple[str, str]] = []
        debtor_id = _uuid("debtor_id", request.debtor_id, violations)
        if debtor_id is None:
            await _invalid(context, violations)
        profiles = await _within_deadline(context, self._analyst.profiles(tenant, [debtor_id]))
        if debtor_id not in profiles:
            await _abort(context, grpc.StatusCode.NOT_FOUND, "debtor_id: no such debtor")
        return pb.GetDebtorProfileResponse(profile=convert.profile(profiles[debtor_id]))

    async def BatchGetDebtorProfiles(self, request: pb.BatchGetDebtorProfilesRequest,
                                     context: grpc.aio.ServicerContext) -> pb.BatchGetDebtorProfilesResponse:
        tenant = await _tenant(context)
        violations: list[tuple[str, str]] = []
        if not request.debtor_ids:
            violations.append(("debtor_ids", "at least one debtor id is required"))
        elif len(request.debtor_ids) > MAX_BATCH:
            violations.append(("debtor_ids", f"at most {MAX_BATCH} debtor ids per call"))
        ids = [_uuid(f"debtor_ids[{i}]", v, violations) for i, v in enumerate(request.debtor_ids[:MAX_BATCH])]
        if violations:
            await _invalid(context, violations[:100])
        wanted = list(dict.fromkeys(i for i in ids if i is not None))
        profiles = await _within_deadline(context, self._analyst.profiles(tenant, wanted))
        return pb.BatchGetDebtorProfilesResponse(
            profiles=[convert.profile(profiles[d]) for d in wanted if d in profiles],
            not_found_debtor_ids=[str(d) for d in wanted if d not in profiles],
        )

    async def GetOfferLimits(self, request: pb.GetOfferLimitsRequest,
                             context: grpc.aio.ServicerContext) -> pb.GetOfferLimitsResponse:
        tenant = await _tenant(context)
        violations: list[tuple[str, str]] = []
        debtor_id = _uuid("debtor_id", request.debtor_id, violations)
        invoice_id = _uuid("invoice_id", request.invoice_id, violations)
        if debtor_id is None or invoice_id is None:
            await _invalid(context, violations)
        try:
            limits = await _within_deadline(context, self._analyst.offer_limits(tenant, debtor_id, invoice_id))
        except NotFound as exc:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"{exc.field}: {exc}")
        except InvoiceNotOpen as exc:
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return convert.offer_limits(limits)

