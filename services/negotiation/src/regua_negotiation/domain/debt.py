"""Debt update: what an overdue invoice is worth today.

    due today = principal + fine + interest
    fine      = principal x fine_rate                              (once, from the day after the due date)
    interest  = principal x monthly_rate x days_overdue / 30       (simple, pro rata die, commercial month)

The due date is the effective one (regua_finance.calendar): a due date on a Saturday, Sunday or national
holiday (or a holiday of the debtor's state, when known) is payable on the next business day without fine or
interest, and days overdue count from that day. A debtor with a CPF is a consumer whatever the policy says:
the fine is capped at 2% (CDC art. 52 §1); interest never exceeds the agency's legal ceiling (legal.py).

Interest runs on the principal only (never on the fine). Amounts are integer cents; every product is
computed exactly in Decimal and rounded to the cent once, with ROUND_HALF_EVEN (banker's rounding), so
hand-computed cases and the code agree and a rounding bias does not accumulate over a portfolio.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from regua_finance import DEFAULT_CEILINGS, LegalCeilings, days_late
from regua_negotiation.domain.policy import DiscountRule, NegotiationPolicy

COMMERCIAL_MONTH_DAYS = 30
_HUNDRED = Decimal(100)


def to_cents(value: Decimal) -> int:
    """Rounds an exact amount in cents to whole cents (ROUND_HALF_EVEN)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def pct_of(cents: int, pct: Decimal) -> int:
    return to_cents(Decimal(cents) * pct / _HUNDRED)


@dataclass(frozen=True)
class Debt:
    """One open invoice as negotiation sees it."""

    invoice_id: str
    external_id: str
    principal_cents: int  # what is still outstanding of the invoice's amount
    due_date: date
    consumer: bool | None = None  # True: a CPF debtor (consumer rules always); None: unknown document
    state: str | None = None  # the debtor's UF, for state holidays


@dataclass(frozen=True)
class UpdatedDebt:
    principal_cents: int
    fine_cents: int
    interest_cents: int
    days_overdue: int

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.fine_cents + self.interest_cents

    def __add__(self, other: "UpdatedDebt") -> "UpdatedDebt":
        return UpdatedDebt(self.principal_cents + other.principal_cents, self.fine_cents + other.fine_cents,
                           self.interest_cents + other.interest_cents, max(self.days_overdue, other.days_overdue))

    def discounted(self, rule: DiscountRule, *, principal: bool) -> "UpdatedDebt":
        """The debt after the rule's discounts (on the principal too only when ``principal``)."""
        return UpdatedDebt(
            self.principal_cents - (pct_of(self.principal_cents, rule.principal_pct) if principal else 0),
            self.fine_cents - pct_of(self.fine_cents, rule.fine_pct),
            self.interest_cents - pct_of(self.interest_cents, rule.interest_pct),
            self.days_overdue,
        )


ZERO = UpdatedDebt(0, 0, 0, 0)


def is_consumer(debt: Debt, policy: NegotiationPolicy) -> bool:
    """Consumer rules apply when the policy says so, and to every CPF debtor whatever the policy says."""
    return policy.consumer or debt.consumer is True


def update(debt: Debt, today: date, policy: NegotiationPolicy,
           ceilings: LegalCeilings = DEFAULT_CEILINGS) -> UpdatedDebt:
    days = days_late(debt.due_date, today, debt.state)
    if days <= 0:
        return UpdatedDebt(debt.principal_cents, 0, 0, 0)
    consumer = is_consumer(debt, policy)
    principal = Decimal(debt.principal_cents)
    fine = to_cents(principal * ceilings.fine_rate(policy.fine_rate, consumer))
    rate = ceilings.interest_rate(policy.interest_monthly_rate, consumer)
    interest = to_cents(principal * rate * days / COMMERCIAL_MONTH_DAYS)
    return UpdatedDebt(debt.principal_cents, fine, interest, days)


def update_all(debts: list[Debt], today: date, policy: NegotiationPolicy,
               ceilings: LegalCeilings = DEFAULT_CEILINGS) -> UpdatedDebt:
    total = ZERO
    for debt in debts:
        total = total + update(debt, today, policy, ceilings)
    return total
