"""What the ruler's API answers: declared in the OpenAPI document (``responses=``), never used to filter."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from regua_ruler.domain.rulers import RulerDefinition

CaseStatus = Literal["active", "paused", "stopped", "exhausted"]
PauseReason = Literal["promise", "agreement", "dispute"]


class SavedRuler(BaseModel):
    name: str
    version: int


class RulerVersion(BaseModel):
    version: int
    created_at: datetime


class RulerView(SavedRuler):
    definition: RulerDefinition | None
    source: str
    versions: list[RulerVersion]


class VariantPerformance(BaseModel):
    variant: Literal["champion", "challenger"]
    cases: int
    contacts_sent: int
    payments: int
    recovered_cents: int
    recovery_rate: float


class RulerPerformance(BaseModel):
    ruler: str
    variants: list[VariantPerformance]


class MigratedCases(BaseModel):
    ruler: str
    version: int
    cases_migrated: int


class CasePause(BaseModel):
    reason: PauseReason
    until: datetime | None
    since: datetime


class CaseStep(BaseModel):
    step_key: str
    slot: int
    channels: list[str]
    channel: str | None
    status: Literal["pending", "fired", "cancelled", "skipped"]
    reason: str | None
    fire_at: datetime
    fired_at: datetime | None


class CaseView(BaseModel):
    """A case (cases.case_of) with its pause reasons and planned steps."""

    invoice_id: UUID
    debtor_id: UUID
    status: CaseStatus
    resume_status: Literal["active", "exhausted"]
    stop_reason: str | None
    ruler_name: str
    ruler_version: int
    segment: str
    variant: Literal["champion", "challenger"]
    behaviour: str
    score_band: str
    profile_fallback: bool
    amount_cents: int
    paid_cents: int
    due_date: date
    opened_at: datetime
    closed_at: datetime | None
    pause_reasons: list[CasePause]
    pause_reason: PauseReason | None
    paused_until: datetime | None
    steps: list[CaseStep]


class DisputeOpened(BaseModel):
    invoice_id: UUID
    status: Literal["paused"]
    reason: Literal["dispute"]


class DisputeAnswered(BaseModel):
    invoice_id: UUID
    status: CaseStatus


class ClockView(BaseModel):
    now: datetime
    due_steps: int


class ClockMoved(BaseModel):
    now: datetime


class RulerStats(BaseModel):
    """Cases and steps by status, across tenants."""

    cases: dict[str, int]
    steps: dict[str, int]
