"""Against a real PostgreSQL: the updated debt and exact installments travel with every offer command,
CPF debtors get consumer rules, disputed invoices are never offered or agreed, and a payment reaching a
broken agreement's invoice is applied to the debt."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import pytest

from regua_contracts.cases import CasePaused, CasePauseLifted, CaseResumed, CaseStopped
from regua_contracts.common import Debtor, NewInvoice
from regua_contracts.contacts import CONTACT_EVENT, CONTACT_REQUESTED, ContactAttempted
from regua_contracts.invoices import InvoiceRegistered, PaymentRecorded
from regua_negotiation import handlers, store
from regua_negotiation.domain.policy import DiscountRule, NegotiationPolicy
from regua_platform.tenants import hash_api_key, upsert_tenant

from .test_negotiation_store import KEYRING, NOW, TENANT, TODAY, negotiation_step, sign

CPF, CNPJ = "52998224725", "11444777000161"


async def invoice(conn: asyncpg.Connection, debtor_id: UUID, cents: int, due: date, document: str = CPF,
                  state: str | None = None) -> UUID:
    invoice_id = uuid4()
    await store.add_invoice(conn, KEYRING, InvoiceRegistered(
        occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id, debtor_id=debtor_id, creditor=TENANT.creditor,
        invoice=NewInvoice(external_id=f"NF-{invoice_id.hex[:6]}", amount_cents=cents, due_date=due,
                           debtor=Debtor(document=document, name="Ana Souza", email="ana@example.com", state=state))))
    return invoice_id


@pytest.fixture
async def conn(negotiation_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    await upsert_tenant(negotiation_pool, TENANT, hash_api_key("key"))
    async with negotiation_pool.acquire() as connection:
        yield connection


async def save(conn: asyncpg.Connection, **policy: object) -> None:
    await store.save_policy(conn, TENANT.id, NegotiationPolicy.model_validate(policy))


async def test_offer_commands_carry_the_updated_debt_and_exact_installments(conn: asyncpg.Connection) -> None:
    # 31 Jan -> 1 Mar 2024 = 30 days: fine 2% 2030, interest 1% 1015; installments waive both.
    await save(conn, discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=3,
               min_installment_cents=100)
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 101_500, date(2024, 1, 31))
    message = await handlers.complete_message(conn, negotiation_step(debtor, invoice_id), TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert sent.updated_debt is not None
    assert (sent.updated_debt.principal_cents, sent.updated_debt.fine_cents, sent.updated_debt.interest_cents,
            sent.updated_debt.total_cents, sent.updated_debt.as_of) == (101_500, 2_030, 1_015, 104_545, TODAY)
    by_count = {o.installments: o for o in sent.offers}
    three = by_count[3]
    assert (three.down_payment_cents, three.installment_cents) == (33_834, 33_833)  # not "3x de R$ 338,34"
    for o in sent.offers:
        n_rest = o.installments - 1 if o.down_payment_cents else o.installments
        assert o.down_payment_cents + n_rest * o.installment_cents == o.total_cents
        assert o.total_cents + o.discount_cents == sent.updated_debt.total_cents


async def test_a_cpf_debtor_gets_consumer_rules_under_a_business_policy(conn: asyncpg.Connection) -> None:
    await save(conn, consumer=False, fine_rate=Decimal("0.10"), discounts=[], max_installments=1)
    person, company = uuid4(), uuid4()
    await invoice(conn, person, 10_000, date(2024, 1, 31), CPF)
    await invoice(conn, company, 10_000, date(2024, 1, 31), CNPJ)
    person_offer = (await handlers.current_offers(conn, TENANT.id, person, TODAY, NOW))[0]
    company_offer = (await handlers.current_offers(conn, TENANT.id, company, TODAY, NOW))[0]
    assert (person_offer["fine_cents"], person_offer["interest_cents"]) == (200, 100)  # 2%, 1% a month
    assert (company_offer["fine_cents"], company_offer["interest_cents"]) == (1_000, 100)


async def test_a_weekend_or_state_holiday_due_date_is_not_late(conn: asyncpg.Connection) -> None:
    await save(conn, discounts=[], max_installments=1)
    debtor = uuid4()
    # 9 Jul 2026 is a holiday in SP only (a Thursday): payable on Friday 10 Jul.
    await invoice(conn, debtor, 10_000, date(2026, 7, 9), state="SP")
    offer = (await handlers.current_offers(conn, TENANT.id, debtor, date(2026, 7, 10), NOW))[0]
    assert offer["total_cents"] == 10_000 and offer["fine_cents"] == 0
    # Paid on Monday for a Saturday due date: on time, so not a late payer.
    saturday = date(2026, 3, 7)
    paid = await invoice(conn, debtor, 5_000, saturday)
    await store.record_payment(conn, paid, 0, date(2026, 3, 9))
    assert await conn.fetchval("SELECT paid_late FROM invoices WHERE invoice_id = $1", paid) is False
    assert await store.history(conn, TENANT.id, debtor, date(2026, 7, 10)) == (1, 0)
    assert await store.history(conn, TENANT.id, debtor, date(2026, 7, 11)) == (1, 1)  # the SP one, now overdue


def paused(invoice_id: UUID, debtor: UUID, reasons: list[str]) -> CasePaused:
    return CasePaused(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id, debtor_id=debtor,
                      reason=reasons[-1], reasons=reasons)  # type: ignore[arg-type]


async def test_a_disputed_invoice_is_never_offered_nor_agreed(conn: asyncpg.Connection) -> None:
    await save(conn, discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=2,
               min_installment_cents=100)
    debtor = uuid4()
    kept = await invoice(conn, debtor, 10_000, date(2024, 1, 31))
    contested = await invoice(conn, debtor, 20_000, date(2024, 2, 5))
    shown = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    assert shown[0]["total_cents"] == 30_000

    await handlers.on_case_event(conn, paused(contested, debtor, ["dispute"]))
    # The offers shown before the dispute can be accepted neither by reply nor on the page/by an agent.
    agreement, why = await handlers.accept_by_reply(conn, TENANT.id, debtor, 2, "whatsapp", TODAY, NOW)
    assert agreement is None and "under dispute" in why
    with pytest.raises(handlers.InvoiceDisputed, match="under dispute"):
        await handlers.accept_offer(conn, TENANT, shown[1]["offer_id"], "self-service", TODAY, NOW, debtor)
    fresh = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    assert fresh and all(list(o["invoice_ids"]) == [kept] and o["total_cents"] == 10_000 for o in fresh)
    # An offer command names only what may be negotiated; over the disputed invoice alone nothing is sent.
    message = await handlers.complete_message(conn, negotiation_step(debtor, contested), TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert [i.invoice_id for i in sent.invoices] == [kept]

    # A promise on top keeps the dispute; lifting the dispute ends it, but the promise still holds the invoice
    # out of offer messages (its collection is paused) until it ends too.
    await handlers.on_case_event(conn, paused(contested, debtor, ["dispute", "promise"]))
    assert [d.invoice_id for d in await store.open_debts(conn, TENANT.id, debtor)] == [str(kept)]
    await handlers.on_case_event(conn, CasePauseLifted(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=contested,
                                                       debtor_id=debtor, reason="dispute", remaining=["promise"]))
    assert await store.disputed(conn, TENANT.id, [contested]) == []
    assert [d.invoice_id for d in await store.open_debts(conn, TENANT.id, debtor)] == [str(kept)]
    await handlers.on_case_event(conn, CaseResumed(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=contested,
                                                   debtor_id=debtor, reason="promise"))
    assert {d.invoice_id for d in await store.open_debts(conn, TENANT.id, debtor)} == {str(kept), str(contested)}
    # Resumed after a dispute: negotiable; upheld: never again.
    await handlers.on_case_event(conn, paused(contested, debtor, ["dispute"]))
    await handlers.on_case_event(conn, CaseResumed(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=contested,
                                                   debtor_id=debtor, reason="dispute"))
    assert len(await store.open_debts(conn, TENANT.id, debtor)) == 2
    await handlers.on_case_event(conn, paused(contested, debtor, ["dispute"]))
    await handlers.on_case_event(conn, CaseStopped(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=contested,
                                                   debtor_id=debtor, reason="dispute-upheld", cancelled_steps=0))
    await handlers.on_case_event(conn, CaseResumed(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=contested,
                                                   debtor_id=debtor, reason="promise"))
    assert [d.invoice_id for d in await store.open_debts(conn, TENANT.id, debtor)] == [str(kept)]


async def test_an_invoice_under_a_promise_to_pay_is_left_out_of_offer_messages(conn: asyncpg.Connection) -> None:
    """Seen in a 90-day simulation: a D+10 offer message fired for one invoice named the debtor's other
    invoice, paused by a promise to pay, and the dispatcher let it through."""
    await save(conn, discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=2,
               min_installment_cents=100)
    debtor = uuid4()
    fired = await invoice(conn, debtor, 10_000, date(2024, 1, 31))
    promised = await invoice(conn, debtor, 20_000, date(2024, 2, 5))
    await handlers.on_case_event(conn, paused(promised, debtor, ["promise"]))
    message = await handlers.complete_message(conn, negotiation_step(debtor, fired), TODAY, NOW, sign)
    sent = CONTACT_REQUESTED.validate_json(message.event.model_dump_json())
    assert [i.invoice_id for i in sent.invoices] == [fired]
    assert sent.offers and all(o.total_cents <= 10_000 for o in sent.offers)
    # The dispatchers learn which invoices the ruler fired: only those may have been resumed since a pause.
    assert sent.fired_invoice_ids == [fired]
    # Kept or expired, the promise ends and the invoice is negotiable again.
    await handlers.on_case_event(conn, CaseResumed(occurred_at=NOW, tenant_id=TENANT.id, invoice_id=promised,
                                                   debtor_id=debtor, reason="promise"))
    again = await handlers.complete_message(conn, negotiation_step(debtor, fired), TODAY, NOW, sign)
    assert {i.invoice_id for i in CONTACT_REQUESTED.validate_json(again.event.model_dump_json()).invoices} == {
        fired, promised}


async def test_an_offer_command_over_disputed_invoices_only_is_not_sent_and_says_why(
        conn: asyncpg.Connection) -> None:
    debtor = uuid4()
    contested = await invoice(conn, debtor, 20_000, date(2024, 2, 5))
    await handlers.on_case_event(conn, paused(contested, debtor, ["dispute"]))
    message = await handlers.complete_message(conn, negotiation_step(debtor, contested), TODAY, NOW, sign)
    attempt = CONTACT_EVENT.validate_json(message.event.model_dump_json())
    assert isinstance(attempt, ContactAttempted) and attempt.outcome == "suppressed"
    assert attempt.reason is not None and "under dispute" in attempt.reason


async def test_a_pix_paid_after_the_agreement_broke_is_applied_to_the_debt(conn: asyncpg.Connection) -> None:
    await save(conn, discounts=[DiscountRule(fine_pct=100, interest_pct=100)], max_installments=2,
               min_installment_cents=100, break_tolerance_days=2)
    debtor = uuid4()
    invoice_id = await invoice(conn, debtor, 10_000, date(2024, 1, 31))  # updated 10300, agreed 10000 in 2x
    offers = await handlers.current_offers(conn, TENANT.id, debtor, TODAY, NOW)
    agreement_id = await handlers.accept_offer(conn, TENANT, offers[1]["offer_id"], "agent", TODAY, NOW)
    late_day = date(2024, 3, 5)  # installment 1 due 2 Mar, 2 days' tolerance
    await conn.execute("UPDATE agreements SET status = 'broken', closed_at = $2, balance_cents = 10300 "
                       "WHERE agreement_id = $1", agreement_id, datetime(2024, 3, 5, tzinfo=UTC))
    before = await handlers.current_offers(conn, TENANT.id, debtor, late_day, NOW)
    assert before[0]["principal_cents"] == 10_000

    # The debtor pays the first installment's PIX code (5000) after the break; the creditor records it.
    await handlers.on_payment(conn, PaymentRecorded(
        occurred_at=NOW, tenant_id=TENANT.id, invoice_id=invoice_id, debtor_id=debtor, amount_cents=5_000,
        paid_at=NOW + timedelta(days=4), outstanding_cents=5_000), late_day, NOW)
    row = await store.agreement(conn, TENANT.id, agreement_id)
    assert row is not None and row["status"] == "broken"
    assert (row["balance_cents"], row["paid_after_close_cents"]) == (5_300, 5_000)
    assert [i["paid_cents"] for i in await store.installments(conn, agreement_id)] == [5_000, 0]
    after = await handlers.current_offers(conn, TENANT.id, debtor, late_day, NOW)
    assert {o["offer_id"] for o in after}.isdisjoint(o["offer_id"] for o in before)  # remade on what is left
    assert after[0]["principal_cents"] == 5_000
