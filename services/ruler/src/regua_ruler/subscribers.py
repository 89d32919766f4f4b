"""Kafka entrypoints: invoice facts open and close cases; contact facts feed the compliance gate, pause
cases on a promise to pay and answer requests for offers."""


from regua_contracts import topics
from regua_contracts.agreements import (
    AGREEMENT_EVENT,
    AgreementBroken,
    AgreementCancelled,
    AgreementCreated,
    AnyAgreementEvent,
)
from regua_contracts.contacts import (
    CONTACT_EVENT,
    AnyContactEvent,
    CallOutcomeRecorded,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
    NegotiationRequested,
)
from regua_contracts.invoices import INVOICE_EVENT, AnyInvoiceEvent, InvoiceRegistered
from regua_platform.clock import Clock
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime
from regua_ruler import handlers
from regua_ruler.domain.persons import contact_of
from regua_ruler.domain.planning import Schedule
from regua_ruler.profiles import ProfileSource, profiles_by_tenant


def wire(runtime: Runtime) -> None:
    clock: Clock = runtime.extras["clock"]
    schedule: Schedule = runtime.extras["schedule"]
    profiles: ProfileSource = runtime.extras["profiles"]

    async def on_invoices(deliveries: list[Delivery[AnyInvoiceEvent]]) -> list[Rejection]:
        registered = [d.event for d in deliveries if isinstance(d.event, InvoiceRegistered)]
        looked_up = await profiles_by_tenant(
            profiles, [(e.tenant_id, e.debtor_id, e.invoice.propensity_score) for e in registered])
        profile_of = {e.event_id: p for e, p in zip(registered, looked_up, strict=True)}
        now = clock.now()
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "ruler-invoices", [d.event.event_id for d in deliveries])
            for d in deliveries:
                if d.event.event_id not in fresh:
                    continue
                with d.traced():  # the case and its events continue the invoice's trace
                    if isinstance(d.event, InvoiceRegistered):
                        await handlers.open_case(conn, d.event, profile_of[d.event.event_id], now, schedule)
                    else:
                        await handlers.close_case(conn, d.event, now)
        return []

    async def on_contacts(deliveries: list[Delivery[AnyContactEvent]]) -> list[Rejection]:
        now = clock.now()
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "ruler-contacts", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                with d.traced():
                    if isinstance(e, ContactOptedOut):
                        await handlers.opt_out(conn, e)
                    elif isinstance(e, ContactInvalidated):
                        await handlers.invalidate(conn, e.tenant_id, e.debtor_id, e.contact)
                    elif isinstance(e, ContactFailed) and e.contact_invalid:
                        await handlers.invalidate(conn, e.tenant_id, e.debtor_id, contact_of(e.channel))
                    elif isinstance(e, CallOutcomeRecorded):
                        await handlers.record_call(conn, e, now)
                    elif isinstance(e, NegotiationRequested):
                        await handlers.answer_negotiation_request(conn, e, now)
        return []

    async def on_agreements(deliveries: list[Delivery[AnyAgreementEvent]]) -> list[Rejection]:
        """An agreement pauses its invoices whatever their state but stopped (an exhausted case too) and is
        confirmed to the debtor; a broken or cancelled one returns them to where they were, unless another
        reason still holds them (a cancelled invoice's case was stopped by its own event); a settled one stops
        them as paid."""
        now = clock.now()
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, "ruler-agreements", [d.event.event_id for d in deliveries])
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                with d.traced():
                    if isinstance(e, AgreementCreated):
                        await handlers.pause(conn, e.tenant_id, e.debtor_id, e.invoice_ids, "agreement", None, now)
                        await handlers.confirm_agreement(conn, e, now)
                    elif isinstance(e, AgreementBroken | AgreementCancelled):
                        await handlers.lift_pause(conn, e.invoice_ids, "agreement", now)
                    else:
                        for invoice_id in e.invoice_ids:
                            await handlers.stop_case(conn, e.tenant_id, invoice_id, e.debtor_id, "paid", now)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.AGREEMENTS, group_id="ruler-agreements",
              adapter=AGREEMENT_EVENT, handler=on_agreements)
    subscribe(runtime.broker, runtime.settings, topic=topics.INVOICES, group_id="ruler",
              adapter=INVOICE_EVENT, handler=on_invoices)
    subscribe(runtime.broker, runtime.settings, topic=topics.CONTACTS, group_id="ruler-contacts",
              adapter=CONTACT_EVENT, handler=on_contacts)
