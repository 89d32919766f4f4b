"""Offer limits: how far a negotiation may go on one open invoice. Pure: no I/O.

The debt as of a day is the outstanding principal, the late fine (the tenant's rate, at most 2%: CDC art.
52 §1) once the invoice is past due, and interest on arrears (the tenant's monthly rate, default 1%, pro
rata die over 30-day months). Money is integer cents; each part is rounded half up, discounts are rounded
down, so a limit never exceeds the policy.

The tenant's negotiation policy sets the widest limits; the score narrows them:

| score   | fine waiver | interest waiver | principal discount | installments |
|---------|-------------|-----------------|--------------------|--------------|
| >= 700  | policy      | policy          | policy             | policy       |
| 400-699 | policy      | half            | half               | half         |
| < 400   | half        | none            | none               | a quarter    |

("está" inadimplente keeps the relationship with fine and interest waived; "é" gets fewer concessions.)
Installments are also capped so that none is below the policy's minimum installment.
"""

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from regua_credit.domain import days_late

BPS = 10_000
Bps = Annotated[int, Field(ge=0, le=BPS)]


class NegotiationPolicy(BaseModel):
    """A tenant's policy; a tenant without one gets these defaults (version 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fine_bps: Annotated[int, Field(ge=0, le=200, description="late fine; at most 2% (CDC art. 52 §1)")] = 200
    monthly_interest_bps: Annotated[int, Field(ge=0, le=1000)] = 100
    max_fine_discount_bps: Bps = BPS
    max_interest_discount_bps: Bps = BPS
    max_principal_discount_bps: Bps = 1000
    max_installments: Annotated[int, Field(ge=1, le=120)] = 12
    min_installment_cents: Annotated[int, Field(ge=1)] = 5_000
    offer_valid_days: Annotated[int, Field(ge=1, le=90)] = 5


DEFAULT_POLICY = NegotiationPolicy()


@dataclass(frozen=True, slots=True)
class Debt:
    principal_cents: int
    fine_cents: int
    interest_cents: int
    days_overdue: int

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.fine_cents + self.interest_cents


@dataclass(frozen=True, slots=True)
class OfferLimits:
    debt: Debt
    max_fine_discount_bps: int
    max_interest_discount_bps: int
    max_principal_discount_bps: int
    max_installments: int
    min_installment_cents: int
    offer_valid_days: int

    @property
    def max_discount_cents(self) -> int:
        return (_share(self.debt.fine_cents, self.max_fine_discount_bps)
                + _share(self.debt.interest_cents, self.max_interest_discount_bps)
                + _share(self.debt.principal_cents, self.max_principal_discount_bps))

    @property
    def min_total_cents(self) -> int:
        return self.debt.total_cents - self.max_discount_cents


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _share(cents: int, bps: int) -> int:
    return int((Decimal(cents) * bps / BPS).quantize(Decimal(1), rounding=ROUND_DOWN))


def debt_on(principal_cents: int, due: date, today: date, policy: NegotiationPolicy,
            state: str | None = None) -> Debt:
    overdue = days_late(due, today, state)
    if overdue == 0:
        return Debt(principal_cents, 0, 0, 0)
    principal = Decimal(principal_cents)
    fine = principal * policy.fine_bps / BPS
    interest = principal * policy.monthly_interest_bps / BPS * overdue / 30
    return Debt(principal_cents, _cents(fine), _cents(interest), overdue)


# (fine, interest, principal, installments) as fractions of the policy's limits, by score band.
_BANDS: tuple[tuple[int, tuple[Fraction, Fraction, Fraction, Fraction]], ...] = (
    (700, (Fraction(1), Fraction(1), Fraction(1), Fraction(1))),
    (400, (Fraction(1), Fraction(1, 2), Fraction(1, 2), Fraction(1, 2))),
    (0, (Fraction(1, 2), Fraction(0), Fraction(0), Fraction(1, 4))),
)


def offer_limits(debt: Debt, policy: NegotiationPolicy, score: int) -> OfferLimits:
    fine, interest, principal, installments = next(f for floor, f in _BANDS if score >= floor)
    limits = OfferLimits(
        debt=debt,
        max_fine_discount_bps=int(policy.max_fine_discount_bps * fine),
        max_interest_discount_bps=int(policy.max_interest_discount_bps * interest),
        max_principal_discount_bps=int(policy.max_principal_discount_bps * principal),
        max_installments=1,
        min_installment_cents=policy.min_installment_cents,
        offer_valid_days=policy.offer_valid_days,
    )
    by_band = max(1, int(policy.max_installments * installments))
    by_minimum = max(1, limits.min_total_cents // policy.min_installment_cents)
    return replace(limits, max_installments=min(by_band, by_minimum))
