"""Kafka entrypoints of the read model: contact facts, the contact commands of every channel (template,
tone, step) and invoices (which debtors a tenant has). Each record is applied once (unique keys)."""

from prometheus_client import Counter

from regua_contact_history import store
from regua_contact_history.domain import entry
from regua_contracts import topics
from regua_contracts.contacts import CONTACT_EVENT, CONTACT_REQUESTED, AnyContactEvent, ContactRequested
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent, InvoiceRegistered
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.privacy import keyring_of
from regua_platform.service import Runtime

APPLIED = Counter("regua_contact_history_events_total", "Events applied to the contact history", ["kind"])


def wire(runtime: Runtime) -> None:
    keyring = keyring_of(runtime.extras, runtime.settings)

    async def on_contacts(deliveries: list[Delivery[AnyContactEvent]]) -> list[Rejection]:
        entries = [entry(d.event) for d in deliveries]
        async with runtime.pool.acquire() as conn, conn.transaction():
            await store.add_debtors(conn, sorted({(e.tenant_id, e.debtor_id) for e in entries}))
            await store.add_entries(conn, keyring, entries)
        for e in entries:
            APPLIED.labels(e.kind).inc()
        return []

    async def on_commands(deliveries: list[Delivery[ContactRequested]]) -> list[Rejection]:
        commands = [d.event for d in deliveries]
        async with runtime.pool.acquire() as conn, conn.transaction():
            await store.add_debtors(conn, sorted({(c.tenant_id, c.recipient.debtor_id) for c in commands}))
            await store.add_requests(conn, commands)
        APPLIED.labels("request").inc(len(commands))
        return []

    async def on_invoices(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        registered = [d.event for d in deliveries if isinstance(d.event, InvoiceRegistered)]
        async with runtime.pool.acquire() as conn:
            await store.add_debtors(conn, sorted({(e.tenant_id, e.debtor_id) for e in registered}))
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id="contact-history",
              adapter=CONTACT_EVENT, handler=on_contacts)
    for channel in topics.CHANNELS:
        subscribe(runtime.broker, runtime.settings, topic=topics.contact_commands(channel),
                  group_id=f"contact-history-requests-{channel}", adapter=CONTACT_REQUESTED, handler=on_commands)
    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="contact-history-debtors",
              adapter=INVOICE_EVENT, handler=on_invoices)
