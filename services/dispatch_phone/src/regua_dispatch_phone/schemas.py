"""What the agents' API answers: declared in the OpenAPI document (``responses=``), never used to filter."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import OfferSummary


class ScriptParts(BaseModel):
    opening: str
    not_the_debtor: str
    confirmed: str


class CallView(BaseModel):
    """A call as an agent sees it, with its script (handlers.view)."""

    call_id: UUID
    status: Literal["queued", "assigned", "done", "cancelled"]
    debtor_id: UUID
    name: str
    phone: str | None
    state: str | None
    creditor: Creditor
    invoices: list[InvoiceSummary]
    total_cents: int
    days_overdue: int
    step: str
    template: str
    tone: str
    calls_made: int
    outcome: str | None
    agent_id: str | None
    not_before: datetime
    offers: list[OfferSummary]
    self_service_url: str | None
    script: str
    script_parts: ScriptParts
