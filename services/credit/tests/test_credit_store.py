"""The read model, the analyst's queries and training against the real PostgreSQL (integration)."""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from regua_contracts.common import Creditor, NewInvoice
from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_credit import handlers, store
from regua_credit.analysis import Analyst, InvoiceNotOpen, NotFound, ScoreModel
from regua_credit.bureau import NoBureau
from regua_credit.domain import Behavior
from regua_credit.offers import NegotiationPolicy
from regua_credit.training import NotEnoughHistory
from regua_localstack.portfolio import invoice
from regua_platform.clock import SimulatedClock

CREDITOR = Creditor(name="Loja Exemplo Ltda", cnpj="11222333000181", address="Av. Paulista, 1000, São Paulo - SP")
NOW = datetime(2027, 6, 1, 15, tzinfo=UTC)
RNG = random.Random(11)


def registered(tenant: str, debtor: uuid.UUID, due: date, amount: int = 10_000) -> InvoiceRegistered:
    new = NewInvoice.model_validate({**invoice(RNG, f"X-{uuid.uuid4().hex[:8]}", due), "due_date": due,
                                     "amount_cents": amount})
    return InvoiceRegistered(occurred_at=datetime.combine(due - timedelta(days=20), time(12), UTC),
                             tenant_id=tenant, invoice_id=uuid.uuid4(), debtor_id=debtor, creditor=CREDITOR,
                             invoice=new)


def paid(event: InvoiceRegistered, on: date, outstanding: int = 0) -> PaymentRecorded:
    return PaymentRecorded(occurred_at=NOW, tenant_id=event.tenant_id, invoice_id=event.invoice_id,
                           debtor_id=event.debtor_id, amount_cents=event.invoice.amount_cents - outstanding,
                           paid_at=datetime.combine(on, time(15), UTC), outstanding_cents=outstanding)


async def apply(pool: asyncpg.Pool, *events: InvoiceRegistered | PaymentRecorded | InvoiceCancelled) -> list[object]:
    async with pool.acquire() as conn, conn.transaction():
        return list(await handlers.apply_invoice_events(conn, list(events)))


def analyst(pool: asyncpg.Pool, model: ScoreModel | None = None) -> Analyst:
    return Analyst(pool, model or ScoreModel(), NoBureau(), SimulatedClock(NOW), "America/Sao_Paulo")


async def test_payments_move_the_profile_and_tenants_stay_apart(credit_pool: asyncpg.Pool) -> None:
    debtor = uuid.uuid4()
    due = [date(2027, 3, 1), date(2027, 4, 5), date(2027, 5, 3)]  # Mondays
    invoices = [registered("tn_a", debtor, d) for d in due]
    await apply(credit_pool, *invoices)
    profiles = await analyst(credit_pool).profiles("tn_a", [debtor])
    assert profiles[debtor].behavior is Behavior.ALWAYS_LATE  # three invoices overdue right now
    for event in invoices:
        assert await apply(credit_pool, paid(event, event.invoice.due_date + timedelta(days=5))) == []
    profile = (await analyst(credit_pool).profiles("tn_a", [debtor]))[debtor]
    assert profile.behavior is Behavior.ALWAYS_LATE
    assert (profile.history.paid_late, profile.history.open_overdue, profile.history.max_days_late) == (3, 0, 5)
    assert await analyst(credit_pool).profiles("tn_b", [debtor]) == {}  # another tenant sees nothing


async def test_partial_payment_cancellation_and_unknown_invoices(credit_pool: asyncpg.Pool) -> None:
    debtor = uuid.uuid4()
    first, second = registered("tn_a", debtor, date(2027, 5, 24)), registered("tn_a", debtor, date(2027, 7, 5))
    await apply(credit_pool, first, second)
    stray = paid(registered("tn_a", debtor, date(2027, 5, 3)), date(2027, 5, 3))
    wrong_tenant = paid(first.model_copy(update={"tenant_id": "tn_b"}), date(2027, 5, 3))
    assert await apply(credit_pool, paid(first, date(2027, 5, 20), outstanding=4_000), stray, wrong_tenant,
                       InvoiceCancelled(occurred_at=NOW, tenant_id="tn_a", invoice_id=second.invoice_id,
                                        debtor_id=debtor, reason="duplicate")) == [stray, wrong_tenant]
    history = (await analyst(credit_pool).profiles("tn_a", [debtor]))[debtor].history
    assert (history.invoices, history.open_invoices, history.open_cents, history.overdue_cents) == (1, 1, 4_000, 4_000)


async def test_offer_limits_use_the_tenant_policy(credit_pool: asyncpg.Pool) -> None:
    debtor = uuid.uuid4()
    event = registered("tn_a", debtor, date(2027, 5, 3), amount=100_000)  # 29 days overdue on 2027-06-01
    await apply(credit_pool, event)
    a = analyst(credit_pool)
    limits = await a.offer_limits("tn_a", debtor, event.invoice_id)
    assert (limits.limits.debt.fine_cents, limits.limits.debt.interest_cents, limits.policy_version) == (2_000, 967, 0)
    assert await store.save_policy(credit_pool, "tn_a", NegotiationPolicy(fine_bps=100, max_installments=4)) == 1
    tightened = await a.offer_limits("tn_a", debtor, event.invoice_id)
    assert (tightened.limits.debt.fine_cents, tightened.policy_version) == (1_000, 1)
    with pytest.raises(NotFound):
        await a.offer_limits("tn_b", debtor, event.invoice_id)
    with pytest.raises(NotFound):
        await a.offer_limits("tn_a", debtor, uuid.uuid4())
    await apply(credit_pool, paid(event, date(2027, 5, 30)))
    with pytest.raises(InvoiceNotOpen):
        await a.offer_limits("tn_a", debtor, event.invoice_id)


async def test_training_stores_a_model_the_service_picks_up(credit_pool: asyncpg.Pool) -> None:
    with pytest.raises(NotEnoughHistory):
        await handlers.train_model(credit_pool, "America/Sao_Paulo", 100, NOW)
    rng = random.Random(3)
    for _ in range(60):
        debtor, habit = uuid.uuid4(), rng.choice([0, 0, 3, 45])
        for k in range(4):
            event = registered("tn_a", debtor, date(2027, 1, 4) + timedelta(weeks=4 * k))
            await apply(credit_pool, event, paid(event, event.invoice.due_date + timedelta(days=habit)))
    model = ScoreModel()
    await model.refresh(credit_pool)
    assert model.current.version == "rules-v2"
    trained = await handlers.train_model(credit_pool, "America/Sao_Paulo", 100, NOW)
    assert trained.version == "logreg-20270601T150000Z" and trained.metrics["samples"] == 240
    await model.refresh(credit_pool)
    assert model.current == trained
    profile = next(iter((await analyst(credit_pool, model).profiles("tn_a", [debtor])).values()))
    assert profile.score.method == "model" and profile.score.model_version == trained.version
