"""What the contact history's API answers: declared in the OpenAPI document (``responses=``), never used to filter."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field


class ContactEntry(BaseModel):
    """An attempt, delivery, failure, reply, opt-out or call outcome (store.page, without its row id)."""

    at: datetime
    kind: str
    channel: str | None
    step_id: UUID | None
    step: str | None
    template: str | None
    tone: str | None
    outcome: str | None
    detail: dict[str, Any]


class ContactPage(BaseModel):
    debtor_id: UUID
    contacts: list[ContactEntry]
    next: str | None = Field(description="the ``before`` of the next page; null on the last page")
