"""Business days: weekend and holiday due dates move to the next business day; lateness counts from there."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regua_finance import days_late, effective_due, is_business_day, next_business_day


@pytest.mark.parametrize(("due", "state", "expected"), [
    (date(2026, 3, 4), None, date(2026, 3, 4)),  # a Wednesday: itself
    (date(2026, 3, 7), None, date(2026, 3, 9)),  # Saturday -> Monday
    (date(2026, 3, 8), None, date(2026, 3, 9)),  # Sunday -> Monday
    (date(2026, 4, 3), None, date(2026, 4, 6)),  # Good Friday -> Monday
    (date(2026, 4, 21), None, date(2026, 4, 22)),  # Tiradentes (Tuesday) -> Wednesday
    (date(2026, 12, 25), None, date(2026, 12, 28)),  # Christmas (Friday) -> Monday
    (date(2026, 7, 9), "SP", date(2026, 7, 10)),  # SP's Revolução Constitucionalista
    (date(2026, 7, 9), "RJ", date(2026, 7, 9)),  # ... is not a holiday in RJ
    (date(2026, 7, 9), None, date(2026, 7, 9)),  # nor nationally
    (date(2026, 7, 9), "XX", date(2026, 7, 9)),  # an unknown state: national holidays only
])
def test_effective_due(due: date, state: str | None, expected: date) -> None:
    assert effective_due(due, state) == expected


def test_days_late_count_from_the_moved_due_date() -> None:
    saturday = date(2026, 3, 7)
    assert days_late(saturday, date(2026, 3, 9)) == 0  # paid Monday: on time, no fine, no interest
    assert days_late(saturday, date(2026, 3, 10)) == 1
    assert days_late(saturday, date(2026, 3, 1)) == 0


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from([None, "SP", "RJ", "BA", "PE"]))
def test_the_effective_due_is_the_first_business_day_on_or_after_the_due_date(due: date, state: str | None) -> None:
    moved = effective_due(due, state)
    assert moved >= due and is_business_day(moved, state)
    assert all(not is_business_day(due + timedelta(days=k), state) for k in range((moved - due).days))
    assert next_business_day(moved, state) == moved
    assert days_late(due, moved, state) == 0 and days_late(due, moved + timedelta(days=1), state) == 1
