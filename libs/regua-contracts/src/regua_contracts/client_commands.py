"""Commands client companies produce to CLIENT_COMMANDS. Header ``x-api-key`` authenticates the tenant."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import Field, TypeAdapter

from regua_contracts.common import Cents, Contract, NewInvoice


class ClientCommand(Contract):
    command_id: UUID = Field(default_factory=uuid4, description="client-chosen; a repeat is ignored")


class RegisterInvoice(ClientCommand):
    type: Literal["invoice.register.v1"] = "invoice.register.v1"
    invoice: NewInvoice


class RecordPayment(ClientCommand):
    type: Literal["invoice.record-payment.v1"] = "invoice.record-payment.v1"
    external_id: str
    amount_cents: Cents
    paid_at: datetime


class CancelInvoice(ClientCommand):
    type: Literal["invoice.cancel.v1"] = "invoice.cancel.v1"
    external_id: str
    reason: Annotated[str, Field(max_length=200)] = ""


AnyClientCommand = Annotated[RegisterInvoice | RecordPayment | CancelInvoice, Field(discriminator="type")]
CLIENT_COMMAND = TypeAdapter[AnyClientCommand](AnyClientCommand)
