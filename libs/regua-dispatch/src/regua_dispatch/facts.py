"""The facts a dispatcher holds about debtors (opt-outs per channel, invalid contacts) and the compliance
gate at send time. The ruler ran the gate when it emitted the command; the dispatcher runs the same gate
(regua_compliance.evaluate) again for what may have changed since: an opt-out or an invalid contact that
it learnt from a reply, a receipt or another service's event (kept in step from regua.contacts.v1)."""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator

from regua_compliance import ContactPolicy, DebtorFacts, evaluate
from regua_contracts import topics
from regua_contracts.common import is_mobile
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    CONTACT_EVENT,
    CONTACT_EVENT_TYPES,
    AnyContactEvent,
    CallOutcomeRecorded,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
    ContactRequested,
    Recipient,
)
from regua_dispatch.phones import phone_key
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime

CONTACT_OF = {"email": "email", "sms": "phone", "whatsapp": "phone", "phone": "phone"}
DebtorKey = tuple[str, UUID]
#: One-off steps answering the debtor's own request for offers (the ruler's ANSWER_PREFIX).
ANSWER_PREFIX = "answer:"
#: Only mobiles receive SMS and WhatsApp.
MOBILE_ONLY = frozenset({"sms", "whatsapp"})
NOT_A_MOBILE = "not a mobile number"


def address_hash(contact: str, address: str) -> str:
    """A keyed hash of an address (never kept in clear): the same phone however it is written, the same
    e-mail whatever its case."""
    normal = phone_key(address) if contact == "phone" else address.strip().casefold()
    return hashlib.sha256(f"regua-address:{contact}:{normal}".encode()).hexdigest()


def address_of(recipient: Recipient, contact: str) -> str | None:
    return recipient.phone if contact == "phone" else recipient.email


async def remember(conn: asyncpg.Connection, tenant_id: str, recipients: Sequence[Recipient]) -> None:
    """Who each debtor is (person, hashed addresses), as the latest command says."""
    latest = {r.debtor_id: r for r in recipients}
    if not latest:
        return
    rs = list(latest.values())
    await conn.execute(
        "INSERT INTO debtor_identities (tenant_id, debtor_id, person_id, phone_hash, email_hash) "
        "SELECT $1, d, p, ph, eh FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS u(d, p, ph, eh) "
        "ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET person_id = coalesce(EXCLUDED.person_id, "
        "debtor_identities.person_id), phone_hash = coalesce(EXCLUDED.phone_hash, debtor_identities.phone_hash), "
        "email_hash = coalesce(EXCLUDED.email_hash, debtor_identities.email_hash)",
        tenant_id, [r.debtor_id for r in rs], [r.person_id for r in rs],
        [address_hash("phone", r.phone) if r.phone else None for r in rs],
        [address_hash("email", r.email) if r.email else None for r in rs])


async def record_opt_out(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, channel: str,
                         source: str, scope: str = "creditor") -> bool:
    """True when this is a new opt-out. An agency-wide one widens a creditor's opt-out already recorded."""
    if await conn.fetchval(
        "INSERT INTO contact_opt_outs (tenant_id, debtor_id, channel, source, scope) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT DO NOTHING RETURNING true", tenant_id, debtor_id, channel, source, scope,
    ):
        return True
    if scope == "agency":
        await conn.execute("UPDATE contact_opt_outs SET scope = 'agency' WHERE tenant_id = $1 AND debtor_id = $2 "
                           "AND channel = $3", tenant_id, debtor_id, channel)
    return False


async def record_invalid(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, contact: str,
                         reason: str, address: str | None = None) -> bool:
    """True when the contact was not known to be invalid yet for this debtor. The address itself is marked
    invalid too (for every creditor): the one given, else the one this dispatcher last saw for the debtor."""
    fresh = bool(await conn.fetchval(
        "INSERT INTO invalid_contacts (tenant_id, debtor_id, contact, reason) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING RETURNING true", tenant_id, debtor_id, contact, reason,
    ))
    if address is not None:
        hashed: str | None = address_hash(contact, address)
    else:
        hashed = await conn.fetchval(
            f"SELECT {'phone_hash' if contact == 'phone' else 'email_hash'} FROM debtor_identities "
            "WHERE tenant_id = $1 AND debtor_id = $2", tenant_id, debtor_id)
    if hashed is not None:
        await conn.execute("INSERT INTO invalid_addresses (contact, address_hash, reason) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING", contact, hashed, reason)
    return fresh


