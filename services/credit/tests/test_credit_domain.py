"""Payment behaviour, days late and exposure from invoice facts (unit, no I/O)."""

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regua_credit.domain import (
    Behavior,
    InvoiceFact,
    InvoiceStatus,
    Segment,
    classify,
    days_late,
    effective_due,
    recommend_segment,
    summarize,
)

TODAY = date(2027, 3, 10)  # a Wednesday
MONDAY = date(2027, 3, 1)


def fact(due: date, paid: date | None = None, amount: int = 10_000, status: InvoiceStatus | None = None,
         registered: date | None = None, outstanding: int | None = None) -> InvoiceFact:
    status = status or (InvoiceStatus.PAID if paid else InvoiceStatus.OPEN)
    left = 0 if status is InvoiceStatus.PAID else amount if outstanding is None else outstanding
    return InvoiceFact(uuid.uuid4(), amount, left, due, status, registered or due - timedelta(days=30), paid)


def test_weekend_due_dates_move_to_monday() -> None:
    saturday, sunday = date(2027, 3, 6), date(2027, 3, 7)
    assert effective_due(saturday) == effective_due(sunday) == date(2027, 3, 8)
    assert effective_due(MONDAY) == MONDAY
    assert days_late(saturday, date(2027, 3, 8)) == 0  # paid on Monday: on time
    assert days_late(saturday, date(2027, 3, 9)) == 1
    assert days_late(MONDAY, MONDAY) == 0 and days_late(MONDAY, MONDAY - timedelta(days=3)) == 0


def test_no_history_until_something_is_judged() -> None:
    not_yet_due = fact(TODAY + timedelta(days=5))
    assert classify(summarize([], TODAY)) is Behavior.NO_HISTORY
    history = summarize([not_yet_due], TODAY)
    assert classify(history) is Behavior.NO_HISTORY
    assert (history.invoices, history.open_invoices, history.open_cents, history.overdue_cents) == (1, 1, 10_000, 0)


def test_on_time_payer() -> None:
    history = summarize([fact(MONDAY, MONDAY), fact(MONDAY, MONDAY - timedelta(days=2))], TODAY)
    assert (history.paid_on_time, history.paid_late, history.open_overdue) == (2, 0, 0)
    assert classify(history) is Behavior.ON_TIME
    assert history.mean_days_late == history.median_days_late == history.max_days_late == 0


def test_one_late_payment_is_sometimes_late() -> None:
    history = summarize([fact(MONDAY, MONDAY), fact(MONDAY, MONDAY + timedelta(days=4))], TODAY)
    assert (history.paid_on_time, history.paid_late) == (1, 1)
    assert history.days_late == (4,)
    assert classify(history) is Behavior.SOMETIMES_LATE


def test_three_late_payments_make_an_always_late_payer() -> None:
    facts = [fact(MONDAY - timedelta(weeks=4 * i), MONDAY - timedelta(weeks=4 * i) + timedelta(days=d))
             for i, d in enumerate((3, 10, 20))]
    assert classify(summarize(facts[:2], TODAY)) is Behavior.SOMETIMES_LATE  # two is not yet a habit
    history = summarize(facts, TODAY)
    assert classify(history) is Behavior.ALWAYS_LATE
    assert (history.mean_days_late, history.median_days_late, history.max_days_late) == (11, 10, 20)


def test_always_late_needs_two_thirds_of_the_record() -> None:
    late = [fact(MONDAY, MONDAY + timedelta(days=5)) for _ in range(3)]
    on_time = [fact(MONDAY, MONDAY) for _ in range(2)]
    assert classify(summarize(late + on_time[:1], TODAY)) is Behavior.ALWAYS_LATE  # 3 of 4
    assert classify(summarize(late + on_time, TODAY)) is Behavior.SOMETIMES_LATE  # 3 of 5


def test_open_overdue_invoices_count_as_late_with_days_so_far() -> None:
    overdue = fact(TODAY - timedelta(days=9), amount=50_000, outstanding=20_000)  # partly paid
    history = summarize([overdue, fact(TODAY + timedelta(days=3))], TODAY)
    assert (history.open_overdue, history.open_invoices) == (1, 2)
    assert (history.open_cents, history.overdue_cents) == (30_000, 20_000)
    assert history.days_late == (9,)


def test_cancelled_invoices_are_ignored() -> None:
    history = summarize([fact(MONDAY - timedelta(days=60), status=InvoiceStatus.CANCELLED)], TODAY)
    assert history.invoices == 0 and classify(history) is Behavior.NO_HISTORY


def test_summary_as_of_a_past_day_does_not_see_the_future() -> None:
    paid_late_later = fact(MONDAY, MONDAY + timedelta(days=6))
    registered_later = fact(TODAY, registered=TODAY - timedelta(days=1))
    as_of = MONDAY + timedelta(days=2)
    history = summarize([paid_late_later, registered_later], as_of)
    assert history.invoices == 1  # the second invoice did not exist yet
    assert (history.paid_late, history.open_overdue, history.days_late) == (0, 1, (2,))  # still open then
    assert history.open_cents == 10_000


@pytest.mark.parametrize(("behavior", "score", "segment"), [
    (Behavior.ALWAYS_LATE, 900, Segment.FIRM),
    (Behavior.ON_TIME, 300, Segment.FIRM),
    (Behavior.ON_TIME, 600, Segment.FRIENDLY),
    (Behavior.SOMETIMES_LATE, 600, Segment.STANDARD),
    (Behavior.SOMETIMES_LATE, 700, Segment.FRIENDLY),
    (Behavior.NO_HISTORY, 500, Segment.STANDARD),
])
def test_recommended_segment(behavior: Behavior, score: int, segment: Segment) -> None:
    assert recommend_segment(behavior, score) is segment


@given(st.lists(st.tuples(st.integers(-60, 60), st.one_of(st.none(), st.integers(-10, 90))), max_size=12))
def test_counts_always_add_up(spec: list[tuple[int, int | None]]) -> None:
    facts = [fact(TODAY + timedelta(days=d), TODAY + timedelta(days=d + p) if p is not None else None,
                  registered=TODAY - timedelta(days=90))
             for d, p in spec if p is None or d + p <= 0]
    history = summarize(facts, TODAY)
    assert history.invoices == len(facts)
    settled = sum(f.settled_on is not None for f in facts)
    assert history.paid_on_time + history.paid_late == settled
    assert history.open_invoices == len(facts) - settled
    assert len(history.days_late) == history.late
    assert 0 <= history.overdue_cents <= history.open_cents
