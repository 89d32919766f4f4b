"""HTTP routes every dispatcher shares: a tenant's probe, and the template registry of its channel."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from regua_dispatch import templates
from regua_dispatch.registry import TemplateRegistry
from regua_dispatch.templates import MessageTemplate, TemplateRejected
from regua_platform import audit
from regua_platform.http import ApiError, answers
from regua_platform.service import runtime_of
from regua_platform.staff import ConfigDep
from regua_platform.tenants import TenantDep, TenantPing

ping_router = APIRouter(tags=["tenants"])


class TemplateView(BaseModel):
    """A template of the tenant's (``_view``); ``provider_body`` is the body as submitted for approval."""

    name: str
    channel: str
    body: str
    provider_template: str | None
    provider_body: str
    language: str
    approved: bool


class TemplateList(BaseModel):
    templates: list[TemplateView]


class ReceiptsApplied(BaseModel):
    """A provider's webhook: how many delivery receipts changed an attempt."""

    applied: int


class MessagesReceived(BaseModel):
    """A provider's webhook: how many of the debtor's messages were new."""

    received: int


class NotificationHandled(ReceiptsApplied, MessagesReceived):
    """A webhook carrying receipts and messages together (WhatsApp)."""


@ping_router.get("/v1/ping", response_model=None, responses=answers(TenantPing))
async def ping(tenant: TenantDep) -> dict[str, str]:
    """Answers 200 once this service knows the tenant's API key (tenants are replicated by event)."""
    return {"tenant_id": tenant.id}


class TemplateIn(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=4096)]
    provider_template: Annotated[str | None, Field(max_length=512)] = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")] = "pt_BR"
    approved: bool = False


def _view(t: MessageTemplate) -> dict[str, Any]:
    return {"name": t.name, "channel": t.channel, "body": t.body, "provider_template": t.provider_template,
            "provider_body": templates.provider_body(t.body), "language": t.language, "approved": t.approved}


def templates_router() -> APIRouter:
    """PUT/GET /v1/templates: the registry in ``runtime.extras["templates"]``, tenant-scoped."""
    router = APIRouter(prefix="/v1/templates", tags=["templates"])

    def registry(request: Request) -> TemplateRegistry:
        found: TemplateRegistry = runtime_of(request).extras["templates"]
        return found

    @router.put("/{name}", response_model=None, responses=answers(TemplateView))
    async def save(request: Request, name: Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")], body: TemplateIn,
                   actor: ConfigDep) -> dict[str, Any]:
        """Saves the tenant's version of a template; one that breaks a rule is refused with 422.
        Configuration: an administration key or a supervisor's staff token (audited)."""
        reg = registry(request)
        template = MessageTemplate(name=name, channel=reg.channel, body=body.body,
                                   provider_template=body.provider_template, language=body.language,
                                   approved=body.approved)
        try:
            async with runtime_of(request).pool.acquire() as conn, conn.transaction():
                await reg.save(conn, actor.tenant.id, template)
                await audit.record(conn, actor, "template.saved", f"{reg.channel}/{name}")
        except TemplateRejected as exc:
            raise ApiError(422, exc.field, exc.reason) from exc
        return _view(template)

    @router.get("", response_model=None, responses=answers(TemplateList))
    async def list_templates(request: Request, tenant: TenantDep) -> dict[str, Any]:
        found = await registry(request).all_for(runtime_of(request).pool, tenant.id)
        return {"templates": [_view(t) for _, t in sorted(found.items())]}

    @router.get("/{name}", response_model=None, responses=answers(TemplateView))
    async def get_template(request: Request, name: str, tenant: TenantDep) -> dict[str, Any]:
        found = await registry(request).all_for(runtime_of(request).pool, tenant.id)
        if name not in found:
            raise ApiError(404, "name", "no such template")
        return _view(found[name])

    return router
