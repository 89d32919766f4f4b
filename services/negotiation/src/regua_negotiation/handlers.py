"""One function per command or event: load, decide with the domain, save with the outbox."""

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from prometheus_client import Counter

from regua_contracts import topics
from regua_contracts.agreements import AgreementBroken, AgreementCancelled, AgreementCreated, AgreementSettled
from regua_contracts.cases import AnyCaseEvent, CasePaused, CasePauseLifted, CaseResumed, CaseStopped
from regua_contracts.common import InvoiceSummary
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    ContactAttempted,
    ContactRequested,
    DebtSummary,
    InstallmentSummary,
    OfferSummary,
)
from regua_contracts.invoices import InvoiceCancelled, PaymentRecorded
from regua_negotiation import store
from regua_negotiation.domain import agreements as rules
from regua_negotiation.domain.agreements import Installment
from regua_negotiation.domain.debt import Debt
from regua_negotiation.domain.offers import build_menu, stated
from regua_negotiation.domain.pix import brcode
from regua_negotiation.domain.policy import NegotiationPolicy, classify
from regua_negotiation.legal import ceilings
from regua_platform import outbox
from regua_platform.clock import still_waiting
from regua_platform.outbox import OutboxMessage
from regua_platform.tenants import Tenant

MESSAGES = Counter("regua_negotiation_messages_total",
                   "Negotiation messages and agreement confirmations filled in, or suppressed", ["template", "outcome"])


class OfferUnavailable(Exception):
    """The offer does not exist for this tenant, expired, or its debts changed since it was made."""


class InvoiceDisputed(OfferUnavailable):
    """The offer covers an invoice under dispute: no agreement may cover it until the creditor answers."""


def disputed_reason(rows: list[asyncpg.Record]) -> str:
    names = ", ".join(str(r["external_id"] or r["invoice_id"]) for r in rows)
    return (f"invoice {names} is under dispute: no offer or agreement may cover it until the creditor answers "
            "the dispute")


async def current_offers(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, today: date,
                         now: datetime) -> list[asyncpg.Record]:
    """The debtor's open offers, made afresh when there are none, they expired or the open debts changed.
    Offers keep their ids while valid, so a page or an agent can accept the one they were shown."""
    offers, debts = await _standing_offers(conn, tenant_id, debtor_id, today)
    if offers:
        return offers
    invoice_ids = sorted(UUID(d.invoice_id) for d in debts)
    await store.supersede_offers(conn, tenant_id, debtor_id)
    if not debts:
        return []
    version, policy, _ = await store.current_policy(conn, tenant_id)
    behaviour = classify(*await store.history(conn, tenant_id, debtor_id, today))
    menu = build_menu(debts, today, policy, behaviour, ceilings())
    await store.add_offers(conn, tenant_id, debtor_id, invoice_ids, menu, version, now,
                           [uuid4() for _ in menu.options], today)
    return await store.open_offers(conn, tenant_id, debtor_id)


async def valid_offers(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, today: date) -> list[asyncpg.Record]:
    """The debtor's open offers while none expired and the open debts are still the ones they cover, under
    the debtor's lock; else none (nothing is made here)."""
    offers, _ = await _standing_offers(conn, tenant_id, debtor_id, today)
    return offers


async def _standing_offers(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID,
                           today: date) -> tuple[list[asyncpg.Record], list[Debt]]:
    """The valid offers (or none) and the open debts they were checked against, under the debtor's lock."""
    await store.lock_debtor(conn, tenant_id, debtor_id)
    debts = await store.open_debts(conn, tenant_id, debtor_id)
    invoice_ids = sorted(UUID(d.invoice_id) for d in debts)
    offers = await store.open_offers(conn, tenant_id, debtor_id)
    # An offer stands while it has not expired and its first installment is not yet due: accepted later, the
    # agreement would be born late and break at once (seen in the portfolio simulation).
    if offers and all(o["expires_on"] >= today and o["due_dates"][0] >= today and o["as_of"] is not None
                      and sorted(o["invoice_ids"]) == invoice_ids for o in offers):
        return offers, debts
    return [], debts


def _pix(policy: NegotiationPolicy, tenant: Tenant, amount_cents: int, txid: str) -> str:
    return brcode(key=policy.pix_key or tenant.cnpj, name=policy.merchant_name or tenant.name,
                  city=policy.merchant_city, amount_cents=amount_cents, txid=txid)


