"""Invoices as the ingestion service sees them: registered, paid (maybe in parts) or cancelled."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

_DEBTOR_NS = uuid.UUID("6f1c7a52-4a4e-4d0b-9a52-3b0c1d2e9f10")


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"


class InvoiceNotOpen(Exception):
    def __init__(self, status: InvoiceStatus) -> None:
        super().__init__(f"invoice is {status}")
        self.status = status


class PaymentExceedsBalance(Exception):
    def __init__(self, outstanding: int) -> None:
        super().__init__(f"payment exceeds the outstanding balance of {outstanding} cents")
        self.outstanding = outstanding


def debtor_id_for(tenant_id: str, document: str) -> UUID:
    """A debtor is one document within one tenant: the same person at two creditors is two debtors."""
    return uuid.uuid5(_DEBTOR_NS, f"{tenant_id}:{document}")


@dataclass
class Invoice:
    id: UUID
    tenant_id: str
    external_id: str
    debtor_id: UUID
    amount_cents: int
    paid_cents: int
    due_date: date
    status: InvoiceStatus

    @property
    def outstanding_cents(self) -> int:
        return self.amount_cents - self.paid_cents

    def record_payment(self, amount_cents: int, paid_at: datetime) -> int:
        """Applies a payment; returns what is still owed. Settles the invoice at zero."""
        if self.status is not InvoiceStatus.OPEN:
            raise InvoiceNotOpen(self.status)
        if amount_cents > self.outstanding_cents:
            raise PaymentExceedsBalance(self.outstanding_cents)
        self.paid_cents += amount_cents
        if self.outstanding_cents == 0:
            self.status = InvoiceStatus.PAID
        return self.outstanding_cents

    def cancel(self) -> None:
        if self.status is not InvoiceStatus.OPEN:
            raise InvoiceNotOpen(self.status)
        self.status = InvoiceStatus.CANCELLED
