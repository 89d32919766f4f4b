"""Kafka entrypoints: invoice facts keep the read model, pay installments and void agreements of cancelled
invoices; case events keep the invoices under dispute (never negotiated);
the ruler's negotiation messages and agreement confirmations get their offers or installments and
the link here on their way to the channel; a reply code ("ACORDO 3") accepts an offer."""

import logging
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import asyncpg

from regua_contracts import topics
from regua_contracts.cases import CASE_EVENT, AnyCaseEvent
from regua_contracts.contacts import (
    CONTACT_EVENT,
    CONTACT_REQUESTED,
    AnyContactEvent,
    ContactRequested,
    DebtorReplied,
    NegotiationRequested,
    accepted_installments,
)
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent, InvoiceRegistered, PaymentRecorded
from regua_negotiation import handlers, store, views
from regua_platform import outbox
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, TransientError, subscribe
from regua_platform.outbox import OutboxMessage
from regua_platform.privacy import keyring_of
from regua_platform.service import Runtime

log = logging.getLogger(__name__)


def wire(runtime: Runtime) -> None:
    async def sign_link(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, now: datetime,
                        validity_days: int) -> str:
        return await views.short_self_service_link(runtime, conn, tenant_id, debtor_id, now, validity_days)

    async def on_invoices(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        today, now = views.today_and_now(runtime)
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "negotiation-invoices", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                with d.traced():  # what a payment or a cancellation emits continues the invoice event's trace
                    if isinstance(e, InvoiceRegistered):
                        await store.add_invoice(conn, keyring_of(runtime.extras, runtime.settings), e)
                    elif isinstance(e, PaymentRecorded):
                        await handlers.on_payment(conn, e, today, now)
                    else:
                        await handlers.on_cancellation(conn, e, now)
        return []

    async def on_offer_commands(deliveries: list[Delivery[ContactRequested]]) -> list[Rejection]:
        async with runtime.pool.acquire() as conn, conn.transaction():
            await views.follow(runtime, conn, max(d.event.occurred_at for d in deliveries))
            today, now = views.today_and_now(runtime)
            fresh = await claim_new(conn, "negotiation-offer-commands", [d.event.event_id for d in deliveries])
            try:
                # Each forwarded command continues its own record's trace (the rows are written together).
                completed = [replace(await handlers.complete_message(conn, d.event, today, now, sign_link),
                                     trace=d.trace_headers())
                             for d in deliveries if d.event.event_id in fresh]
            except handlers.InvoicesNotYetKnown as exc:  # its registration is on its way: wait for it
                raise TransientError(str(exc)) from exc
            await outbox.add(conn, completed)
        return []

    async def on_contacts(deliveries: list[Delivery[AnyContactEvent]]) -> list[Rejection]:
        today, now = views.today_and_now(runtime)
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "negotiation-contacts", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh or not isinstance(e, DebtorReplied):
                    continue
                installments = accepted_installments(e.text)
                if installments is None:
                    continue
                with d.traced():  # the agreement or the new offers continue the reply's trace
                    agreement, why = await handlers.accept_by_reply(conn, e.tenant_id, e.debtor_id, installments,
                                                                    e.channel, today, now)
                    log.info("reply code", extra={"accepted": agreement is not None, "reason": why})
                    if agreement is None:  # expired, changed or never offered: send the current offers instead
                        request = NegotiationRequested(occurred_at=now, tenant_id=e.tenant_id,
                                                       debtor_id=e.debtor_id, channel=e.channel, source="reply")
                        await outbox.add(conn, [OutboxMessage(topics.CONTACTS, str(e.debtor_id), request)])
        return []

    async def on_cases(deliveries: list[Delivery[AnyCaseEvent]]) -> list[Rejection]:
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "negotiation-cases", [d.event.event_id for d in deliveries])
            for d in deliveries:
                if d.event.event_id in fresh:
                    with d.traced():
                        await handlers.on_case_event(conn, d.event)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="negotiation-invoices",
              adapter=INVOICE_EVENT, handler=on_invoices)
    subscribe(runtime.broker, runtime.settings, topic=topics.OFFER_COMMANDS, group_id="negotiation-offer-commands",
              adapter=CONTACT_REQUESTED, handler=on_offer_commands)
    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id="negotiation-contacts",
              adapter=CONTACT_EVENT, handler=on_contacts)
    subscribe(runtime.broker, runtime.settings, topic=topics.CASES, group_id="negotiation-cases",
              adapter=CASE_EVENT, handler=on_cases)
