"""How one debtor pays one tenant, from the invoices the credit service has seen. Pure: no I/O.

Payment behaviour ("está" vs "é" inadimplente, DOMAIN.md) is judged on the invoices whose outcome is known
on a given day: settled ones (paid on time or late) and open ones already past due (late, whatever happens
next). Cancelled invoices are ignored. The classification and the business-day rule are regua_finance's,
the same negotiation uses:

| behaviour      | rule                                                                          |
|----------------|-------------------------------------------------------------------------------|
| no history     | nothing judged yet                                                            |
| on time        | every judged invoice paid by its due date                                     |
| sometimes late | at least one late invoice, but not "always late"                              |
| always late    | at least 3 late invoices, and at least two thirds of the judged ones are late |

A due date on a Saturday, Sunday or national holiday (or a holiday of the debtor's state, when known) moves
to the next business day: payable then without charges. Paying on the (moved) due date is on time.
"""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from regua_finance import ALWAYS_LATE_MIN
from regua_finance import Behaviour as Behavior
from regua_finance import classify as classify_payer
from regua_finance import days_late as _days_late
from regua_finance import effective_due as _effective_due

__all__ = ["ALWAYS_LATE_MIN", "Behavior"]


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"


class Segment(StrEnum):
    FRIENDLY = "friendly"
    STANDARD = "standard"
    FIRM = "firm"


@dataclass(frozen=True, slots=True)
class InvoiceFact:
    """One invoice as the read model holds it. Dates are in the tenant's time zone."""

    invoice_id: UUID
    amount_cents: int
    outstanding_cents: int
    due_date: date
    status: InvoiceStatus
    registered_on: date
    settled_on: date | None = None  # the day of the payment that settled it
    state: str | None = None  # the debtor's UF, for state holidays


def effective_due(due: date, state: str | None = None) -> date:
    """The last day to pay without being late: the next business day when the due date is not one."""
    return _effective_due(due, state)


def days_late(due: date, paid_or_today: date, state: str | None = None) -> int:
    return _days_late(due, paid_or_today, state)


@dataclass(frozen=True, slots=True)
class History:
    """A debtor's record as of one day."""

    invoices: int
    paid_on_time: int
    paid_late: int
    open_overdue: int
    days_late: tuple[int, ...]  # one entry per late invoice (paid late, or overdue so far)
    open_invoices: int
    open_cents: int
    overdue_cents: int

    @property
    def judged(self) -> int:
        return self.paid_on_time + self.paid_late + self.open_overdue

    @property
    def late(self) -> int:
        return self.paid_late + self.open_overdue

    @property
    def mean_days_late(self) -> float:
        return statistics.fmean(self.days_late) if self.days_late else 0.0

    @property
    def median_days_late(self) -> float:
        return float(statistics.median(self.days_late)) if self.days_late else 0.0

    @property
    def max_days_late(self) -> int:
        return max(self.days_late, default=0)


def summarize(facts: Iterable[InvoiceFact], as_of: date) -> History:
    """The record as it stood at the end of ``as_of``: invoices registered later are unknown then, and
    one settled later was still open (its full amount outstanding: earlier partial payments are not kept).
    Serving passes today; training passes each invoice's due date, so features never see the future."""
    invoices = on_time = paid_late = overdue = open_count = open_cents = overdue_cents = 0
    late_days: list[int] = []
    for f in facts:
        if f.status is InvoiceStatus.CANCELLED or f.registered_on > as_of:
            continue
        invoices += 1
        if f.settled_on is not None and f.settled_on <= as_of:
            lateness = days_late(f.due_date, f.settled_on, f.state)
            if lateness:
                paid_late += 1
                late_days.append(lateness)
            else:
                on_time += 1
            continue
        outstanding = f.outstanding_cents if f.settled_on is None else f.amount_cents
        open_count += 1
        open_cents += outstanding
        lateness = days_late(f.due_date, as_of, f.state)
        if lateness:
            overdue += 1
            overdue_cents += outstanding
            late_days.append(lateness)
    return History(invoices, on_time, paid_late, overdue, tuple(late_days), open_count, open_cents, overdue_cents)


def classify(history: History) -> Behavior:
    return classify_payer(history.paid_on_time, history.late)


def recommend_segment(behavior: Behavior, score: int) -> Segment:
    """The ruler track: firm for habitual or unlikely payers, friendly for good ones, else the standard one."""
    if behavior is Behavior.ALWAYS_LATE or score < 350:
        return Segment.FIRM
    if (behavior is Behavior.ON_TIME and score >= 550) or (behavior is Behavior.SOMETIMES_LATE and score >= 650):
        return Segment.FRIENDLY
    return Segment.STANDARD
