"""Kafka entrypoint: invoice facts open and close collection cases."""

from regua_contracts import topics
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent, InvoiceRegistered
from regua_platform.clock import Clock
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime
from regua_ruler import handlers
from regua_ruler.domain import Schedule

CONSUMER = "ruler-invoices"


def wire(runtime: Runtime) -> None:
    clock: Clock = runtime.extras["clock"]
    schedule: Schedule = runtime.extras["schedule"]

    async def handle(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        now = clock.now()
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, CONSUMER, [d.event.event_id for d in deliveries])
            for d in deliveries:
                if d.event.event_id not in fresh:
                    continue
                if isinstance(d.event, InvoiceRegistered):
                    await handlers.open_case(conn, d.event, now, schedule)
                else:
                    await handlers.close_case(conn, d.event, now)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="ruler",
              adapter=INVOICE_EVENT, handler=handle)