async def accept_offer(conn: asyncpg.Connection, tenant: Tenant, offer_id: UUID, via: str, today: date,
                       now: datetime, debtor_id: UUID | None = None, channel: str | None = None) -> UUID:
    """Turns an open offer into an agreement with its installments and their PIX codes; the ruler pauses
    the invoices when it reads agreement.created."""
    offer = await store.offer(conn, tenant.id, offer_id)
    if offer is not None:  # the debtor's lock first, then the row: the same order as every other writer
        await store.lock_debtor(conn, tenant.id, offer["debtor_id"])
        offer = await store.offer(conn, tenant.id, offer_id, for_update=True)
    if offer is None or (debtor_id is not None and offer["debtor_id"] != debtor_id):
        raise OfferUnavailable("no such offer")  # another debtor's offer looks exactly like a missing one
    if offer["status"] != "accepted" and (disputed := await store.disputed(conn, tenant.id,
                                                                             list(offer["invoice_ids"]))):
        raise InvoiceDisputed(disputed_reason(disputed))  # withdrawn when the dispute opened: say why
    if offer["status"] != "open":
        raise OfferUnavailable(f"the offer is {offer['status']}")
    if offer["expires_on"] < today:
        raise OfferUnavailable(f"the offer expired on {offer['expires_on'].isoformat()}")
    if offer["due_dates"][0] < today:
        raise OfferUnavailable(f"its first installment was due on {offer['due_dates'][0].isoformat()}; "
                               "ask for new offers")
    open_ids = {UUID(d.invoice_id) for d in await store.open_debts(conn, tenant.id, offer["debtor_id"])}
    if set(offer["invoice_ids"]) != open_ids:
        raise OfferUnavailable("the debts changed since the offer was made; ask for a new one")
    _, policy, _ = await store.current_policy(conn, tenant.id)
    agreement_id = uuid4()
    plan = [(Installment(n, amount, due), f"RG{agreement_id.hex[:20]}{n:02d}")
            for n, (amount, due) in enumerate(zip(offer["amounts"], offer["due_dates"], strict=True), start=1)]
    await store.add_agreement(conn, agreement_id, offer, policy, via, now,
                              [(i, txid, _pix(policy, tenant, i.amount_cents, txid)) for i, txid in plan])
    await store.mark_accepted(conn, offer)
    event = AgreementCreated(occurred_at=now, tenant_id=tenant.id, agreement_id=agreement_id,
                             debtor_id=offer["debtor_id"], invoice_ids=list(offer["invoice_ids"]),
                             installments=offer["installments"], total_cents=offer["total_cents"],
                             first_due=offer["due_dates"][0], accepted_via=via, channel=channel)
    await outbox.add(conn, [OutboxMessage(topics.AGREEMENTS, str(offer["debtor_id"]), event)])
    return agreement_id


def _plan(rows: list[asyncpg.Record]) -> list[Installment]:
    return [Installment(r["number"], r["amount_cents"], r["due_date"], r["paid_cents"]) for r in rows]


async def on_payment(conn: asyncpg.Connection, e: PaymentRecorded, today: date, now: datetime) -> None:
    """A payment on an invoice of an active agreement pays its next installment(s); the last one, or the
    agreement's invoices all paid at the creditor, settles it."""
    await store.lock_debtor(conn, e.tenant_id, e.debtor_id)  # not while an offer of these debts is accepted
    await store.record_payment(conn, e.invoice_id, e.outstanding_cents, e.paid_at.date())
    agreement = await store.active_agreement_of_invoice(conn, e.invoice_id)
    if agreement is None:
        await _payment_without_agreement(conn, e)
        return
    plan, _ = rules.apply_payment(_plan(await store.installments(conn, agreement["agreement_id"])), e.amount_cents)
    await store.save_paid(conn, agreement["agreement_id"], plan)
    invoices_paid = not await conn.fetchval(
        "SELECT count(*) FROM invoices WHERE invoice_id = ANY($1::uuid[]) AND status = 'open'",
        agreement["invoice_ids"])
    if rules.is_settled(plan) or invoices_paid:
        await store.close_agreement(conn, agreement["agreement_id"], "settled", now)
        event = AgreementSettled(occurred_at=now, tenant_id=agreement["tenant_id"],
                                 agreement_id=agreement["agreement_id"], debtor_id=agreement["debtor_id"],
                                 invoice_ids=list(agreement["invoice_ids"]),
                                 paid_cents=sum(i.paid_cents for i in plan))
        await outbox.add(conn, [OutboxMessage(topics.AGREEMENTS, str(agreement["debtor_id"]), event)])


