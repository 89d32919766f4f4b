"""HTTP routes for operators: a tenant's negotiation policy (the gRPC API is in rpc.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from regua_credit import store
from regua_credit.offers import NegotiationPolicy
from regua_credit.schemas import TenantPolicy
from regua_platform.http import ApiError, answers
from regua_platform.service import runtime_of
from regua_platform.staff import require_admin_token

router = APIRouter(prefix="/admin/tenants/{tenant_id}/negotiation-policy", tags=["negotiation policy"])
AdminToken = Annotated[str | None, Header()]


def _authorize(request: Request, token: str | None) -> None:
    require_admin_token(request, token)


@router.get("", response_model=None, responses=answers(TenantPolicy))
async def get_policy(request: Request, tenant_id: str, x_admin_token: AdminToken = None) -> dict[str, Any]:
    _authorize(request, x_admin_token)
    policy, version = await store.policy(runtime_of(request).pool, tenant_id)
    return {"tenant_id": tenant_id, "version": version, "policy": policy.model_dump()}


@router.put("", response_model=None, responses=answers(TenantPolicy))
async def put_policy(request: Request, tenant_id: str, x_admin_token: AdminToken = None) -> dict[str, Any]:
    """Replaces the tenant's policy (fields left out take the defaults); offers use it at once."""
    _authorize(request, x_admin_token)
    try:
        policy = NegotiationPolicy.model_validate_json(await request.body())
    except ValidationError as exc:
        raise ApiError.invalid(exc) from exc
    version = await store.save_policy(runtime_of(request).pool, tenant_id, policy)
    return {"tenant_id": tenant_id, "version": version, "policy": policy.model_dump()}
