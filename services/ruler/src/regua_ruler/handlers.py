"""Ruler use cases: open a case, stop it on payment or cancellation, fire due steps. Each writes its state
and the events it causes in the caller's transaction (outbox)."""

import json
from datetime import datetime

import asyncpg
from prometheus_client import Counter

from regua_contracts import topics
from regua_contracts.cases import CaseExhausted, CaseOpened, CaseStopped
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage
from regua_ruler import store
from regua_ruler.domain import Schedule, is_too_late, plan_case, step_id, thank_you_channel

STEPS_FIRED = Counter("regua_ruler_steps_fired_total", "Ruler steps turned into contact commands", ["step", "channel"])
STEPS_SKIPPED = Counter("regua_ruler_steps_skipped_total", "Due ruler steps skipped", ["reason"])
CASES_CLOSED = Counter("regua_ruler_cases_closed_total", "Cases stopped or exhausted", ["reason"])


async def open_case(conn: asyncpg.Connection, event: InvoiceRegistered, now: datetime, schedule: Schedule) -> None:
    inv = event.invoice
    ruler, version = await store.current_ruler(conn, event.tenant_id, "default")
    steps = plan_case(ruler, invoice_id=event.invoice_id, due=inv.due_date, amount_cents=inv.amount_cents,
                      email=inv.debtor.email, phone=inv.debtor.phone, opened_at=now, schedule=schedule)
    recipient = Recipient(debtor_id=event.debtor_id, name=inv.debtor.name, email=inv.debtor.email,
                          phone=inv.debtor.phone, state=inv.debtor.state)
    summary = InvoiceSummary(invoice_id=event.invoice_id, external_id=inv.external_id,
                             amount_cents=inv.amount_cents, due_date=inv.due_date)
    opened = await store.insert_case(
        conn, invoice_id=event.invoice_id, tenant_id=event.tenant_id, debtor_id=event.debtor_id,
        ruler=ruler.name, version=version, recipient=recipient.model_dump_json(),
        creditor=event.creditor.model_dump_json(), invoice=summary.model_dump_json(), opened_at=now, steps=steps,
    )
    if opened:
        await outbox.add(conn, [OutboxMessage(topics.CASES, str(event.invoice_id), CaseOpened(
            occurred_at=now, tenant_id=event.tenant_id, invoice_id=event.invoice_id, debtor_id=event.debtor_id,
            ruler=ruler.name, ruler_version=version, planned_steps=sum(s.status == "pending" for s in steps),
        ))])


async def close_case(conn: asyncpg.Connection, event: PaymentRecorded | InvoiceCancelled, now: datetime) -> None:
    """A payment that settles the invoice, or a cancellation, stops every pending step at once.
    A settled invoice earns the debtor a thank-you."""
    if isinstance(event, PaymentRecorded) and event.outstanding_cents > 0:
        return  # partial payment: collection goes on for the rest
    reason = "paid" if isinstance(event, PaymentRecorded) else "cancelled"
    closed = await store.close_case(conn, event.invoice_id, reason, now)
    if closed is None:
        return
    case, cancelled = closed
    CASES_CLOSED.labels(reason).inc()
    messages = [OutboxMessage(topics.CASES, str(event.invoice_id), CaseStopped(
        occurred_at=now, tenant_id=event.tenant_id, invoice_id=event.invoice_id, debtor_id=event.debtor_id,
        reason=reason, cancelled_steps=cancelled,
    ))]
    recipient = Recipient.model_validate_json(case["recipient"])
    channel = thank_you_channel(recipient.email, recipient.phone)
    if reason == "paid" and channel:
        messages.append(OutboxMessage(topics.contact_commands(channel), str(event.debtor_id), ContactRequested(
            occurred_at=now, tenant_id=event.tenant_id, step_id=step_id(event.invoice_id, "thank-you", channel),
            step_key="thank-you", channel=channel, template="thank_you", tone="friendly", recipient=recipient,
            creditor=Creditor.model_validate_json(case["creditor"]),
            invoices=[InvoiceSummary.model_validate_json(case["invoice"])], scheduled_for=now,
        )))
    await outbox.add(conn, messages)


async def fire_due_steps(pool: asyncpg.Pool, now: datetime, schedule: Schedule, limit: int) -> int:
    """Turns due steps into contact commands in one transaction; returns how many steps it claimed."""
    async with pool.acquire() as conn, conn.transaction():
        due = await store.claim_due_steps(conn, now, limit)
        if not due:
            return 0
        late = [r for r in due if is_too_late(r["fire_at"], now, schedule)]
        fire = [r for r in due if not is_too_late(r["fire_at"], now, schedule)]
        if late:
            await store.mark_steps(conn, [r["step_id"] for r in late], "skipped", now, "late beyond grace")
            STEPS_SKIPPED.labels("late").inc(len(late))
        await store.mark_steps(conn, [r["step_id"] for r in fire], "fired", now)
        await outbox.add(conn, [_contact_command(r, now) for r in fire])
        exhausted = await store.exhaust_finished_cases(conn, list({r["invoice_id"] for r in due}), now)
        await outbox.add(conn, [OutboxMessage(topics.CASES, str(c["invoice_id"]), CaseExhausted(
            occurred_at=now, tenant_id=c["tenant_id"], invoice_id=c["invoice_id"], debtor_id=c["debtor_id"],
        )) for c in exhausted])
    for r in fire:
        STEPS_FIRED.labels(r["step_key"], r["channel"]).inc()
    CASES_CLOSED.labels("exhausted").inc(len(exhausted))
    return len(due)


def _contact_command(row: asyncpg.Record, now: datetime) -> OutboxMessage:
    recipient = Recipient.model_validate(json.loads(row["recipient"]))
    command = ContactRequested(
        occurred_at=now, tenant_id=row["tenant_id"], step_id=row["step_id"], step_key=row["step_key"],
        channel=row["channel"], template=row["template"], tone=row["tone"], recipient=recipient,
        creditor=Creditor.model_validate_json(row["creditor"]),
        invoices=[InvoiceSummary.model_validate_json(row["invoice"])], scheduled_for=row["fire_at"],
    )
    return OutboxMessage(topics.contact_commands(row["channel"]), str(recipient.debtor_id), command)

