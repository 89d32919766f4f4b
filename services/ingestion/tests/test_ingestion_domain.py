"""Invoices as plain values: payments, settlement, cancellation and debtor identity (unit, no I/O)."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from regua_ingestion.domain import (
    Invoice,
    InvoiceNotOpen,
    InvoiceStatus,
    PaymentExceedsBalance,
    debtor_id_for,
)
from regua_ingestion.privacy import Holding, erasure_refusal

PAID_AT = datetime(2027, 3, 5, 14, 30, tzinfo=UTC)


def _invoice(amount_cents: int = 10_000, paid_cents: int = 0, status: InvoiceStatus = InvoiceStatus.OPEN) -> Invoice:
    return Invoice(id=uuid.uuid4(), tenant_id="acme", external_id="NF-1",
                   debtor_id=debtor_id_for("acme", "52998224725"), amount_cents=amount_cents,
                   paid_cents=paid_cents, due_date=date(2027, 3, 1), status=status)


def test_a_partial_payment_leaves_the_rest_open() -> None:
    invoice = _invoice(10_000)
    assert invoice.record_payment(3_000, PAID_AT) == 7_000
    assert invoice.paid_cents == 3_000
    assert invoice.outstanding_cents == 7_000
    assert invoice.status is InvoiceStatus.OPEN


def test_paying_the_rest_settles() -> None:
    invoice = _invoice(10_000)
    invoice.record_payment(3_000, PAID_AT)
    assert invoice.record_payment(7_000, PAID_AT) == 0
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.outstanding_cents == 0


def test_one_full_payment_settles() -> None:
    invoice = _invoice(10_000)
    assert invoice.record_payment(10_000, PAID_AT) == 0
    assert invoice.status is InvoiceStatus.PAID


def test_a_payment_above_the_balance_is_refused_and_changes_nothing() -> None:
    invoice = _invoice(10_000, paid_cents=4_000)
    with pytest.raises(PaymentExceedsBalance) as caught:
        invoice.record_payment(6_001, PAID_AT)
    assert caught.value.outstanding == 6_000
    assert "6000" in str(caught.value)
    assert invoice.paid_cents == 4_000
    assert invoice.status is InvoiceStatus.OPEN


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.CANCELLED])
def test_a_payment_on_an_invoice_not_open_is_refused(status: InvoiceStatus) -> None:
    invoice = _invoice(10_000, paid_cents=10_000 if status is InvoiceStatus.PAID else 0, status=status)
    with pytest.raises(InvoiceNotOpen) as caught:
        invoice.record_payment(1, PAID_AT)
    assert caught.value.status is status
    assert str(caught.value) == f"invoice is {status.value}"


def test_a_settled_invoice_takes_no_further_payment() -> None:
    invoice = _invoice(500)
    invoice.record_payment(500, PAID_AT)
    with pytest.raises(InvoiceNotOpen):
        invoice.record_payment(1, PAID_AT)
    assert invoice.paid_cents == 500


def test_cancel_an_open_invoice() -> None:
    invoice = _invoice()
    invoice.cancel()
    assert invoice.status is InvoiceStatus.CANCELLED
    with pytest.raises(InvoiceNotOpen):
        invoice.record_payment(100, PAID_AT)


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.CANCELLED])
def test_cancel_only_an_open_invoice(status: InvoiceStatus) -> None:
    invoice = _invoice(status=status)
    with pytest.raises(InvoiceNotOpen):
        invoice.cancel()
    assert invoice.status is status


def test_a_partly_paid_invoice_can_be_cancelled() -> None:
    invoice = _invoice(10_000)
    invoice.record_payment(2_500, PAID_AT)
    invoice.cancel()
    assert invoice.status is InvoiceStatus.CANCELLED
    assert invoice.paid_cents == 2_500


def test_debtor_id_is_stable() -> None:
    assert debtor_id_for("acme", "52998224725") == debtor_id_for("acme", "52998224725")
    # A name-based UUID: the same on every machine and every run, not a random one.
    assert debtor_id_for("acme", "52998224725").version == 5
    assert debtor_id_for("acme", "52998224725") == uuid.uuid5(
        uuid.UUID("6f1c7a52-4a4e-4d0b-9a52-3b0c1d2e9f10"), "acme:52998224725")


def test_debtor_id_is_tenant_scoped() -> None:
    assert debtor_id_for("acme", "52998224725") != debtor_id_for("globex", "52998224725")
    assert debtor_id_for("acme", "52998224725") != debtor_id_for("acme", "11222333000181")


def test_erasure_waits_for_open_debts_and_the_retention_period() -> None:
    now = datetime(2032, 3, 10, 12, tzinfo=UTC)
    assert (erasure_refusal(Holding(1, None), now, 1827) or "").startswith("open debt: 1 invoice(s)")
    ended = now - timedelta(days=1826)
    assert "legal retention until 2032-03-11" in (erasure_refusal(Holding(0, ended), now, 1827) or "")
    assert erasure_refusal(Holding(0, ended - timedelta(days=1)), now, 1827) is None
    assert erasure_refusal(Holding(0, None), now, 1827) is None  # nothing ever ended, nothing open
