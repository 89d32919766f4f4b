"""What the client returns: plain dataclasses, so callers never touch protobuf. Each says whether it is a
real answer or a fallback (and why)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from regua.credit.v1 import credit_analysis_pb2 as pb

FALLBACK_VERSION = "fallback"


class Behavior(StrEnum):
    ON_TIME = "on_time"
    SOMETIMES_LATE = "sometimes_late"
    ALWAYS_LATE = "always_late"
    NO_HISTORY = "no_history"  # the service knows the debtor but nothing is judged yet, or not the debtor at all
    UNKNOWN = "unknown"  # a fallback: the service did not answer


class Segment(StrEnum):
    FRIENDLY = "friendly"
    STANDARD = "standard"
    FIRM = "firm"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # e.g. "days_late": regua.credit.v1.ReasonCode without its prefix, lower case
    impact: int  # points added to (positive) or taken from (negative) the score


@dataclass(frozen=True, slots=True)
class DebtorProfile:
    debtor_id: UUID
    behavior: Behavior
    segment: Segment  # the recommended ruler segment
    score: int | None  # propensity to pay 0-1000; None in a fallback or for an unknown debtor
    reasons: tuple[Reason, ...] = ()
    model_version: str = ""
    invoices: int = 0
    paid_on_time: int = 0
    paid_late: int = 0
    open_overdue: int = 0
    mean_days_late: float = 0.0
    median_days_late: float = 0.0
    max_days_late: int = 0
    open_cents: int = 0
    overdue_cents: int = 0
    open_invoices: int = 0
    as_of: datetime | None = None
    found: bool = True  # False: the service has seen no invoice of this debtor (at this tenant)
    fallback: bool = False  # True: the service did not answer; re-ask when it is back
    fallback_reason: str | None = None

    @classmethod
    def not_found(cls, debtor_id: UUID) -> "DebtorProfile":
        return cls(debtor_id, Behavior.NO_HISTORY, Segment.STANDARD, None, found=False)

    @classmethod
    def fallback_for(cls, debtor_id: UUID, reason: str) -> "DebtorProfile":
        """What to act on without the service: nothing known, the standard ruler."""
        return cls(debtor_id, Behavior.UNKNOWN, Segment.STANDARD, None, model_version=FALLBACK_VERSION,
                   found=False, fallback=True, fallback_reason=reason)


@dataclass(frozen=True, slots=True)
class Debt:
    principal_cents: int
    fine_cents: int
    interest_cents: int
    total_cents: int
    days_overdue: int


@dataclass(frozen=True, slots=True)
class OfferLimits:
    invoice_id: UUID
    debt: Debt | None  # None in a fallback
    max_fine_discount_bps: int
    max_interest_discount_bps: int
    max_principal_discount_bps: int
    min_total_cents: int | None
    max_installments: int
    min_installment_cents: int | None
    offer_valid_days: int
    score: int | None
    model_version: str
    policy_version: int | None
    fallback: bool = False
    fallback_reason: str | None = None

    @classmethod
    def fallback_for(cls, invoice_id: UUID, reason: str) -> "OfferLimits":
        """No concessions without the service: no discount, a single payment, a short deadline."""
        return cls(invoice_id, None, 0, 0, 0, None, 1, None, 1, None, FALLBACK_VERSION, None,
                   fallback=True, fallback_reason=reason)


_BEHAVIOR = {
    pb.PAYMENT_BEHAVIOR_ON_TIME: Behavior.ON_TIME,
    pb.PAYMENT_BEHAVIOR_SOMETIMES_LATE: Behavior.SOMETIMES_LATE,
    pb.PAYMENT_BEHAVIOR_ALWAYS_LATE: Behavior.ALWAYS_LATE,
    pb.PAYMENT_BEHAVIOR_NO_HISTORY: Behavior.NO_HISTORY,
}
_SEGMENT = {
    pb.RULER_SEGMENT_FRIENDLY: Segment.FRIENDLY,
    pb.RULER_SEGMENT_STANDARD: Segment.STANDARD,
    pb.RULER_SEGMENT_FIRM: Segment.FIRM,
}


def _reasons(score: pb.Score) -> tuple[Reason, ...]:
    return tuple(Reason(pb.ReasonCode.Name(r.code).removeprefix("REASON_CODE_").lower(), r.impact)
                 for r in score.reasons)


def profile_from(m: pb.DebtorProfile) -> DebtorProfile:
    h, e = m.history, m.exposure
    return DebtorProfile(
        debtor_id=UUID(m.debtor_id), behavior=_BEHAVIOR.get(m.behavior, Behavior.UNKNOWN),
        segment=_SEGMENT.get(m.recommended_segment, Segment.STANDARD), score=m.score.value,
        reasons=_reasons(m.score), model_version=m.score.model_version, invoices=h.invoices,
        paid_on_time=h.paid_on_time, paid_late=h.paid_late, open_overdue=h.open_overdue,
        mean_days_late=h.mean_days_late, median_days_late=h.median_days_late, max_days_late=h.max_days_late,
        open_cents=e.open_cents, overdue_cents=e.overdue_cents, open_invoices=e.open_invoices,
        as_of=m.as_of.ToDatetime(tzinfo=UTC) if m.HasField("as_of") else None,
    )


def limits_from(m: pb.GetOfferLimitsResponse) -> OfferLimits:
    d = m.debt
    return OfferLimits(
        invoice_id=UUID(m.invoice_id),
        debt=Debt(d.principal_cents, d.fine_cents, d.interest_cents, d.total_cents, d.days_overdue),
        max_fine_discount_bps=m.max_fine_discount_bps, max_interest_discount_bps=m.max_interest_discount_bps,
        max_principal_discount_bps=m.max_principal_discount_bps, min_total_cents=m.min_total_cents,
        max_installments=m.max_installments, min_installment_cents=m.min_installment_cents,
        offer_valid_days=m.offer_valid_days, score=m.score.value, model_version=m.score.model_version,
        policy_version=m.policy_version,
    )
