"""Facts about collection cases, published by the ruler on CASES."""

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
    planned_steps: int


class CaseStopped(Event):
    type: Literal["case.stopped.v1"] = "case.stopped.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: Literal["paid", "cancelled"]
    cancelled_steps: int


class CaseExhausted(Event):
    """Every amicable step has run; legal escalation may start."""

    type: Literal["case.exhausted.v1"] = "case.exhausted.v1"
    invoice_id: UUID
    debtor_id: UUID


AnyCaseEvent = Annotated[CaseOpened | CaseStopped | CaseExhausted, Field(discriminator="type")]
CASE_EVENT = TypeAdapter[AnyCaseEvent](AnyCaseEvent)
