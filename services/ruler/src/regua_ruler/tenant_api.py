"""The ruler's API for client companies: rulers as data (versioned), their champion/challenger
performance, a case's plan, and disputes that pause collection of an invoice."""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from regua_platform import audit
from regua_platform.errors import field_errors
from regua_platform.http import ApiError, answers, errors
from regua_platform.service import runtime_of
from regua_platform.staff import ConfigDep, OperatorDep
from regua_platform.tenants import TenantDep
from regua_ruler import handlers, migration
from regua_ruler.domain import rulers as rulers_domain
from regua_ruler.domain.rulers import parse_ruler
from regua_ruler.schemas import (
    CaseView,
    DisputeAnswered,
    DisputeOpened,
    MigratedCases,
    RulerPerformance,
    RulerView,
    SavedRuler,
)
from regua_ruler.store import cases, rulers

router = APIRouter(prefix="/v1", tags=["rulers"])


@router.put("/rulers/{name}", status_code=201, response_model=None, responses=answers(SavedRuler, 201),
            openapi_extra={"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}})
async def put_ruler(request: Request, name: str, actor: ConfigDep) -> dict[str, Any]:
    """Saves a new version of a ruler, written in YAML or JSON. Cases already open keep their version.
    Configuration: an administration key or a supervisor's staff token (audited)."""
    tenant = actor.tenant
    body = await request.body()
    try:
        ruler = parse_ruler(body, request.headers.get("content-type", ""))
    except ValidationError as exc:
        error = ApiError(422, "", "")
        error.errors = field_errors(exc)
        raise error from exc
    except ValueError as exc:
        raise ApiError(422, "(body)", str(exc)) from exc
    if ruler.name != name:
        raise ApiError(422, "name", f"must be {name!r}, the name in the URL")
    pool = runtime_of(request).pool
    async with pool.acquire() as conn, conn.transaction():
        for segment in ruler.segments:
            if segment.challenger and not await rulers.ruler_version(conn, tenant.id, name, segment.challenger.version):
                raise ApiError(422, f"segments.{segment.name}.challenger.version",
                               f"version {segment.challenger.version} of ruler {name!r} does not exist")
        version = await rulers.save_ruler(conn, tenant.id, ruler, body.decode())
        await audit.record(conn, actor, "ruler.saved", name, detail={"version": version})
    return {"name": name, "version": version}


@router.get("/rulers/{name}", response_model=None, responses=answers(RulerView))
async def get_ruler(request: Request, name: str, tenant: TenantDep) -> dict[str, Any]:
    pool = runtime_of(request).pool
    if name == handlers.RULER_NAME:
        async with pool.acquire() as conn:
            await rulers.current_ruler(conn, tenant.id, name)  # a tenant's default exists from the first look
    listed = await rulers.versions(pool, tenant.id, name)
    if not listed:
        raise ApiError(404, "name", "no such ruler")
    latest = listed[-1]
    current = await rulers.ruler_version(pool, tenant.id, name, latest["version"])
    return {"name": name, "version": latest["version"], "definition": current.model_dump() if current else None,
            "source": latest["source"], "versions": [{"version": r["version"], "created_at": r["created_at"]}
                                                      for r in listed]}


@router.get("/rulers/{name}/performance", response_model=None, responses=answers(RulerPerformance))
async def performance(request: Request, name: str, tenant: TenantDep) -> dict[str, Any]:
    """Per variant: cases, contacts sent, payments, recovered amount and recovery rate."""
    rows = await cases.performance(runtime_of(request).pool, tenant.id, name)
    return {"ruler": name, "variants": [{
        "variant": r["variant"], "cases": r["cases"], "contacts_sent": r["contacts_sent"],
        "payments": r["payments"], "recovered_cents": r["recovered_cents"],
        "recovery_rate": round(r["recovered_cents"] / r["amount_cents"], 4) if r["amount_cents"] else 0.0,
    } for r in rows]}


class Migrate(BaseModel):
    to_version: Annotated[int | None, Field(ge=1, le=rulers_domain.MAX_VERSION)] = None


@router.post("/rulers/{name}/migrate", response_model=None, responses=answers(MigratedCases))
async def migrate_cases(request: Request, name: str, body: Migrate, actor: ConfigDep) -> dict[str, Any]:
    """Moves the tenant's open cases of this ruler to a version (default: the newest): steps not yet sent
    are re-planned from it; steps already sent stay sent."""
    runtime = runtime_of(request)
    moved = await migration.migrate_cases(runtime.pool, actor, name, body.to_version,
                                          runtime.extras["clock"].now(), runtime.extras["schedule"])
    if moved is None:
        raise ApiError(404, "to_version", "no such ruler version")
    return {"ruler": name, "version": moved[0], "cases_migrated": moved[1]}


@router.get("/invoices/{invoice_id}/case", tags=["cases"], response_model=None, responses=answers(CaseView))
async def get_case(request: Request, invoice_id: UUID, tenant: TenantDep) -> dict[str, Any]:
    pool = runtime_of(request).pool
    case = await cases.case_of(pool, tenant.id, invoice_id)
    if case is None:
        raise ApiError(404, "invoice_id", "no case for this invoice")
    pauses = [dict(p) for p in await cases.pauses_of(pool, invoice_id)]
    latest = pauses[-1] if pauses else {}
    return {**dict(case), "pause_reasons": pauses,
            # The most recent reason alone, for clients written when a case had one.
            "pause_reason": latest.get("reason"), "paused_until": latest.get("until"),
            "steps": [dict(s) for s in await cases.steps_of(pool, invoice_id)]}


class DisputeIn(BaseModel):
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class DisputeAnswer(BaseModel):
    outcome: Literal["upheld", "rejected"]


@router.post("/invoices/{invoice_id}/disputes", status_code=201, tags=["cases"], response_model=None,
             responses={**errors(409), **answers(DisputeOpened, 201)})
async def open_dispute(request: Request, invoice_id: UUID, body: DisputeIn, tenant: TenantDep) -> dict[str, Any]:
    """'Não reconheço esta dívida': collection of this invoice pauses until the creditor answers."""
    runtime = runtime_of(request)
    case = await cases.case_of(runtime.pool, tenant.id, invoice_id)
    if case is None:
        raise ApiError(404, "invoice_id", "no case for this invoice")
    async with runtime.pool.acquire() as conn, conn.transaction():
        paused = await handlers.pause(conn, tenant.id, case_debtor(case), [invoice_id], "dispute", None,
                                      runtime.extras["clock"].now())
    if not paused:
        raise ApiError(409, "status", f"the case is {case['status']}")
    return {"invoice_id": str(invoice_id), "status": "paused", "reason": "dispute"}


@router.post("/invoices/{invoice_id}/disputes/answer", tags=["cases"], response_model=None,
             responses={**errors(409), **answers(DisputeAnswered)})
async def answer_dispute(request: Request, invoice_id: UUID, body: DisputeAnswer,
                         operator: OperatorDep) -> dict[str, Any]:
    """Upheld: the debt is not owed, collection stops. Rejected: the dispute no longer holds the case; it
    resumes unless another reason (a promise, an agreement) still pauses it. An operator action (staff
    token), audited."""
    runtime = runtime_of(request)
    tenant = operator.tenant
    case = await cases.case_of(runtime.pool, tenant.id, invoice_id)
    if case is None or "dispute" not in [p["reason"] for p in await cases.pauses_of(runtime.pool, invoice_id)]:
        raise ApiError(409, "invoice_id", "no open dispute for this invoice")
    now = runtime.extras["clock"].now()
    async with runtime.pool.acquire() as conn, conn.transaction():
        if body.outcome == "upheld":
            await handlers.stop_case(conn, tenant.id, invoice_id, case_debtor(case), "dispute-upheld", now)
            status = "stopped"
        else:
            lifted = await handlers.lift_pause(conn, [invoice_id], "dispute", now)
            status = lifted[0].status if lifted else case["status"]
        await audit.record(conn, operator, "dispute.answered", invoice_id, case_debtor(case),
                           {"outcome": body.outcome})
    return {"invoice_id": str(invoice_id), "status": status}


def case_debtor(case: Any) -> UUID:
    debtor: UUID = case["debtor_id"]
    return debtor
