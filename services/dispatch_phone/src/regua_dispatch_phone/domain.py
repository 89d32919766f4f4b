"""The phone channel's rules, without I/O: which call comes first, and where a task goes after a call.

Priority: the amount at stake, weighted up by how late it is: total x (30 + days overdue) / 30, so a debt
30 days overdue counts double. Computed when an agent asks (days overdue grow while a task waits)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from regua_contracts.contacts import CONVERSATIONS, CallOutcome

#: The priority as SQL over call_tasks, $n being today's date; the same rule as priority().
PRIORITY_SQL = "total_cents * (30 + greatest(0, {today} - oldest_due))"


def priority(total_cents: int, oldest_due: date, today: date) -> int:
    return total_cents * (30 + max(0, (today - oldest_due).days))


class InvalidOutcome(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class AfterCall:
    status: Literal["queued", "done"]
    not_before: datetime | None = None


def after_call(outcome: CallOutcome, calls_made: int, now: datetime, *, max_calls: int, retry_after: timedelta,
               callback_at: datetime | None) -> AfterCall:
    """A callback returns at its time; no answer returns later, until the task's calls run out."""
    if outcome == "callback":
        assert callback_at is not None
        return AfterCall("queued", callback_at)
    if outcome == "no_answer" and calls_made < max_calls:
        return AfterCall("queued", now + retry_after)
    return AfterCall("done")


def check_outcome(outcome: CallOutcome, now: datetime, today: date, promise_date: date | None,
                  promise_amount_cents: int | None, callback_at: datetime | None) -> None:
    if outcome == "promise_to_pay":
        if promise_date is None or promise_date < today:
            raise InvalidOutcome("promise_date", "a promise to pay needs a date from today on")
        if promise_amount_cents is None or promise_amount_cents <= 0:
            raise InvalidOutcome("promise_amount_cents", "a promise to pay needs an amount in cents above 0")
    if outcome == "callback" and (callback_at is None or callback_at <= now):
        raise InvalidOutcome("callback_at", "a callback needs a moment in the future")


def is_conversation(outcome: str) -> bool:
    return outcome in CONVERSATIONS
