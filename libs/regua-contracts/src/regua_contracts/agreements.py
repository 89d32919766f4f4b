"""Facts about negotiated agreements, published by negotiation on AGREEMENTS. Keyed by debtor id.
The ruler pauses the agreement's invoices while it runs, resumes them if it breaks or is cancelled, stops them
when settled."""

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import Event


class AgreementCreated(Event):
    type: Literal["agreement.created.v1"] = "agreement.created.v1"
    agreement_id: UUID
    debtor_id: UUID
    invoice_ids: list[UUID]
    installments: int
    total_cents: int
    first_due: date
    accepted_via: str = Field(default="agent", description="agent, self-service or reply")
    channel: str | None = Field(default=None, description="the channel a reply code came on")


class AgreementBroken(Event):
    """An installment late beyond the policy's tolerance: discounts revoked, collection resumes."""

    type: Literal["agreement.broken.v1"] = "agreement.broken.v1"
    agreement_id: UUID
    debtor_id: UUID
    invoice_ids: list[UUID]
    reason: str


class AgreementSettled(Event):
    """The last installment was paid: the debt is settled (the ruler stops and thanks the debtor)."""

    type: Literal["agreement.settled.v1"] = "agreement.settled.v1"
    agreement_id: UUID
    debtor_id: UUID
    invoice_ids: list[UUID]
    paid_cents: int


class AgreementCancelled(Event):
    """The creditor cancelled an invoice of the agreement: the agreement no longer stands (no discount is
    revoked, it was not the debtor's fault); the remaining invoices resume on the ruler and can be negotiated
    again."""

    type: Literal["agreement.cancelled.v1"] = "agreement.cancelled.v1"
    agreement_id: UUID
    debtor_id: UUID
    invoice_ids: list[UUID] = Field(description="the agreement's other invoices, which resume")
    cancelled_invoice_id: UUID
    reason: str


AnyAgreementEvent = Annotated[
    AgreementCreated | AgreementBroken | AgreementSettled | AgreementCancelled, Field(discriminator="type")
]
AGREEMENT_EVENT = TypeAdapter[AnyAgreementEvent](AnyAgreementEvent)
