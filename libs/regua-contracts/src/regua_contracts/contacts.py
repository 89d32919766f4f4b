"""Contact commands (ruler -> a channel's dispatcher) and contact facts (dispatchers -> everyone)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import Contract, Creditor, Event, InvoiceSummary


class Recipient(Contract):
    debtor_id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    state: str | None = None


class ContactRequested(Event):
    """Send one message for one ruler step. ``step_id`` is the idempotency key end to end."""

    type: Literal["contact.requested.v1"] = "contact.requested.v1"
    step_id: UUID
    step_key: str = Field(description="the ruler step, e.g. D-5, or 'thank-you'")
    channel: str
    template: str
    tone: str
    recipient: Recipient
    creditor: Creditor
    invoices: list[InvoiceSummary]
    scheduled_for: datetime


class ContactAttempted(Event):
    type: Literal["contact.attempted.v1"] = "contact.attempted.v1"
    step_id: UUID
    step_key: str
    channel: str
    debtor_id: UUID
    invoice_ids: list[UUID]
    outcome: Literal["sent", "failed", "suppressed"]
    reason: str = ""


class ContactOptedOut(Event):
    type: Literal["contact.opted-out.v1"] = "contact.opted-out.v1"
    debtor_id: UUID
    channel: str
    source: str = Field(description="unsubscribe-link, reply, agent")


AnyContactEvent = Annotated[ContactAttempted | ContactOptedOut, Field(discriminator="type")]
CONTACT_EVENT = TypeAdapter[AnyContactEvent](AnyContactEvent)
CONTACT_REQUESTED = TypeAdapter(ContactRequested)
