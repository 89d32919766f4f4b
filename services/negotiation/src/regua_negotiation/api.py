"""The negotiation API for client companies and their agents: the policy (versioned), a debtor's offers,
accepting one, agreements, and the debtor's self-service link."""

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from regua_contracts import topics
from regua_contracts.contacts import NegotiationRequested
from regua_negotiation import handlers, store, views
from regua_negotiation.domain.policy import NegotiationPolicy
from regua_negotiation.legal import ceilings
from regua_negotiation.schemas import (
    AgreementList,
    AgreementView,
    OfferMenu,
    OffersSent,
    PolicyView,
    SavedPolicy,
    SelfServiceLink,
)
from regua_platform import audit, outbox
from regua_platform.http import ApiError, answers, errors
from regua_platform.outbox import OutboxMessage
from regua_platform.service import runtime_of
from regua_platform.staff import ConfigDep, OperatorDep
from regua_platform.tenants import TenantDep

router = APIRouter(prefix="/v1", tags=["negotiation"])


async def _known_debtor(conn: store.Conn, tenant_id: str, debtor_id: UUID) -> None:
    """404 for a debtor this tenant never sent an invoice of (another tenant's looks the same)."""
    exists = await conn.fetchval("SELECT true FROM invoices WHERE tenant_id = $1 AND debtor_id = $2 LIMIT 1",
                                 tenant_id, debtor_id)
    if not exists:
        raise ApiError(404, "debtor_id", "no such debtor")


@router.put("/negotiation-policy", status_code=201, response_model=None, responses=answers(SavedPolicy, 201))
async def put_policy(request: Request, policy: NegotiationPolicy, actor: ConfigDep) -> dict[str, Any]:
    """Saves a new version; offers made from now on use it, agreements keep the terms they were made with.
    422 when the interest exceeds the agency's legal ceiling (REGUA_NEGOTIATION_MAX_MONTHLY_INTEREST_*), a
    consumer fine exceeds 2% or the PIX key is not in a DICT format. Configuration: an administration key or a
    supervisor's staff token (audited)."""
    if error := ceilings().interest_error(policy.interest_monthly_rate, policy.consumer):
        raise ApiError(422, "interest_monthly_rate", error)
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        version = await store.save_policy(conn, actor.tenant.id, policy)
        await audit.record(conn, actor, "negotiation-policy.saved", "negotiation-policy", detail={"version": version})
    return {"version": version}


@router.get("/negotiation-policy", response_model=None, responses=answers(PolicyView))
async def get_policy(request: Request, tenant: TenantDep) -> dict[str, Any]:
    version, policy, versions = await store.current_policy(runtime_of(request).pool, tenant.id)
    return {"version": version, "policy": policy.model_dump(mode="json"), "versions": versions}


@router.get("/debtors/{debtor_id}/offers", response_model=None, responses=answers(OfferMenu))
async def offers(request: Request, debtor_id: UUID, tenant: TenantDep) -> dict[str, Any]:
    """The debtor's current offer menu (made now if none is valid) and the updated open debts."""
    runtime = runtime_of(request)
    today, now = views.today_and_now(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        await _known_debtor(conn, tenant.id, debtor_id)
        rows = await handlers.current_offers(conn, tenant.id, debtor_id, today, now)
        await audit.read(conn, audit.key_holder(tenant), "offers", debtor_id)
        _, policy, _ = await store.current_policy(conn, tenant.id)
        debts = views.debts_view(await store.open_debts(conn, tenant.id, debtor_id), today, policy)
    return {"debtor_id": str(debtor_id), "today": today.isoformat(), "debts": debts,
            "offers": [views.offer_view(r) for r in rows]}


class SendOffers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["whatsapp", "sms", "email"] = "email"


@router.post("/debtors/{debtor_id}/offers/send", status_code=202, response_model=None,
             responses=answers(OffersSent, 202))
async def send_offers(request: Request, debtor_id: UUID, body: SendOffers, tenant: TenantDep) -> dict[str, str]:
    """An agent asks for the debtor's offers to be sent: the ruler answers on ``channel`` (or the next usable
    one) through the compliance gate, as it answers the debtor's own request."""
    runtime = runtime_of(request)
    _, now = views.today_and_now(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        await _known_debtor(conn, tenant.id, debtor_id)
        event = NegotiationRequested(occurred_at=now, tenant_id=tenant.id, debtor_id=debtor_id,
                                     channel=body.channel, source="agent")
        await outbox.add(conn, [OutboxMessage(topics.CONTACTS, str(debtor_id), event)])
    return {"request_id": str(event.event_id), "channel": body.channel}


@router.post("/offers/{offer_id}/accept", status_code=201, response_model=None,
             responses={**errors(409), **answers(AgreementView, 201)})
async def accept(request: Request, offer_id: UUID, agent: OperatorDep) -> dict[str, Any]:
    """An agent (staff token) accepts an offer on the debtor's behalf; audited."""
    runtime = runtime_of(request)
    tenant = agent.tenant
    today, now = views.today_and_now(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        try:
            agreement_id = await handlers.accept_offer(conn, tenant, offer_id, "agent", today, now)
        except handlers.InvoiceDisputed as exc:
            raise ApiError(409, "offer_id", str(exc)) from exc
        except handlers.OfferUnavailable as exc:
            raise ApiError(404 if str(exc) == "no such offer" else 409, "offer_id", str(exc)) from exc
        row = await store.agreement(conn, tenant.id, agreement_id)
        assert row is not None
        await audit.record(conn, agent, "offer.accepted", offer_id, row["debtor_id"],
                           {"agreement_id": str(agreement_id)})
        return await views.agreement_view(conn, row)


@router.get("/agreements/{agreement_id}", response_model=None, responses=answers(AgreementView))
async def get_agreement(request: Request, agreement_id: UUID, tenant: TenantDep) -> dict[str, Any]:
    pool = runtime_of(request).pool
    row = await store.agreement(pool, tenant.id, agreement_id)
    if row is None:
        raise ApiError(404, "agreement_id", "no such agreement")
    await audit.read(pool, audit.key_holder(tenant), "agreement", agreement_id)
    return await views.agreement_view(pool, row)


@router.get("/debtors/{debtor_id}/agreements", response_model=None, responses=answers(AgreementList))
async def debtor_agreements(request: Request, debtor_id: UUID, tenant: TenantDep) -> dict[str, Any]:
    pool = runtime_of(request).pool
    rows = await store.agreements_of(pool, tenant.id, debtor_id)
    await audit.read(pool, audit.key_holder(tenant), "agreements", debtor_id)
    return {"agreements": [await views.agreement_view(pool, r) for r in rows]}


@router.post("/debtors/{debtor_id}/self-service-link", status_code=201, response_model=None,
             responses=answers(SelfServiceLink, 201))
async def self_service_link(request: Request, debtor_id: UUID, tenant: TenantDep) -> dict[str, str]:
    """A signed link, expiring after the policy's link validity, to the debtor's self-service page."""
    runtime = runtime_of(request)
    await _known_debtor(runtime.pool, tenant.id, debtor_id)
    _, policy, _ = await store.current_policy(runtime.pool, tenant.id)
    _, now = views.today_and_now(runtime)
    return views.self_service_link(runtime, tenant.id, debtor_id, now, policy.link_validity_days)
