"""GET /v1/debtors/{id}/contacts: a debtor's contact history, newest first, paged, tenant-scoped."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request

from regua_contact_history import store
from regua_contact_history.schemas import ContactPage
from regua_platform import audit
from regua_platform.http import ApiError, answers
from regua_platform.privacy import keyring_of
from regua_platform.service import runtime_of
from regua_platform.tenants import TenantDep, TenantPing

router = APIRouter(prefix="/v1", tags=["contacts"])


@router.get("/debtors/{debtor_id}/contacts", response_model=None, responses=answers(ContactPage))
async def contacts(request: Request, debtor_id: UUID, tenant: TenantDep, before: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Every attempt, delivery, failure, reply, opt-out and call outcome with its template, channel, tone,
    step and outcome. Page with ``before`` = the ``next`` value of the previous page."""
    runtime = runtime_of(request)
    pool = runtime.pool
    if not await store.knows(pool, tenant.id, debtor_id):
        raise ApiError(404, "debtor_id", "no such debtor")  # another tenant's debtor looks exactly like this
    try:
        position = store.parse_cursor(before) if before else None
    except ValueError as exc:
        raise ApiError(422, "before", "not a cursor from a previous page") from exc
    items = await store.page(pool, keyring_of(runtime.extras, runtime.settings), tenant.id, debtor_id, position,
                             limit)
    await audit.read(pool, audit.key_holder(tenant), "contacts", debtor_id)
    last = items[-1] if len(items) == limit else None
    return {"debtor_id": str(debtor_id), "contacts": [{k: v for k, v in i.items() if k != "id"} for i in items],
            "next": store.cursor(last["at"], last["id"]) if last else None}


@router.get("/ping", response_model=None, responses=answers(TenantPing))
async def ping(tenant: TenantDep) -> dict[str, str]:
    """Answers 200 once this service knows the tenant's API key (tenants are replicated by event)."""
    return {"tenant_id": tenant.id}
