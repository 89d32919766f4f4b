"""Agreements: installments paid in order, settled when all are paid, broken when one is late beyond the
policy's tolerance (and then its discounts are revoked)."""

from dataclasses import dataclass, replace
from datetime import date, timedelta


@dataclass(frozen=True)
class Installment:
    number: int  # 1-based
    amount_cents: int
    due_date: date
    paid_cents: int = 0

    @property
    def open_cents(self) -> int:
        return max(self.amount_cents - self.paid_cents, 0)


def apply_payment(installments: list[Installment], amount_cents: int) -> tuple[list[Installment], int]:
    """Pays the next installment(s) in order; returns the new installments and what was left over."""
    result, left = [], amount_cents
    for inst in installments:
        take = min(inst.open_cents, left)
        left -= take
        result.append(replace(inst, paid_cents=inst.paid_cents + take) if take else inst)
    return result, left


def is_settled(installments: list[Installment]) -> bool:
    return all(i.open_cents == 0 for i in installments)


def late_installment(installments: list[Installment], today: date, tolerance_days: int) -> Installment | None:
    """The first unpaid installment past its due date by more than the tolerance, if any: it breaks the
    agreement (due 10 Mar, tolerance 5: still fine on 15 Mar, broken on 16 Mar)."""
    return next((i for i in installments
                 if i.open_cents and today > i.due_date + timedelta(days=tolerance_days)), None)


def balance_after_break(total_cents: int, undiscounted_cents: int, paid_cents: int, revoke: bool) -> int:
    """What is owed after a break, less what was paid: with the discounts revoked (the policy's default),
    the updated debt at the agreement's start without discounts; otherwise the agreed total."""
    return max((undiscounted_cents if revoke else total_cents) - paid_cents, 0)