async def load(conn: asyncpg.Connection, keys: Iterable[DebtorKey],
               recipients: dict[DebtorKey, Recipient] | None = None) -> dict[DebtorKey, DebtorFacts]:
    """The gate's facts per debtor: opt-outs (the creditor's, and agency-wide ones of the same person),
    invalid contacts (the debtor's, and the recipient's addresses known invalid for any creditor), and the
    address that places the debtor in a time zone."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    recipients = recipients or {}
    tenants, debtors = [k[0] for k in wanted], [k[1] for k in wanted]
    persons = [(recipients[k].person_id if k in recipients else None) for k in wanted]
    join = "JOIN unnest($1::text[], $2::uuid[]) AS k(t, d) ON x.tenant_id = k.t AND x.debtor_id = k.d"
    opted: dict[DebtorKey, set[str]] = {}
    invalid: dict[DebtorKey, set[str]] = {}
    for r in await conn.fetch(f"SELECT x.tenant_id, x.debtor_id, x.channel FROM contact_opt_outs x {join}",
                              tenants, debtors):
        opted.setdefault((r["tenant_id"], r["debtor_id"]), set()).add(r["channel"])
    # Agency-wide opt-outs of the same person, recorded for any creditor.
    for r in await conn.fetch(
            "SELECT k.t AS tenant_id, k.d AS debtor_id, x.channel FROM unnest($1::text[], $2::uuid[], $3::uuid[]) "
            "AS k(t, d, p) JOIN debtor_identities i ON i.person_id = k.p "
            "JOIN contact_opt_outs x ON x.tenant_id = i.tenant_id AND x.debtor_id = i.debtor_id "
            "WHERE k.p IS NOT NULL AND x.scope = 'agency'", tenants, debtors, persons):
        opted.setdefault((r["tenant_id"], r["debtor_id"]), set()).add(r["channel"])
    for r in await conn.fetch(f"SELECT x.tenant_id, x.debtor_id, x.contact FROM invalid_contacts x {join}",
                              tenants, debtors):
        invalid.setdefault((r["tenant_id"], r["debtor_id"]), set()).add(r["contact"])
    hashes = [(k, contact, address_hash(contact, address)) for k in wanted if k in recipients
              for contact in ("phone", "email") if (address := address_of(recipients[k], contact))]
    if hashes:
        bad = {(r["contact"], r["address_hash"]) for r in await conn.fetch(
            "SELECT contact, address_hash FROM invalid_addresses WHERE address_hash = ANY($1::text[])",
            [h for _, _, h in hashes])}
        for k, contact, h in hashes:
            if (contact, h) in bad:
                invalid.setdefault(k, set()).add(contact)
    out = {}
    for k in wanted:
        who = recipients.get(k)
        out[k] = DebtorFacts(state=who.state if who else None, opted_out=frozenset(opted.get(k, ())),
                             invalid_contacts=frozenset(invalid.get(k, ())),
                             postcode=who.postcode if who else None, city_ibge=who.city_ibge if who else None)
    return out


_LABEL = {"email": "e-mail", "sms": "SMS", "whatsapp": "WhatsApp", "phone": "calls"}


@dataclass(frozen=True)
class Verdict:
    """The send-time gate's answer: send now, hold until ``until``, or suppress (``until`` None)."""

    rule: str | None = None
    until: datetime | None = None

    @property
    def send(self) -> bool:
        return self.rule is None

    @property
    def hold(self) -> bool:
        return self.rule is not None and self.until is not None


SEND = Verdict()


def send_time(channel: str, at: datetime, facts: DebtorFacts, policy: ContactPolicy,
              command: ContactRequested) -> Verdict:
    """The compliance gate again, just before the provider call, for what may have changed since the ruler
    ran it (an opt-out, an invalid contact, a late command outside the debtor's hours). Timing rules hold
    the message until the next allowed moment; opt-outs and invalid contacts suppress it. An agreement
    confirmation answers what the debtor just did: it skips hours and intervals, nothing else. An answer to the
    debtor's own request for offers (and a thank-you) is not held by the channel interval."""
    if channel in MOBILE_ONLY and command.recipient.phone and not is_mobile(command.recipient.phone):
        return Verdict(NOT_A_MOBILE)
    answer = command.step_key.startswith(ANSWER_PREFIX) or command.template == "thank_you"
    decision = evaluate(channel, at, facts, policy, answer=answer)
    if decision.allowed:
        return SEND
    if decision.rule == "opt-out":
        return Verdict(f"opted out of {_LABEL[channel]}")
    if decision.rule == "invalid-contact":
        return Verdict(f"invalid {CONTACT_OF[channel]}")
    if command.template == AGREEMENT_TEMPLATE:
        return SEND
    return Verdict(decision.rule, decision.retry_at)


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

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        # A future version of an opt-out must be dead-lettered (and replayed after an upgrade), never skipped.
        if value not in CONTACT_EVENT_TYPES:
            raise ValueError(f"unknown contact event type {value!r}")
        return value


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
                    scope = e.scope if isinstance(e, ContactOptedOut) else "creditor"
                    await record_opt_out(conn, e.tenant_id, debtor_id, what, why, scope)
                else:
                    await record_invalid(conn, e.tenant_id, debtor_id, what, why)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id=consumer,
              adapter=TypeAdapter(_Kind), handler=handle)
