"""Facts about collection cases, published by the ruler on CASES."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from regua_contracts.common import Event


class CaseOpened(Event):
    type: Literal["case.opened.v1"] = "case.opened.v1"
    invoice_id: UUID
    debtor_id: UUID
    ruler: str
    ruler_version: int
    segment: str = ""
    variant: Literal["champion", "challenger"] = "champion"
    planned_steps: int


class CaseStopped(Event):
    type: Literal["case.stopped.v1"] = "case.stopped.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: Literal["paid", "cancelled", "dispute-upheld"]
    cancelled_steps: int


class CasePaused(Event):
    """Collection of an invoice is on hold: a promise to pay, an active agreement or a dispute."""

    type: Literal["case.paused.v1"] = "case.paused.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: Literal["promise", "agreement", "dispute"]
    until: datetime | None = None


class CaseResumed(Event):
    type: Literal["case.resumed.v1"] = "case.resumed.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: str


class CaseExhausted(Event):
    """Every amicable step has run; legal escalation may start."""

    type: Literal["case.exhausted.v1"] = "case.exhausted.v1"
    invoice_id: UUID
    debtor_id: UUID


AnyCaseEvent = Annotated[
    CaseOpened | CaseStopped | CasePaused | CaseResumed | CaseExhausted, Field(discriminator="type")
]
CASE_EVENT = TypeAdapter[AnyCaseEvent](AnyCaseEvent)
