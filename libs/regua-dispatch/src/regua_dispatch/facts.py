"""The facts a dispatcher holds about debtors (opt-outs per channel, invalid contacts) and the compliance
gate at send time. The ruler ran the gate when it emitted the command; the dispatcher runs the same gate
(regua_compliance.evaluate) again for what may have changed since: an opt-out or an invalid contact that
it learnt from a reply, a receipt or another service's event (kept in step from regua.contacts.v1)."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, TypeAdapter

from regua_compliance import ContactPolicy, DebtorFacts, evaluate
from regua_contracts import topics
from regua_contracts.contacts import (
    CONTACT_EVENT,
    AnyContactEvent,
    CallOutcomeRecorded,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
)
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime

CONTACT_OF = {"email": "email", "sms": "phone", "whatsapp": "phone", "phone": "phone"}
DebtorKey = tuple[str, UUID]


async def record_opt_out(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, channel: str,
                         source: str) -> bool:
    """True when this is a new opt-out."""
    return bool(await conn.fetchval(
        "INSERT INTO contact_opt_outs (tenant_id, debtor_id, channel, source) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING RETURNING true", tenant_id, debtor_id, channel, source,
    ))


async def record_invalid(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, contact: str,
                         reason: str) -> bool:
    """True when the contact was not known to be invalid yet."""
    return bool(await conn.fetchval(
        "INSERT INTO invalid_contacts (tenant_id, debtor_id, contact, reason) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING RETURNING true", tenant_id, debtor_id, contact, reason,
    ))


async def load(conn: asyncpg.Connection, keys: Iterable[DebtorKey],
               states: dict[DebtorKey, str | None] | None = None) -> dict[DebtorKey, DebtorFacts]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    tenants, debtors = [k[0] for k in wanted], [k[1] for k in wanted]
    join = "JOIN unnest($1::text[], $2::uuid[]) AS k(t, d) ON x.tenant_id = k.t AND x.debtor_id = k.d"
    opted: dict[DebtorKey, set[str]] = {}
    invalid: dict[DebtorKey, set[str]] = {}
    for r in await conn.fetch(f"SELECT x.tenant_id, x.debtor_id, x.channel FROM contact_opt_outs x {join}",
                              tenants, debtors):
        opted.setdefault((r["tenant_id"], r["debtor_id"]), set()).add(r["channel"])
    for r in await conn.fetch(f"SELECT x.tenant_id, x.debtor_id, x.contact FROM invalid_contacts x {join}",
                              tenants, debtors):
        invalid.setdefault((r["tenant_id"], r["debtor_id"]), set()).add(r["contact"])
    states = states or {}
    return {k: DebtorFacts(state=states.get(k), opted_out=frozenset(opted.get(k, ())),
                           invalid_contacts=frozenset(invalid.get(k, ()))) for k in wanted}


_LABEL = {"email": "e-mail", "sms": "SMS", "whatsapp": "WhatsApp", "phone": "calls"}


def send_time_block(channel: str, at: datetime, facts: DebtorFacts, policy: ContactPolicy) -> str | None:
    """Why the message must not go out, or None. Timing rules (hours, intervals) were applied by the
    ruler when it scheduled the contact: a decision that only postpones does not hold the message here."""
    decision = evaluate(channel, at, facts, policy)
    if decision.allowed or decision.retry_at is not None:
        return None
    if decision.rule == "opt-out":
        return f"opted out of {_LABEL[channel]}"
    if decision.rule == "invalid-contact":
        return f"invalid {CONTACT_OF[channel]}"
    return decision.rule


def learnt(event: AnyContactEvent, channel: str) -> tuple[str, str, str] | None:
    """What a contact event teaches a dispatcher of ``channel``: ("opt-out", channel, source) or
    ("invalid", contact, reason); None when it does not concern it."""
    mine = CONTACT_OF[channel]
    if isinstance(event, ContactOptedOut) and event.channel == channel:
        return ("opt-out", channel, event.source)
    if isinstance(event, ContactInvalidated) and event.contact == mine:
        return ("invalid", mine, event.reason)
    if isinstance(event, ContactFailed) and event.contact_invalid and CONTACT_OF.get(event.channel) == mine:
        return ("invalid", mine, event.reason)
    if isinstance(event, CallOutcomeRecorded) and event.outcome == "wrong_number" and mine == "phone":
        return ("invalid", mine, "wrong number (call)")
    return None


class _Kind(BaseModel):
    """Just the type of a contact event: most of them (attempts, deliveries) teach a dispatcher nothing,
    and the topic carries every dispatcher's own events, so only the few that matter are parsed whole."""

    model_config = ConfigDict(extra="ignore")
    type: str


_TEACHING = {"contact.opted-out.v1", "contact.invalidated.v1", "contact.failed.v1", "call.outcome-recorded.v1"}


def install_contact_facts(runtime: Runtime, channel: str) -> None:
    """Keeps this dispatcher's opt-outs and invalid contacts in step with regua.contacts.v1."""
    consumer = f"dispatch-{channel}-contact-facts"

    async def handle(deliveries: list[Delivery[_Kind]]) -> list[Rejection]:
        found: list[AnyContactEvent] = [CONTACT_EVENT.validate_json(d.record.value or b"")
                                        for d in deliveries if d.event.type in _TEACHING]
        relevant = [(e, fact) for e in found if (fact := learnt(e, channel)) is not None]
        if not relevant:
            return []
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, consumer, [e.event_id for e, _ in relevant])
            for e, (kind, what, why) in relevant:
                if e.event_id not in fresh:
                    continue
                debtor_id: UUID = e.debtor_id
                if kind == "opt-out":
                    await record_opt_out(conn, e.tenant_id, debtor_id, what, why)
                else:
                    await record_invalid(conn, e.tenant_id, debtor_id, what, why)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id=consumer,
              adapter=TypeAdapter(_Kind), handler=handle)