async def _payment_without_agreement(conn: asyncpg.Connection, e: PaymentRecorded) -> None:
    """A payment on an invoice no active agreement covers, e.g. a PIX code of a broken or cancelled agreement
    paid late: the money is never lost. The creditor recorded it on the invoice, so it lowers the invoice's
    outstanding principal (``record_payment``) and every later update and offer is computed on what is left;
    the offers made on the old amount are withdrawn. When a broken or cancelled agreement covered the invoice,
    the payment is also written to that agreement's installments (in order) and lowers a broken agreement's
    balance, so the agreement's record and the debtor's page show it."""
    await store.supersede_offers_of_invoice(conn, e.invoice_id)
    closed = await store.latest_closed_agreement_of_invoice(conn, e.invoice_id)
    if closed is None:
        return
    plan, _ = rules.apply_payment(_plan(await store.installments(conn, closed["agreement_id"])), e.amount_cents)
    balance = closed["balance_cents"]
    if closed["status"] == "broken" and balance is not None:
        balance = max(balance - e.amount_cents, 0)
    await store.record_paid_after_close(conn, closed["agreement_id"], e.amount_cents, plan, balance)


async def on_case_event(conn: asyncpg.Connection, e: AnyCaseEvent) -> None:
    """Disputes and promises, from the ruler's case events. A pause whose reasons include "dispute" opens one
    (its offers are withdrawn); a pause without it, a lifted dispute reason, a resumption or a stop ends it,
    except a stop because the dispute was upheld, which keeps the invoice out of negotiation for good. An
    invoice paused by a promise to pay is left out of offer messages until the promise ends."""
    await _follow_promise(conn, e)
    if isinstance(e, CasePaused):
        reasons = set(e.reasons) if e.reasons else {e.reason}
        if "dispute" in reasons:
            await store.open_dispute(conn, e.tenant_id, e.invoice_id, e.debtor_id, e.occurred_at)
        elif e.reasons:  # the full set of reasons holding the case, and dispute is not among them
            await store.lift_dispute(conn, e.invoice_id)
    elif isinstance(e, CasePauseLifted):
        if e.reason == "dispute" or "dispute" not in e.remaining:
            await store.lift_dispute(conn, e.invoice_id)
    elif isinstance(e, CaseResumed):
        await store.lift_dispute(conn, e.invoice_id)  # nothing holds the case any more
    elif isinstance(e, CaseStopped):
        if "dispute" in e.reason and "upheld" in e.reason:
            await store.uphold_dispute(conn, e.tenant_id, e.invoice_id, e.debtor_id, e.occurred_at)
        else:
            await store.lift_dispute(conn, e.invoice_id)


async def _follow_promise(conn: asyncpg.Connection, e: AnyCaseEvent) -> None:
    if isinstance(e, CasePaused):
        await store.set_promised(conn, e.invoice_id, "promise" in (e.reasons or [e.reason]), e.occurred_at)
    elif isinstance(e, CasePauseLifted):
        await store.set_promised(conn, e.invoice_id, "promise" in e.remaining, e.occurred_at)
    elif isinstance(e, CaseResumed | CaseStopped):
        await store.set_promised(conn, e.invoice_id, False, e.occurred_at)


async def on_cancellation(conn: asyncpg.Connection, e: InvoiceCancelled, now: datetime) -> None:
    """A cancelled invoice leaves every offer that covers it stale and the agreement that covers it void:
    the agreement is cancelled (what was paid stays recorded) and its other invoices go back to the ruler."""
    await store.lock_debtor(conn, e.tenant_id, e.debtor_id)  # not while an offer of this invoice is accepted
    external_id = await store.cancel_invoice(conn, e.invoice_id)
    agreement = await store.active_agreement_of_invoice(conn, e.invoice_id)
    if agreement is None:
        return
    reason = f"invoice {external_id or e.invoice_id} cancelled by the creditor"
    await store.close_agreement(conn, agreement["agreement_id"], "cancelled", now, reason)
    event = AgreementCancelled(occurred_at=now, tenant_id=agreement["tenant_id"],
                               agreement_id=agreement["agreement_id"], debtor_id=agreement["debtor_id"],
                               invoice_ids=[i for i in agreement["invoice_ids"] if i != e.invoice_id],
                               cancelled_invoice_id=e.invoice_id, reason=reason)
    await outbox.add(conn, [OutboxMessage(topics.AGREEMENTS, str(agreement["debtor_id"]), event)])


