"""Opening a case: pick the segment (and champion/challenger variant), then plan each step's first moment."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from uuid import UUID

from regua_compliance import ContactPolicy, next_allowed_moment
from regua_compliance.calendar import time_zone
from regua_ruler.domain.persons import can_text
from regua_ruler.domain.profiles import CaseFacts, holds
from regua_ruler.domain.rulers import RulerDefinition, Segment

Variant = Literal["champion", "challenger"]


@dataclass(frozen=True)
class Schedule:
    """When contacts go out: the ruler's hour of day in the debtor's time zone, moved by the compliance
    calendar to the next allowed moment; and how late a step may be and still go out."""

    send_hour: int
    late_grace: timedelta
    policy: ContactPolicy

    def fire_at(self, due: date, offset_days: int, state: str | None, postcode: str | None = None,
                city_ibge: str | None = None) -> datetime | None:
        zone = time_zone(state, postcode, city_ibge)  # the address can put the debtor off the state's clock
        nominal = datetime.combine(due + timedelta(days=offset_days), time(self.send_hour), zone)
        return next_allowed_moment(nominal, state, self.policy, zone)


@dataclass(frozen=True)
class PlannedStep:
    step_key: str
    slot: int
    channels: tuple[str, ...]
    template: str
    tone: str
    offset_days: int
    fire_at: datetime
    status: Literal["pending", "skipped"]
    reason: str | None = None


def challenger_share_point(tenant_id: str, ruler: str, segment: str, debtor_id: UUID) -> float:
    """A debtor's stable place in [0, 1): the same debtor always lands in the same variant."""
    digest = hashlib.sha256(f"{tenant_id}:{ruler}:{segment}:{debtor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_segment(ruler: RulerDefinition, facts: CaseFacts) -> Segment:
    return next(s for s in ruler.segments if holds(s.when, facts))  # the last segment always holds


def variant_of(segment: Segment, tenant_id: str, ruler: str, debtor_id: UUID) -> Variant:
    if segment.challenger is None:
        return "champion"
    point = challenger_share_point(tenant_id, ruler, segment.name, debtor_id)
    return "challenger" if point < segment.challenger.share else "champion"


def _reachable(channel: str, email: str | None, phone: str | None) -> bool:
    if channel == "email":
        return bool(email)
    return can_text(phone) if channel in ("sms", "whatsapp") else bool(phone)


def plan_steps(
    segment: Segment, *, due: date, facts: CaseFacts, email: str | None, phone: str | None, state: str | None,
    opened_at: datetime, schedule: Schedule, postcode: str | None = None, city_ibge: str | None = None,
) -> list[PlannedStep]:
    """Every message slot of every step: pending with its first moment, or skipped with the reason."""
    planned = []
    for step in segment.steps:
        when = schedule.fire_at(due, step.offset_days, state, postcode, city_ibge)
        for slot, channels in enumerate(step.slots):
            reason = None
            if not holds(step.when, facts):
                reason = "step conditions not met"
            elif not any(_reachable(c, email, phone) for c in channels):
                reason = "no contact for " + "/".join(channels)
            elif when is None:
                reason = "no contact hours"
            elif when < opened_at - schedule.late_grace:
                reason = "already past when the case opened"
            planned.append(PlannedStep(
                step.key, slot, tuple(channels), step.template, step.tone, step.offset_days,
                when or opened_at, "skipped" if reason else "pending", reason,
            ))
    return planned


_MESSAGE_NS = uuid.UUID("d2f7c6a1-3b4e-4f5a-8c9d-0e1f2a3b4c5d")


def message_id(parts: list[tuple[UUID, str, int]]) -> UUID:
    """The idempotency key of one message: the (invoice, step, slot) rows it covers."""
    return uuid.uuid5(_MESSAGE_NS, "|".join(f"{i}:{k}:{s}" for i, k, s in sorted(parts)))


def thank_you_id(invoice_id: UUID, channel: str) -> UUID:
    return uuid.uuid5(_MESSAGE_NS, f"{invoice_id}:thank-you:{channel}")


def confirmation_id(agreement_id: UUID) -> UUID:
    """One confirmation per agreement, whatever redelivers its creation."""
    return uuid.uuid5(_MESSAGE_NS, f"{agreement_id}:agreement")
