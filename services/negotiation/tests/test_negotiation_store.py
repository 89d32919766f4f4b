"""Handlers and store against a real PostgreSQL: offers keep their ids while valid, acceptance is scoped to
the debtor and the offer's validity, payments fill installments and settle, late ones break; every
agreement fact goes through the outbox."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import pytest

from regua_contracts import topics
from regua_contracts.common import Debtor, InvoiceSummary, NewInvoice
from regua_contracts.contacts import (
    AGREEMENT_TEMPLATE,
    CONTACT_EVENT,
    CONTACT_REQUESTED,
    NEGOTIATION_TEMPLATE,
    ContactAttempted,
    ContactRequested,
    Recipient,
)
from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_negotiation import handlers, store
from regua_negotiation.domain.offers import down_payment
from regua_negotiation.domain.policy import DiscountRule, NegotiationPolicy
from regua_platform.pii import Keyring
from regua_platform.tenants import Tenant, hash_api_key, upsert_tenant

KEYRING = Keyring({"k": b"k" * 32}, b"i")
TENANT = Tenant("t-1", "Loja Exemplo Ltda", "11222333000181", "Av. Paulista, 1000")
NOW = datetime(2024, 3, 1, 15, tzinfo=UTC)
TODAY = date(2024, 3, 1)


async def invoice(conn: asyncpg.Connection, debtor_id: UUID, cents: int, due: date) -> UUID:
    invoice_id = uuid4()
    await store.add_invoice(conn, KEYRING, InvoiceRegistered(
        occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id, debtor_id=debtor_id,
        creditor=TENANT.creditor,
        invoice=NewInvoice(external_id=f"NF-{invoice_id.hex[:6]}", amount_cents=cents, due_date=due,
                           debtor=Debtor(document="52998224725", name="Ana Souza", email="ana@example.com"))))
    return invoice_id


async def outbox_types(conn: asyncpg.Connection, topic: str = topics.AGREEMENTS) -> list[str]:
    rows = await conn.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    assert all(r["topic"] == topic for r in rows)
    return [json.loads(r["payload"])["type"] for r in rows]


def negotiation_step(debtor_id: UUID, invoice_id: UUID, channel: str = "whatsapp",
                     template: str = NEGOTIATION_TEMPLATE, agreement_id: UUID | None = None,
                     occurred_at: datetime = NOW) -> ContactRequested:
    return ContactRequested(
        occurred_at=occurred_at, tenant_id=TENANT.id, step_id=uuid4(), step_key="D+10", channel=channel,
        template=template, tone="cordial", agreement_id=agreement_id,
        recipient=Recipient(debtor_id=debtor_id, name="Ana Souza", phone="+5511987654321"),
        creditor=TENANT.creditor, scheduled_for=NOW,
        invoices=[InvoiceSummary(invoice_id=invoice_id, external_id="NF-1", amount_cents=10_000,
                                 due_date=date(2024, 1, 31))])


async def sign(_: asyncpg.Connection, tenant_id: str, debtor_id: UUID, now: datetime, validity_days: int) -> str:
    return f"https://pagar.example/s/{tenant_id}.{debtor_id}.{now.date()}.{validity_days}"


@pytest.fixture
async def conn(negotiation_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    await upsert_tenant(negotiation_pool, TENANT, hash_api_key("key"))
    # Waive fine and interest; at most 2 installments; 2 days' tolerance.
    await store.save_policy(negotiation_pool, TENANT.id, NegotiationPolicy(
        discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=2, min_installment_cents=100,
        break_tolerance_days=2))
    async with negotiation_pool.acquire() as connection:
        yield connection


async def test_offers_keep_their_ids_until_the_debts_change(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    first = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    assert [o["installments"] for o in first] == [1, 2]
    again = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    assert [o["offer_id"] for o in again] == [o["offer_id"] for o in first]
    expired = await handlers.current_offers(conn, TENANT.id, debtor, date(2024, 3, 7), NOW)  # valid 5 days
    assert {o["offer_id"] for o in expired}.isdisjoint(o["offer_id"] for o in first)
    await invoice(conn, debtor, 5_000, date(2024, 2, 10))
    renewed = await handlers.current_offers(conn, TENANT.id, debtor, date(2024, 3, 7), NOW)
    assert renewed[0]["total_cents"] == 15_000 and len(renewed[0]["invoice_ids"]) == 2


async def test_acceptance_is_scoped_and_single(conn: asyncpg.Connection) -> None:
    debtor, other = uuid4(), uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    with pytest.raises(handlers.OfferUnavailable, match="no such offer"):
        await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "self-service", TODAY, NOW, other)
    with pytest.raises(handlers.OfferUnavailable, match="expired"):
        await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", date(2024, 3, 7), NOW)
    agreement_id = await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", TODAY, NOW)
    with pytest.raises(handlers.OfferUnavailable, match="superseded"):
        await handlers.accept_offer(conn, TENANT, offers[0]["offer_id"], "agent", TODAY, NOW)
    plan = await store.installments(conn, agreement_id)
    assert [(i["amount_cents"], i["due_date"]) for i in plan] == [(5_000, date(2024, 3, 2)), (5_000, date(2024, 4, 2))]
    assert all(i["pix_payload"].startswith("000201010212") and i["txid"] in i["pix_payload"] for i in plan)
    assert await outbox_types(conn) == ["agreement.created.v1"]
    assert await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW) == []  # all under agreement


async def test_payments_fill_installments_then_settle(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    agreement_id = await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", TODAY, NOW)

    def paid(cents: int, outstanding: int) -> PaymentRecorded:
        return PaymentRecorded(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id, debtor_id=debtor,
                               amount_cents=cents, paid_at=NOW, outstanding_cents=outstanding)

    await handlers.on_payment(conn, paid(6_000, 4_000), TODAY, NOW)
    assert [i["paid_cents"] for i in await store.installments(conn, agreement_id)] == [5_000, 1_000]
    assert (await store.agreement(conn, TENANT.id, agreement_id) or {})["status"] == "active"
    await handlers.on_payment(conn, paid(4_000, 0), TODAY, NOW)
    assert (await store.agreement(conn, TENANT.id, agreement_id) or {})["status"] == "settled"
    assert await outbox_types(conn) == ["agreement.created.v1", "agreement.settled.v1"]


async def test_late_installment_breaks_and_revokes_discounts(conn: asyncpg.Connection,
                                                            negotiation_pool: asyncpg.Pool) -> None:
    debtor = uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 1, 31))  # 30 days late: fine 200, interest 100
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    agreement_id = await handlers.accept_offer(conn, TENANT, offers[0]["offer_id"], "agent", TODAY, NOW)
    assert await handlers.break_late_agreements(negotiation_pool, date(2024, 3, 4), NOW) == 0  # due 2 Mar + 2
    assert await handlers.break_late_agreements(negotiation_pool, date(2024, 3, 5), NOW) == 1
    broken = await store.agreement(conn, TENANT.id, agreement_id)
    assert broken is not None and broken["status"] == "broken"
    assert broken["balance_cents"] == 10_300  # the undiscounted update, nothing paid
    assert await outbox_types(conn) == ["agreement.created.v1", "agreement.broken.v1"]


async def test_concurrent_acceptances_make_one_agreement(conn: asyncpg.Connection,
                                                         negotiation_pool: asyncpg.Pool) -> None:
    debtor = uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)

    async def accept(offer_id: UUID) -> str:
        async with negotiation_pool.acquire() as c, c.transaction():
            try:
                await handlers.accept_offer(c, TENANT, offer_id, "agent", TODAY, NOW)
            except handlers.OfferUnavailable as exc:
                return str(exc)
            return "accepted"

    results = await asyncio.gather(*(accept(o["offer_id"]) for o in offers))
    assert sorted(results) == ["accepted", "the offer is superseded"]
    assert len(await store.agreements_of(conn, TENANT.id, debtor)) == 1


async def test_a_negotiation_step_leaves_with_the_current_offers_and_a_link(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 10_000, date(2024, 1, 31))  # 30 days late: fine 200, interest 100
    with pytest.raises(handlers.InvoicesNotYetKnown):  # the ruler read the registration before negotiation
        await handlers.complete_message(conn, negotiation_step(debtor, uuid4()), TODAY, NOW, sign)
    step = negotiation_step(debtor, invoice_id)
    message = await handlers.complete_message(conn, step, TODAY, NOW, sign)
    assert message.topic == topics.contact_commands("whatsapp") and message.key == str(debtor)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())  # survives the wire
    assert (sent.step_id, sent.event_id) == (step.step_id, step.event_id)  # the ruler's idempotency key
    assert [(o.installments, o.total_cents, o.installment_cents, o.first_due, o.discount_cents)
            for o in sent.offers] == [(1, 10_000, 10_000, date(2024, 3, 2), 300),
                                      (2, 10_000, 5_000, date(2024, 3, 2), 300)]
    assert {o.expires_on for o in sent.offers} == {date(2024, 3, 6)}
    assert sent.self_service_url == f"https://pagar.example/s/{TENANT.id}.{debtor}.2024-03-01.7"
    offered = {o["offer_id"] for o in await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)}
    again = await handlers.complete_message(conn, negotiation_step(debtor, invoice_id), TODAY, NOW, sign)
    assert again.event.offers == sent.offers  # type: ignore[attr-defined]
    assert {o["offer_id"] for o in await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)} == offered


async def test_a_negotiation_step_with_nothing_left_to_negotiate_is_not_sent(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    await handlers.accept_offer(conn, TENANT, offers[0]["offer_id"], "agent", TODAY, NOW)  # all under agreement
    step = negotiation_step(debtor, invoice_id, "sms")
    message = await handlers.complete_message(conn, step, TODAY, NOW, sign)
    assert message.topic == topics.CONTACTS
    attempt = CONTACT_EVENT.validate_json(message.event.model_dump_json())
    assert isinstance(attempt, ContactAttempted)
    assert (attempt.step_id, attempt.outcome, attempt.reason) == (step.step_id, "suppressed",
                                                                  "nothing left to negotiate")


async def test_cancelling_an_invoice_cancels_its_agreement(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    kept = await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    cancelled = await invoice(conn, debtor, 4_000, date(2024, 2, 5))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    agreement_id = await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", TODAY, NOW)
    await handlers.on_cancellation(conn, InvoiceCancelled(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=cancelled,
                                                          debtor_id=debtor, reason="issued in error"), NOW)
    row = await store.agreement(conn, TENANT.id, agreement_id)
    assert row is not None and row["status"] == "cancelled" and "cancelled by the creditor" in row["reason"]
    assert await outbox_types(conn) == ["agreement.created.v1", "agreement.cancelled.v1"]
    voided = json.loads(await conn.fetchval("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1"))
    assert (voided["invoice_ids"], voided["cancelled_invoice_id"]) == ([str(kept)], str(cancelled))  # kept resumes
    renewed = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    assert [o["invoice_ids"] for o in renewed] == [[kept], [kept]] and renewed[0]["total_cents"] == 10_000
    # A cancellation outside any agreement changes no agreement.
    await handlers.on_cancellation(conn, InvoiceCancelled(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=kept,
                                                          debtor_id=debtor, reason="paid elsewhere"), NOW)
    assert await outbox_types(conn) == ["agreement.created.v1", "agreement.cancelled.v1"]
    assert await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW) == []


async def test_an_agreement_confirmation_leaves_with_its_installments_and_pix_codes(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 10_001, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    agreement_id, _ = await handlers.accept_by_reply(conn, TENANT.id, debtor, 2, "sms", TODAY, NOW)
    assert agreement_id is not None
    created = json.loads(await conn.fetchval("SELECT payload FROM outbox ORDER BY id LIMIT 1"))
    assert (created["type"], created["accepted_via"], created["channel"]) == ("agreement.created.v1", "reply", "sms")
    step = negotiation_step(debtor, invoice_id, "sms", AGREEMENT_TEMPLATE, agreement_id)
    message = await handlers.complete_message(conn, step, TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert message.topic == topics.contact_commands("sms") and sent.offers == []
    plan = await store.installments(conn, agreement_id)
    shown = [(i.number, i.amount_cents, i.due_date, i.pix_copia_e_cola, i.payment_reference) for i in sent.installments]
    assert shown == [(r["number"], r["amount_cents"], r["due_date"], r["pix_payload"], r["txid"]) for r in plan]
    assert [i.amount_cents for i in sent.installments] == [5_001, 5_000] and offers[1]["total_cents"] == 10_001
    assert sent.self_service_url and str(debtor) in sent.self_service_url
    await handlers.on_cancellation(conn, InvoiceCancelled(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id,
                                                          debtor_id=debtor, reason="issued in error"), NOW)
    late = await handlers.complete_message(
        conn, negotiation_step(debtor, invoice_id, "sms", AGREEMENT_TEMPLATE, agreement_id), TODAY, NOW, sign)
    suppressed = CONTACT_EVENT.validate_json(late.event.model_dump_json())
    assert late.topic == topics.CONTACTS and isinstance(suppressed, ContactAttempted)
    assert suppressed.reason == "the agreement is no longer active"


async def test_a_message_names_the_invoices_its_offers_cover(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    first = await invoice(conn, debtor, 10_000, date(2024, 1, 31))
    second = await invoice(conn, debtor, 4_000, date(2024, 2, 10))
    # The ruler's step named only the first invoice; the offers cover both, and so does the message.
    message = await handlers.complete_message(conn, negotiation_step(debtor, first), TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert [(i.invoice_id, i.amount_cents) for i in sent.invoices] == [(first, 10_000), (second, 4_000)]
    assert sent.offers[0].total_cents == 14_000


async def test_an_offer_with_a_down_payment_says_so(conn: asyncpg.Connection,
                                                    negotiation_pool: asyncpg.Pool) -> None:
    await store.save_policy(negotiation_pool, TENANT.id, NegotiationPolicy(
        discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=3, min_installment_cents=100,
        down_payment_pct=Decimal(50)))
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 100_000, date(2024, 2, 1))
    message = await handlers.complete_message(conn, negotiation_step(debtor, invoice_id), TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert [(o.installments, o.down_payment_cents, o.installment_cents) for o in sent.offers] == \
        [(1, 0, 100_000), (2, 0, 50_000), (3, 50_000, 25_000)]  # half down, then 2x 250.00


async def test_a_message_naming_an_invoice_never_registered_here_waits_then_gives_up(
        conn: asyncpg.Connection) -> None:
    debtor, unknown = uuid4(), uuid4()
    with pytest.raises(handlers.InvoicesNotYetKnown):
        await handlers.complete_message(conn, negotiation_step(debtor, unknown), TODAY, NOW, sign)
    stale = negotiation_step(debtor, unknown, occurred_at=NOW - handlers.REGISTRATION_WAIT)
    message = await handlers.complete_message(conn, stale, TODAY, NOW, sign)
    attempt = CONTACT_EVENT.validate_json(message.event.model_dump_json())
    assert isinstance(attempt, ContactAttempted) and attempt.reason == "invoices not known to negotiation"


async def test_a_message_stamped_in_the_future_does_not_wait_for_ever(conn: asyncpg.Connection) -> None:
    # A record dated years ahead (a bad producer clock) would otherwise wait until parking gives up, hours later.
    future = negotiation_step(uuid4(), uuid4(), occurred_at=NOW + timedelta(days=365 * 6))
    message = await handlers.complete_message(conn, future, TODAY, NOW, sign)
    attempt = CONTACT_EVENT.validate_json(message.event.model_dump_json())
    assert isinstance(attempt, ContactAttempted) and attempt.reason == "invoices not known to negotiation"
    skewed = negotiation_step(uuid4(), uuid4(), occurred_at=NOW + timedelta(minutes=2))  # within the skew: waits
    with pytest.raises(handlers.InvoicesNotYetKnown):
        await handlers.complete_message(conn, skewed, TODAY, NOW, sign)


async def test_a_reply_code_accepts_only_an_offer_the_debtor_was_shown(conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    assert (await handlers.accept_by_reply(conn, TENANT.id, debtor, 2, "whatsapp", TODAY, NOW))[0] is None  # none shown
    shown = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    later = date(2024, 3, 7)  # the offers expired on the 6th
    assert (await handlers.accept_by_reply(conn, TENANT.id, debtor, 2, "whatsapp", later, NOW))[0] is None
    assert await store.agreements_of(conn, TENANT.id, debtor) == []
    assert (await handlers.accept_by_reply(conn, TENANT.id, debtor, 5, "whatsapp", TODAY, NOW))[0] is None  # no 5x
    agreement_id, _ = await handlers.accept_by_reply(conn, TENANT.id, debtor, 2, "whatsapp", TODAY, NOW)
    row = await store.agreement(conn, TENANT.id, agreement_id) if agreement_id else None
    assert row is not None and row["offer_id"] == shown[1]["offer_id"]


def test_a_down_payment_is_told_from_cents_that_do_not_divide() -> None:
    assert down_payment([3_334, 3_333, 3_333]) == 0
    assert down_payment([30_000, 35_000, 35_000]) == 0  # a smaller first is no down payment
    assert down_payment([50_000, 25_000, 25_000]) == 50_000
    assert down_payment([10_000]) == 0


async def test_an_offer_whose_first_installment_is_past_due_no_longer_stands(conn: asyncpg.Connection) -> None:
    """Seen in the portfolio simulation: an offer accepted after its first installment's due date (but before
    it expired) made an agreement born late, broken at the next check."""
    debtor = uuid4()
    await invoice(conn, debtor, 10_000, date(2024, 2, 1))
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    first_due = offers[1]["due_dates"][0]
    later = first_due + timedelta(days=1)
    assert later < offers[1]["expires_on"]  # not expired: only its first installment is past due
    with pytest.raises(handlers.OfferUnavailable, match="first installment was due"):
        await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", later, NOW)
    renewed = await handlers.current_offers(conn, TENANT.id, debtor, later, NOW)
    assert {o["offer_id"] for o in renewed}.isdisjoint(o["offer_id"] for o in offers)
    assert all(o["due_dates"][0] >= later for o in renewed)
    agreement_id = await handlers.accept_offer(conn, TENANT, renewed[1]["offer_id"], "agent", later, NOW)
    assert (await store.installments(conn, agreement_id))[0]["due_date"] >= later
