"""Kafka entrypoints: invoice facts keep the read model and pay installments; a negotiation request makes
offers; a reply code ("ACORDO 3") accepts one."""

import logging
import re

from regua_contracts import topics
from regua_contracts.contacts import CONTACT_EVENT, AnyContactEvent, DebtorReplied, NegotiationRequested
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent, InvoiceRegistered, PaymentRecorded
from regua_negotiation import handlers, store, views
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime

log = logging.getLogger(__name__)
#: "ACORDO" or "ACORDO 1" accepts paying in full, "ACORDO 3" (or "acordo 3x") the three-installment offer.
REPLY_CODE = re.compile(r"^\s*acordo\s*(\d{1,2})?\s*x?\s*$", re.IGNORECASE)


def wire(runtime: Runtime) -> None:
    async def on_invoices(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        today, now = views.today_and_now(runtime)
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "negotiation-invoices", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                if isinstance(e, InvoiceRegistered):
                    await store.add_invoice(conn, e)
                elif isinstance(e, PaymentRecorded):
                    await handlers.on_payment(conn, e, today, now)
                else:
                    await store.cancel_invoice(conn, e.invoice_id)
        return []

    async def on_contacts(deliveries: list[Delivery[AnyContactEvent]]) -> list[Rejection]:
        today, now = views.today_and_now(runtime)
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "negotiation-contacts", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                if isinstance(e, NegotiationRequested):
                    offers = await handlers.current_offers(conn, e.tenant_id, e.debtor_id, today, now)
                    # ContactRequested has no field for the self-service link: offers are made and kept here,
                    # read through the API or the link an agent sends; no message is sent from here.
                    log.info("offers made on request", extra={"offers": len(offers), "source": e.source})
                elif isinstance(e, DebtorReplied) and (match := REPLY_CODE.match(e.text)):
                    agreement = await handlers.accept_by_reply(conn, e.tenant_id, e.debtor_id,
                                                               int(match.group(1) or 1), today, now)
                    log.info("reply code", extra={"accepted": agreement is not None})
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="negotiation-invoices",
              adapter=INVOICE_EVENT, handler=on_invoices)
    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id="negotiation-contacts",
              adapter=CONTACT_EVENT, handler=on_contacts)
