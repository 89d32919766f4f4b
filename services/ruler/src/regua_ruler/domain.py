"""The collection ruler as pure rules: which steps a case gets, when each fires, and what stops it."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

_STEP_NS = uuid.UUID("d2f7c6a1-3b4e-4f5a-8c9d-0e1f2a3b4c5d")

Channel = Literal["email", "sms", "whatsapp", "phone"]
Tone = Literal["friendly", "informative", "cordial", "firm", "formal"]


class CaseStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    EXHAUSTED = "exhausted"


class RulerStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(min_length=1, max_length=20)]
    offset_days: Annotated[int, Field(ge=-60, le=365, description="days from the due date; negative is pre-due")]
    channels: Annotated[list[Channel], Field(min_length=1)]
    template: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    tone: Tone
    min_amount_cents: Annotated[int | None, Field(ge=0)] = None


class RulerDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$")]
    description: str = ""
    steps: Annotated[list[RulerStep], Field(min_length=1)]

    @field_validator("steps")
    @classmethod
    def _unique_keys(cls, steps: list[RulerStep]) -> list[RulerStep]:
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise ValueError("step keys must be unique")
        return sorted(steps, key=lambda s: s.offset_days)


@dataclass(frozen=True)
class Schedule:
    """When contacts go out: the hour of day in the agency's time zone."""

    timezone: ZoneInfo
    send_hour: int
    late_grace: timedelta

    def fire_at(self, due: date, offset_days: int) -> datetime:
        return datetime.combine(due + timedelta(days=offset_days), time(self.send_hour), self.timezone)


@dataclass(frozen=True)
class PlannedStep:
    step_key: str
    channel: str
    step_id: UUID
    template: str
    tone: str
    fire_at: datetime
    status: Literal["pending", "skipped"]
    reason: str | None = None


def step_id(invoice_id: UUID, step_key: str, channel: str) -> UUID:
    """The idempotency key of one contact: the same step of the same invoice on the same channel."""
    return uuid.uuid5(_STEP_NS, f"{invoice_id}:{step_key}:{channel}")


def reachable(channel: str, email: str | None, phone: str | None) -> bool:
    return bool(email) if channel == "email" else bool(phone)


def plan_case(
    ruler: RulerDefinition, *, invoice_id: UUID, due: date, amount_cents: int,
    email: str | None, phone: str | None, opened_at: datetime, schedule: Schedule,
) -> list[PlannedStep]:
    """Every (step, channel) of the ruler, pending or skipped with the reason."""
    planned = []
    for step in ruler.steps:
        when = schedule.fire_at(due, step.offset_days)
        for channel in step.channels:
            reason = None
            if step.min_amount_cents is not None and amount_cents < step.min_amount_cents:
                reason = f"amount below {step.min_amount_cents} cents"
            elif not reachable(channel, email, phone):
                reason = f"no {'e-mail' if channel == 'email' else 'phone'} for {channel}"
            elif when < opened_at - schedule.late_grace:
                reason = "already past when the case opened"
            planned.append(PlannedStep(
                step.key, channel, step_id(invoice_id, step.key, channel), step.template, step.tone, when,
                "skipped" if reason else "pending", reason,
            ))
    return planned


def is_too_late(fire_at: datetime, now: datetime, schedule: Schedule) -> bool:
    """After downtime, a step late by more than the grace is skipped rather than sent out of context."""
    return now - fire_at > schedule.late_grace


def thank_you_channel(email: str | None, phone: str | None) -> str | None:
    if email:
        return "email"
    return "sms" if phone else None
