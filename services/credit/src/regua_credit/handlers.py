"""Credit commands: read-model updates from regua.invoices.v1 (in the caller's transaction), and training
the score model."""

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from prometheus_client import Counter

from regua_contracts.invoices import AnyInvoiceEvent, InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_credit import store, training
from regua_credit.scoring import LinearModel

log = logging.getLogger(__name__)

EVENTS_APPLIED = Counter("regua_credit_events_applied_total", "Invoice events applied to the credit read model",
                         ["type"])


async def apply_invoice_events(conn: asyncpg.Connection, events: Sequence[AnyInvoiceEvent]) -> list[AnyInvoiceEvent]:
    """Applies a batch of events in three statements; returns those about an invoice this tenant never
    registered. Registrations go first: an invoice's payment or cancellation never precedes its registration
    (one key, one partition), and ingestion accepts neither a payment after a cancellation nor the reverse."""
    await store.insert_invoices(conn, [e for e in events if isinstance(e, InvoiceRegistered)])
    payments = [e for e in events if isinstance(e, PaymentRecorded)]
    cancellations = [e for e in events if isinstance(e, InvoiceCancelled)]
    found = await store.record_payments(conn, payments) if payments else set()
    found |= await store.cancel_invoices(conn, cancellations) if cancellations else set()
    unknown: list[AnyInvoiceEvent] = [e for e in payments if (e.invoice_id, e.tenant_id) not in found]
    unknown += [e for e in cancellations if (e.invoice_id, e.tenant_id) not in found]
    rejected = {id(e) for e in unknown}
    for event in events:
        if id(event) not in rejected:
            EVENTS_APPLIED.labels(event.type).inc()
    return unknown


async def train_model(pool: asyncpg.Pool, timezone: str, min_samples: int, now: datetime) -> LinearModel:
    """Fits a model on every debtor's history and stores it as the newest; raises NotEnoughHistory."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    data: list[training.Sample] = []
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        async for facts in store.every_debtor(conn, tz):
            data.extend(training.samples(facts, today))
    model = training.fit(data, version=training.model_version(now), min_samples=min_samples)
    await store.save_model(pool, model, now)
    log.info("score model trained", extra={"model_version": model.version, **model.metrics})
    return model
