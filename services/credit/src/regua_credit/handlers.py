"""Read-model updates from regua.invoices.v1, in the caller's transaction. Registrations go first: within
a batch an invoice's payment or cancellation never precedes its registration (same key, same partition)."""

import logging
from collections.abc import Sequence

import asyncpg
from prometheus_client import Counter

from regua_contracts.invoices import AnyInvoiceEvent, InvoiceRegistered, PaymentRecorded
from regua_credit import store

log = logging.getLogger(__name__)

EVENTS_APPLIED = Counter("regua_credit_events_applied_total", "Invoice events applied to the credit read model",
                         ["type"])


async def apply_invoice_events(conn: asyncpg.Connection, events: Sequence[AnyInvoiceEvent]) -> list[AnyInvoiceEvent]:
    """Applies the events in order; returns those about an invoice this tenant never registered."""
    registrations = [e for e in events if isinstance(e, InvoiceRegistered)]
    await store.insert_invoices(conn, registrations)
    unknown: list[AnyInvoiceEvent] = []
    for event in events:
        if isinstance(event, InvoiceRegistered):
            continue
        applied = await (store.record_payment(conn, event) if isinstance(event, PaymentRecorded)
                         else store.cancel_invoice(conn, event))
        if not applied:
            unknown.append(event)
    for event in events:
        if event not in unknown:
            EVENTS_APPLIED.labels(event.type).inc()
    return unknown
