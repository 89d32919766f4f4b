"""Business days: a due date on a Saturday, a Sunday or a holiday is payable on the next business day
without fine or interest (a bank slip or PIX charge falling due on a non-business day: Resolução CMN
4.282/2013 and the banks' compensation calendar; Lei 7.089/1983 forbids charging for it).

Holidays are Brazil's national holidays (``holidays`` package, country BR) and, when the debtor's state is
known, that state's holidays too. A payment on the (moved) due date is on time; days late count from it:

    due Sat 2026-04-04, Monday 04-06 is a business day -> payable on 04-06, 0 days late on 04-06,
    1 day late on 04-07.
"""

from datetime import date, timedelta
from functools import lru_cache

import holidays

#: A bound on how far a due date can move (a run of weekends and holidays is never this long).
_MAX_MOVE_DAYS = 15


@lru_cache(maxsize=512)
def _holidays(state: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("BR", subdiv=state or None, years=year)


def is_business_day(day: date, state: str | None = None) -> bool:
    """Monday to Friday, not a national holiday, nor one of ``state``'s (a UF such as "SP") when given."""
    return day.weekday() < 5 and day not in _holidays(_uf(state), day.year)


def next_business_day(day: date, state: str | None = None) -> date:
    """``day`` itself when it is a business day, else the first business day after it."""
    for ahead in range(_MAX_MOVE_DAYS):
        candidate = day + timedelta(days=ahead)
        if is_business_day(candidate, state):
            return candidate
    raise AssertionError(f"no business day within {_MAX_MOVE_DAYS} days of {day}")  # pragma: no cover


def effective_due(due: date, state: str | None = None) -> date:
    """The last day to pay without being late: the due date, moved to the next business day if it is not one."""
    return next_business_day(due, state)


def days_late(due: date, paid_or_today: date, state: str | None = None) -> int:
    """Days after the effective due date (0 when paid or looked at on or before it)."""
    return max(0, (paid_or_today - effective_due(due, state)).days)


def _uf(state: str | None) -> str | None:
    """A known Brazilian state code, else None (national holidays only)."""
    if not state:
        return None
    state = state.strip().upper()
    return state if state in holidays.country_holidays("BR").subdivisions else None
