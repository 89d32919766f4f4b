"""Facts about invoices, published by ingestion on INVOICES."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import Creditor, Event, NewInvoice


class InvoiceRegistered(Event):
    type: Literal["invoice.registered.v1"] = "invoice.registered.v1"
    invoice_id: UUID
    debtor_id: UUID
    creditor: Creditor
    invoice: NewInvoice
    person_id: UUID | None = Field(default=None, description="the person behind the debtor, one per CPF/CNPJ "
                                   "across every creditor (ingestion assigns it)")


class PaymentRecorded(Event):
    type: Literal["invoice.payment-recorded.v1"] = "invoice.payment-recorded.v1"
    invoice_id: UUID
    debtor_id: UUID
    amount_cents: int
    paid_at: datetime
    outstanding_cents: int = Field(description="0 means the invoice is settled")


class InvoiceCancelled(Event):
    type: Literal["invoice.cancelled.v1"] = "invoice.cancelled.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: str


AnyInvoiceEvent = Annotated[
    InvoiceRegistered | PaymentRecorded | InvoiceCancelled, Field(discriminator="type")
]
INVOICE_EVENT = TypeAdapter[AnyInvoiceEvent](AnyInvoiceEvent)
