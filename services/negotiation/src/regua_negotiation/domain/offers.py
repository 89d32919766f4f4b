"""The offer menu: pay in full with the biggest discount the policy allows, or 2x, 3x, ... up to the
policy's limit, each installment at least the minimum amount; monthly due dates; an expiry date."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from regua_finance import DEFAULT_CEILINGS, LegalCeilings
from regua_negotiation.domain.debt import Debt, UpdatedDebt, pct_of, update_all
from regua_negotiation.domain.policy import Behaviour, NegotiationPolicy


def add_months(anchor: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb, + 2 -> 31 Mar):
    always counted from the anchor, so a short month does not pull later dates earlier."""
    month0 = anchor.month - 1 + months
    year, month = anchor.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def installment_dates(first_due: date, count: int) -> list[date]:
    return [add_months(first_due, k) for k in range(count)]


def split(total_cents: int, count: int, down_payment_pct: Decimal = Decimal(0)) -> list[int]:
    """Installment amounts that add up to the total exactly. Equal parts; the cents that do not divide go
    to the first installment; a down payment, when the policy asks for more, raises the first one."""
    if count == 1:
        return [total_cents]
    base, rest = divmod(total_cents, count)
    first = base + rest
    minimum_first = pct_of(total_cents, down_payment_pct)
    if minimum_first <= first:
        return [first] + [base] * (count - 1)
    base, rest = divmod(total_cents - minimum_first, count - 1)
    return [minimum_first + rest] + [base] * (count - 1)


def down_payment(amounts: list[int]) -> int:
    """The down payment in a split (0 when none): a first installment larger than the others by more than the
    cents that do not divide, which alone never exceed the number of installments."""
    if len(amounts) < 2 or amounts[0] - amounts[-1] < len(amounts):
        return 0
    return amounts[0]


def stated(amounts: list[int]) -> tuple[int, int]:
    """How a split is stated exactly: (first, each of the others) when the first differs (a down payment, or
    the cents that do not divide), else (0, each). Every split has this shape, so

        total = first + (n - 1) x each      (first != 0)        total = n x each      (first == 0)

    e.g. 1.015,00 in 3: (33834, 33833), "1x R$ 338,34 + 2x R$ 338,33"; never "3x de R$ 338,34"."""
    if len(amounts) < 2 or amounts[0] == amounts[-1]:
        return 0, amounts[0]
    if any(a != amounts[1] for a in amounts[1:]):
        raise ValueError(f"installments {amounts} are not a first one and equal others")
    return amounts[0], amounts[1]


def equalize(total_cents: int, count: int) -> int:
    """The largest total at most ``total_cents`` that ``count`` equal installments make (the remainder, fewer
    cents than installments, waived)."""
    return total_cents - total_cents % count


@dataclass(frozen=True)
class OfferOption:
    installments: int
    total_cents: int
    amounts: list[int]
    due_dates: list[date]
    discount_cents: int  # off the updated debt (principal + fine + interest)


@dataclass(frozen=True)
class OfferMenu:
    updated: UpdatedDebt
    options: list[OfferOption]
    expires_on: date  # valid through the end of this day


def build_menu(debts: list[Debt], today: date, policy: NegotiationPolicy, behaviour: Behaviour,
               ceilings: LegalCeilings = DEFAULT_CEILINGS) -> OfferMenu:
    updated = update_all(debts, today, policy, ceilings)
    rule = policy.discount_for(updated.days_overdue, behaviour)
    first_due = today + timedelta(days=policy.first_installment_days)
    # Pay in full: every discount of the rule, principal included, then the early-payment discount.
    cash = updated.discounted(rule, principal=True).total_cents
    cash -= pct_of(cash, policy.early_payment_discount_pct)
    options = [OfferOption(1, cash, [cash], [first_due], updated.total_cents - cash)]
    # Installments: fine and interest discounts only.
    financed = updated.discounted(rule, principal=False).total_cents
    for count in range(2, policy.max_installments + 1):
        total = financed
        if policy.equal_installments and not policy.down_payment_pct:
            total = equalize(financed, count)
        amounts = split(total, count, policy.down_payment_pct)
        if min(amounts) < policy.min_installment_cents:
            break
        options.append(OfferOption(count, total, amounts, installment_dates(first_due, count),
                                   updated.total_cents - total))
    return OfferMenu(updated, options, today + timedelta(days=policy.offer_validity_days))