#: Makes the self-service link a message carries: (connection, tenant, debtor, now, validity in days) -> URL.
SignLink = Callable[[asyncpg.Connection, str, UUID, datetime, int], Awaitable[str]]
#: How long a message waits for negotiation to read the registration of an invoice it names.
REGISTRATION_WAIT = timedelta(minutes=10)


class InvoicesNotYetKnown(Exception):
    """The command names an invoice whose registration negotiation has not read yet: try again shortly."""


async def complete_message(conn: asyncpg.Connection, command: ContactRequested, today: date, now: datetime,
                           sign_link: SignLink) -> OutboxMessage:
    """A negotiation step gets the debtor's current offers, an agreement's confirmation its installments
    with their PIX codes; both name the invoices they cover and get a link to the self-service page, then go
    on to their channel. With nothing to show (paid or agreed since the ruler fired the step, an agreement
    already closed, invoices never registered here) the message is not sent: a suppressed attempt says why."""
    named = [i.invoice_id for i in command.invoices]
    debtor_id = command.recipient.debtor_id
    update: dict[str, Any] = {}
    if await store.known_invoices(conn, command.tenant_id, named) < len(set(named)):
        if still_waiting(now, command.occurred_at, REGISTRATION_WAIT):
            raise InvoicesNotYetKnown(f"{len(named)} invoices named, not all registered here yet")
        nothing = "invoices not known to negotiation"
    elif command.template == AGREEMENT_TEMPLATE:
        covered, installments = await _agreement(conn, command)
        if installments:
            update = {"installments": installments, "invoices": await _covered(conn, covered)}
        nothing = "the agreement is no longer active"
    else:
        offers = await current_offers(conn, command.tenant_id, debtor_id, today, now)
        if offers:
            update = {"offers": [_summary(o) for o in offers], "updated_debt": _debt_summary(offers[0]),
                      "invoices": await _covered(conn, offers[0]["invoice_ids"])}
        disputed = await store.disputed(conn, command.tenant_id, named)
        nothing = disputed_reason(disputed) if disputed else "nothing left to negotiate"
    if not update:
        attempt = ContactAttempted(occurred_at=now, tenant_id=command.tenant_id, step_id=command.step_id,
                                   step_key=command.step_key, channel=command.channel, debtor_id=debtor_id,
                                   invoice_ids=named, outcome="suppressed", reason=nothing)
        MESSAGES.labels(command.template, "suppressed").inc()
        return OutboxMessage(topics.CONTACTS, str(debtor_id), attempt)
    MESSAGES.labels(command.template, "completed").inc()
    _, policy, _ = await store.current_policy(conn, command.tenant_id)
    update["self_service_url"] = await sign_link(conn, command.tenant_id, debtor_id, now, policy.link_validity_days)
    if "invoices" in update:  # widened to what the offers cover: the dispatchers must know which were fired
        update["fired_invoice_ids"] = command.fired_invoice_ids if command.fired_invoice_ids is not None else named
    return OutboxMessage(topics.contact_commands(command.channel), str(debtor_id), command.model_copy(update=update))


def _summary(offer: asyncpg.Record) -> OfferSummary:
    """An offer stated exactly: ``down_payment_cents`` is the first installment whenever it differs from the
    others (a down payment, or the cents that do not divide), ``installment_cents`` each of the others, so
    total = down_payment_cents + (installments - 1) x installment_cents, or installments x installment_cents
    when down_payment_cents is 0 ("1x R$ 338,34 + 2x R$ 338,33", never "3x de R$ 338,34")."""
    first, each = stated(list(offer["amounts"]))
    return OfferSummary(installments=offer["installments"], total_cents=offer["total_cents"],
                        down_payment_cents=first, installment_cents=each, first_due=offer["due_dates"][0],
                        discount_cents=offer["discount_cents"], expires_on=offer["expires_on"])


