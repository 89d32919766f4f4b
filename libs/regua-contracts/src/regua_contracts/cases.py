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


PauseReason = Literal["promise", "agreement", "dispute"]


class CasePaused(Event):
    """Collection of an invoice is on hold: a promise to pay, an active agreement or a dispute. A case holds
    every pause reason at once (``reasons``) and resumes only when none is left."""

    type: Literal["case.paused.v1"] = "case.paused.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: PauseReason
    until: datetime | None = None
    reasons: list[PauseReason] = Field(default=[], description="every reason holding the case now")


class CasePauseLifted(Event):
    """One pause reason ended (a promise expired, a dispute was rejected, an agreement broke) while others
    still hold the case: it stays paused."""

    type: Literal["case.pause-lifted.v1"] = "case.pause-lifted.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: PauseReason
    remaining: list[PauseReason]


class CaseResumed(Event):
    """The last pause reason ended: the case is back where it was (active, or exhausted when every amicable
    step had already run)."""

    type: Literal["case.resumed.v1"] = "case.resumed.v1"
    invoice_id: UUID
    debtor_id: UUID
    reason: str
    status: Literal["active", "exhausted"] = "active"


class CaseExhausted(Event):
    """Every amicable step has run; legal escalation may start."""

    type: Literal["case.exhausted.v1"] = "case.exhausted.v1"
    invoice_id: UUID
    debtor_id: UUID


AnyCaseEvent = Annotated[
    CaseOpened | CaseStopped | CasePaused | CasePauseLifted | CaseResumed | CaseExhausted,
    Field(discriminator="type")
]
CASE_EVENT = TypeAdapter[AnyCaseEvent](AnyCaseEvent)
