"""What providers tell us after a send: delivery receipts and the debtor's own messages. Both arrive by
webhook at least once; each is applied once (provider_receipts, inbound_messages), with its events."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_contracts.common import Event
from regua_contracts.contacts import ContactDelivered, ContactOptedOut, DebtorReplied, NegotiationRequested
from regua_dispatch import events, facts, ledger, replies
from regua_dispatch.phones import phone_key
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage

log = logging.getLogger(__name__)
WEBHOOK_ITEMS = Counter("regua_dispatch_webhook_items_total", "Receipts and inbound messages from providers",
                        ["channel", "kind", "result"])


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    status: str  # delivered, read, failed (others, e.g. 'sent', are acknowledged and ignored)
    reason: str = ""
    contact_invalid: bool = False
    # Our reference echoed back (SMS reference, WhatsApp biz_opaque_callback_data): the intent is recorded
    # before the send, so a receipt that overtakes the confirmation still finds its step.
    step_id: UUID | None = None


def step_reference(value: object) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class InboundMessage:
    provider_id: str
    phone: str
    text: str
    received_at: datetime
    in_reply_to: str | None = None  # the provider id of the message it answers, when the provider says


async def apply_receipts(conn: asyncpg.Connection, channel: str, receipts: Sequence[Receipt], at: datetime) -> int:
    """Turns receipts into contact.delivered / contact.failed (+ contact.invalidated), set-wise: providers
    post them in batches. Returns how many were new and about a known message. Any status that names a step
    (even 'sent', which emits nothing) is kept as proof that the provider has its message."""
    await ledger.note_provider_ids(conn, channel, [(r.step_id, r.provider_id) for r in receipts if r.step_id])
    wanted = {(r.provider_id, r.status): r for r in receipts if r.status in ("delivered", "read", "failed")}
    if not wanted:
        return 0
    by_step = {r["step_id"]: r for r in await ledger.by_step_ids(
        conn, channel, [r.step_id for r in wanted.values() if r.step_id is not None])}
    by_provider = {r["provider_id"]: r for r in await ledger.by_provider_ids(
        conn, channel, [k[0] for k, r in wanted.items() if r.step_id not in by_step])}
    attempts = {k[0]: by_step.get(r.step_id) or by_provider.get(k[0]) for k, r in wanted.items()}
    known = [k for k in wanted if attempts[k[0]] is not None]
    WEBHOOK_ITEMS.labels(channel, "receipt", "unknown").inc(len(wanted) - len(known))
    fresh = await conn.fetch(
        "INSERT INTO provider_receipts (provider_id, status) SELECT * FROM unnest($1::text[], $2::text[]) "
        "ON CONFLICT DO NOTHING RETURNING provider_id, status", [k[0] for k in known], [k[1] for k in known])
    WEBHOOK_ITEMS.labels(channel, "receipt", "duplicate").inc(len(known) - len(fresh))
    found: list[OutboxMessage] = []
    for row in fresh:
        r, attempt = wanted[(row["provider_id"], row["status"])], attempts[row["provider_id"]]
        assert attempt is not None
        tenant_id, debtor_id, step_id = attempt["tenant_id"], attempt["debtor_id"], attempt["step_id"]
        if r.status == "failed":
            found += events.failed(tenant_id, step_id, channel, debtor_id, r.reason, r.contact_invalid, at)
            if r.contact_invalid:
                await facts.record_invalid(conn, tenant_id, debtor_id, facts.CONTACT_OF[channel], r.reason)
        else:
            found.append(events.contact_fact(ContactDelivered(
                occurred_at=at, tenant_id=tenant_id, step_id=step_id, channel=channel, debtor_id=debtor_id,
                status=r.status), debtor_id))
        WEBHOOK_ITEMS.labels(channel, "receipt", r.status).inc()
    await outbox.add(conn, found)
    return len(fresh)


async def receive(conn: asyncpg.Connection, channel: str, message: InboundMessage,
                  at: datetime) -> replies.Intent | None:
    """A debtor's message: debtor.replied, and at once an opt-out ("SAIR") or a negotiation request. An offer's
    reply code ("ACORDO 2") is debtor.replied alone: negotiation accepts the offer from it. It answers the
    message it quotes, else the last one sent to that number on this channel. Returns the reply's intent, or
    None for a duplicate or a number we never wrote to."""
    fresh = await conn.fetchval(
        "INSERT INTO inbound_messages (provider_id, channel, received_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING true", message.provider_id, channel, message.received_at)
    if not fresh:
        WEBHOOK_ITEMS.labels(channel, "message", "duplicate").inc()
        return None
    quoted = await ledger.by_provider_id(conn, channel, message.in_reply_to) if message.in_reply_to else None
    attempt = quoted or await ledger.latest_to(conn, channel, phone_key(message.phone))
    if attempt is None:
        WEBHOOK_ITEMS.labels(channel, "message", "unknown").inc()
        log.info("a message from a number never written to", extra={"channel": channel})
        return None
    tenant_id, debtor_id = attempt["tenant_id"], attempt["debtor_id"]
    kind = replies.intent(message.text)
    await conn.execute("UPDATE inbound_messages SET tenant_id = $2, debtor_id = $3, intent = $4 "
                       "WHERE provider_id = $1", message.provider_id, tenant_id, debtor_id, kind)
    await conn.execute(
        "INSERT INTO conversations (tenant_id, debtor_id, channel, last_inbound_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (tenant_id, debtor_id, channel) DO UPDATE "
        "SET last_inbound_at = greatest(conversations.last_inbound_at, $4)",
        tenant_id, debtor_id, channel, message.received_at)
    found: list[Event] = [DebtorReplied(occurred_at=at, tenant_id=tenant_id, debtor_id=debtor_id, channel=channel,
                                        text=message.text, received_at=message.received_at)]
    if kind == "opt-out" and await facts.record_opt_out(conn, tenant_id, debtor_id, channel, "reply"):
        found.append(ContactOptedOut(occurred_at=at, tenant_id=tenant_id, debtor_id=debtor_id, channel=channel,
                                     source="reply"))
    elif kind == "negotiate":
        found.append(NegotiationRequested(occurred_at=at, tenant_id=tenant_id, debtor_id=debtor_id, channel=channel,
                                          source="reply"))
    await outbox.add(conn, [events.contact_fact(e, debtor_id) for e in found])
    WEBHOOK_ITEMS.labels(channel, "message", kind).inc()
    return kind


async def last_inbound(conn: asyncpg.Connection, channel: str,
                       keys: Sequence[tuple[str, object]]) -> dict[tuple[str, object], datetime]:
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT c.tenant_id, c.debtor_id, c.last_inbound_at FROM conversations c "
        "JOIN unnest($2::text[], $3::uuid[]) AS k(t, d) ON c.tenant_id = k.t AND c.debtor_id = k.d "
        "WHERE c.channel = $1", channel, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["tenant_id"], r["debtor_id"]): r["last_inbound_at"] for r in rows}
