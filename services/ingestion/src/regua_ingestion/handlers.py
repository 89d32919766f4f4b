"""Ingestion commands: each loads, lets the domain decide, and saves state plus its event in one transaction.
Callers own the transaction (HTTP request or Kafka batch)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from regua_contracts import topics
from regua_contracts.common import NewInvoice
from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_ingestion import store
from regua_ingestion.domain import Invoice, debtor_id_for
from regua_platform import outbox, pii
from regua_platform.outbox import OutboxMessage
from regua_platform.pii import Keyring
from regua_platform.tenants import Tenant

_PAYMENT_NS = uuid.UUID("0b8e3c55-2d51-4b6c-8f3e-7f1f2f7e4a21")


@dataclass(frozen=True)
class Registered:
    invoice_id: UUID
    external_id: str
    created: bool


def _now() -> datetime:
    return datetime.now(UTC)


async def register_invoices(conn: asyncpg.Connection, keyring: Keyring, tenant: Tenant,
                            invoices: list[NewInvoice]) -> list[Registered]:
    """Registers new invoices; an external_id already registered keeps its first version. The debtor is
    stored encrypted under the person's data key."""
    persons = await store.person_ids(conn, keyring, [inv.debtor.document for inv in invoices])
    keys = await pii.data_keys(conn, keyring, {store.person_subject(p) for p in persons.values()}, create=True)
    rows = [(uuid.uuid4(), debtor_id_for(tenant.id, inv.debtor.document), persons[inv.debtor.document], inv)
            for inv in invoices]
    inserted = await store.insert_invoices(conn, tenant.id, rows, keys)
    now = _now()
    await outbox.add(conn, [
        OutboxMessage(topics.INVOICES, str(invoice_id), InvoiceRegistered(
            occurred_at=now, tenant_id=tenant.id, invoice_id=invoice_id, debtor_id=debtor_id,
            creditor=tenant.creditor, invoice=inv, person_id=persons[inv.debtor.document],
        ))
        for invoice_id, debtor_id, _, inv in rows if invoice_id in inserted
    ])
    # One query for every invoice that was there already (a re-sent portfolio is all repeats).
    repeated = [inv.external_id for invoice_id, _, _, inv in rows if invoice_id not in inserted]
    existing = await store.invoice_ids(conn, tenant.id, repeated) if repeated else {}
    return [Registered(invoice_id, inv.external_id, True) if invoice_id in inserted
            else Registered(existing[inv.external_id], inv.external_id, False)
            for invoice_id, _, _, inv in rows]


async def record_payment(conn: asyncpg.Connection, tenant: Tenant, invoice: Invoice, amount_cents: int,
                         paid_at: datetime, payment_key: str) -> None:
    """``invoice`` must have been loaded FOR UPDATE in this transaction. Raises the domain's errors."""
    outstanding = invoice.record_payment(amount_cents, paid_at)
    payment_id = uuid.uuid5(_PAYMENT_NS, f"{invoice.id}:{payment_key}")
    await store.insert_payment(conn, payment_id, invoice.id, amount_cents, paid_at)
    await store.save_invoice(conn, invoice)
    await outbox.add(conn, [OutboxMessage(topics.INVOICES, str(invoice.id), PaymentRecorded(
        occurred_at=_now(), tenant_id=tenant.id, invoice_id=invoice.id, debtor_id=invoice.debtor_id,
        amount_cents=amount_cents, paid_at=paid_at, outstanding_cents=outstanding,
    ))])


async def cancel_invoice(conn: asyncpg.Connection, tenant: Tenant, invoice: Invoice, reason: str) -> None:
    invoice.cancel()
    await store.save_invoice(conn, invoice)
    await outbox.add(conn, [OutboxMessage(topics.INVOICES, str(invoice.id), InvoiceCancelled(
        occurred_at=_now(), tenant_id=tenant.id, invoice_id=invoice.id, debtor_id=invoice.debtor_id,
        reason=reason,
    ))])
