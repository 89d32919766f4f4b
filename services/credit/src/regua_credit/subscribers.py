"""Kafka entrypoint: invoice facts feed the credit read model."""

from uuid import UUID

from regua_contracts import topics
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent
from regua_credit import handlers
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime

CONSUMER = "credit-invoices"


def wire(runtime: Runtime) -> None:
    async def handle(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, CONSUMER, [d.event.event_id for d in deliveries])
            todo: dict[UUID, Delivery[AnyInvoiceEvent]] = {}
            for d in deliveries:  # a batch may carry one event twice (a redelivery): apply it once
                if d.event.event_id in fresh:
                    todo.setdefault(d.event.event_id, d)
            unknown = {id(e) for e in await handlers.apply_invoice_events(conn, [d.event for d in todo.values()])}
        return [Rejection(d.record, "unknown invoice for this tenant") for d in todo.values() if id(d.event) in unknown]

    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="credit",
              adapter=INVOICE_EVENT, handler=handle)