def _debt_summary(offer: asyncpg.Record) -> DebtSummary:
    """The updated debt the offers' discounts were taken from (every offer of a menu shares it)."""
    return DebtSummary(principal_cents=offer["principal_cents"], fine_cents=offer["fine_cents"],
                       interest_cents=offer["interest_cents"], total_cents=offer["undiscounted_cents"],
                       as_of=offer["as_of"])


async def _covered(conn: asyncpg.Connection, invoice_ids: list[UUID]) -> list[InvoiceSummary]:
    """The invoices an offer or agreement covers, as the message lists them (amounts still owed)."""
    return [InvoiceSummary(invoice_id=r["invoice_id"], external_id=r["external_id"],
                           amount_cents=r["outstanding_cents"], due_date=r["due_date"])
            for r in await store.invoices_by_id(conn, invoice_ids)]


async def _agreement(conn: asyncpg.Connection,
                     command: ContactRequested) -> tuple[list[UUID], list[InstallmentSummary]]:
    """The invoices and installments of the agreement a confirmation is about; none once it is not active."""
    agreement = await store.agreement(conn, command.tenant_id, command.agreement_id) if command.agreement_id else None
    if agreement is None or agreement["status"] != "active":
        return [], []
    installments = [InstallmentSummary(number=i["number"], amount_cents=i["amount_cents"], due_date=i["due_date"],
                                       pix_copia_e_cola=i["pix_payload"], payment_reference=i["txid"])
                    for i in await store.installments(conn, agreement["agreement_id"])]
    return list(agreement["invoice_ids"]), installments


async def break_late_agreements(pool: asyncpg.Pool, today: date, now: datetime) -> int:
    """Breaks every agreement with an installment late beyond its tolerance: discounts are revoked as the
    policy said when it was made (the balance is then the undiscounted update less what was paid) and
    collection resumes on the ruler."""
    async with pool.acquire() as conn, conn.transaction():
        broken = 0
        for agreement in await store.late_candidates(conn, today):
            plan = _plan(await store.installments(conn, agreement["agreement_id"]))
            late = rules.late_installment(plan, today, agreement["tolerance_days"])
            if late is None:
                continue
            reason = (f"installment {late.number} due {late.due_date.isoformat()} unpaid "
                      f"{(today - late.due_date).days} days (tolerance {agreement['tolerance_days']})")
            balance = rules.balance_after_break(agreement["total_cents"], agreement["undiscounted_cents"],
                                                sum(i.paid_cents for i in plan), agreement["revoke_on_break"])
            await store.close_agreement(conn, agreement["agreement_id"], "broken", now, reason, balance)
            event = AgreementBroken(occurred_at=now, tenant_id=agreement["tenant_id"],
                                    agreement_id=agreement["agreement_id"], debtor_id=agreement["debtor_id"],
                                    invoice_ids=list(agreement["invoice_ids"]), reason=reason)
            await outbox.add(conn, [OutboxMessage(topics.AGREEMENTS, str(agreement["debtor_id"]), event)])
            broken += 1
        return broken


async def accept_by_reply(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, installments: int,
                          channel: str, today: date, now: datetime) -> tuple[UUID | None, str]:
    """A reply code picks an offer by its number of installments, only among the offers the debtor was shown
    and that still stand: never terms made afresh that they did not see. (None, why) when no such offer
    exists (the caller then asks for fresh offers to be sent): an offer over an invoice that went under
    dispute is refused with that reason."""
    tenant = await store.tenant(conn, tenant_id)
    if tenant is None:
        return None, "unknown tenant"
    offers = await valid_offers(conn, tenant_id, debtor_id, today)
    chosen = next((o for o in offers if o["installments"] == installments), None)
    if chosen is None:
        shown = await store.last_offers(conn, tenant_id, debtor_id)
        covered = sorted({i for o in shown for i in o["invoice_ids"]})
        if disputed := await store.disputed(conn, tenant_id, covered):
            return None, disputed_reason(disputed)
        return None, f"no standing offer in {installments}x"
    try:
        return await accept_offer(conn, tenant, chosen["offer_id"], "reply", today, now, channel=channel), "accepted"
    except InvoiceDisputed as exc:
        return None, str(exc)
