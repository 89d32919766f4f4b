"""Contact hours by state, Sundays and holidays, time zones and tenant narrowing (pure, no I/O).

The week of 2027-03-08 (Monday) to 2027-03-14 (Sunday) has no holiday anywhere in Brazil; the dates with
holidays are named where they are used."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regua_compliance import ContactPolicy, ContactWindow, is_no_contact_day, next_allowed_moment, window_for
from regua_compliance.calendar import STATE_WINDOWS, time_zone

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MANAUS = ZoneInfo("America/Manaus")
DEFAULT = ContactPolicy()
H = time  # H(8) reads as "08:00"


def sp(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SAO_PAULO)


# --- windows by state ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "weekday", "saturday"), [
    ("SP", (H(8), H(20)), (H(8), H(14))),
    ("RJ", (H(9), H(19)), None),
    ("ES", (H(8), H(19)), None),
    ("AL", (H(8), H(20)), (H(8), H(14))),
    ("MG", (H(8), H(20)), (H(8), H(14))),  # no state law: the default
    ("AM", (H(8), H(20)), (H(8), H(14))),
    (None, (H(8), H(20)), (H(8), H(14))),
])
def test_window_for_each_state(state: str | None, weekday: tuple[time, time],
                               saturday: tuple[time, time] | None) -> None:
    assert window_for(state, DEFAULT) == ContactWindow(weekday=weekday, saturday=saturday)


def test_every_state_law_is_covered_above() -> None:
    assert set(STATE_WINDOWS) == {"SP", "RJ", "ES", "AL"}


@pytest.mark.parametrize(("state", "at", "expected"), [
    # RJ: 09-19 on weekdays, never on Saturdays.
    ("RJ", sp(2027, 3, 13, 10), sp(2027, 3, 15, 9)),  # Saturday -> Monday 09:00
    ("RJ", sp(2027, 3, 12, 8, 30), sp(2027, 3, 12, 9)),
    ("RJ", sp(2027, 3, 12, 18, 59), sp(2027, 3, 12, 18, 59)),
    ("RJ", sp(2027, 3, 12, 19), sp(2027, 3, 15, 9)),  # the end is exclusive; Friday evening -> Monday
    # ES: 08-19 on weekdays, never on Saturdays.
    ("ES", sp(2027, 3, 10, 19, 30), sp(2027, 3, 11, 8)),
    ("ES", sp(2027, 3, 10, 18, 30), sp(2027, 3, 10, 18, 30)),
    ("ES", sp(2027, 3, 13, 9), sp(2027, 3, 15, 8)),
    # SP: 08-20 on weekdays, 08-14 on Saturdays.
    ("SP", sp(2027, 3, 13, 13), sp(2027, 3, 13, 13)),
    ("SP", sp(2027, 3, 13, 14, 30), sp(2027, 3, 15, 8)),
    ("SP", sp(2027, 3, 13, 7), sp(2027, 3, 13, 8)),
    ("SP", sp(2027, 3, 10, 19, 59), sp(2027, 3, 10, 19, 59)),
    ("SP", sp(2027, 3, 10, 20), sp(2027, 3, 11, 8)),
    # AL: like SP (its law covers SMS too).
    ("AL", sp(2027, 3, 13, 13, 59), sp(2027, 3, 13, 13, 59)),
    ("AL", sp(2027, 3, 13, 14), sp(2027, 3, 15, 8)),
    # No state law: the default window.
    ("MG", sp(2027, 3, 10, 7, 59), sp(2027, 3, 10, 8)),
    ("MG", sp(2027, 3, 13, 12), sp(2027, 3, 13, 12)),
    (None, sp(2027, 3, 10, 21), sp(2027, 3, 11, 8)),
])
def test_next_allowed_moment_by_state(state: str | None, at: datetime, expected: datetime) -> None:
    assert next_allowed_moment(at, state, DEFAULT) == expected


@pytest.mark.parametrize(("state", "expected"), [
    ("SP", sp(2027, 3, 15, 8)), ("RJ", sp(2027, 3, 15, 9)), ("ES", sp(2027, 3, 15, 8)),
    ("AL", sp(2027, 3, 15, 8)), ("MG", sp(2027, 3, 15, 8)), (None, sp(2027, 3, 15, 8)),
])
def test_never_on_sunday(state: str | None, expected: datetime) -> None:
    sunday = date(2027, 3, 14)
    assert is_no_contact_day(sunday, state)
    assert next_allowed_moment(sp(2027, 3, 14, 11), state, DEFAULT) == expected
    assert next_allowed_moment(sp(2027, 3, 13, 22), state, DEFAULT) == expected  # Saturday night too


# --- holidays -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "expected"), [
    ("SP", sp(2027, 4, 22, 8)), ("RJ", sp(2027, 4, 22, 9)), ("MG", sp(2027, 4, 22, 8)), (None, sp(2027, 4, 22, 8)),
])
def test_a_national_holiday_moves_to_the_next_business_day(state: str | None, expected: datetime) -> None:
    tiradentes = date(2027, 4, 21)  # a Wednesday
    assert is_no_contact_day(tiradentes, state)
    assert next_allowed_moment(sp(2027, 4, 21, 10), state, DEFAULT) == expected
    assert next_allowed_moment(sp(2027, 4, 20, 20, 30), state, DEFAULT) == expected  # the evening before


def test_a_holiday_on_saturday_waits_for_monday() -> None:
    workers_day = date(2027, 5, 1)  # a Saturday, normally open in SP until 14:00
    assert is_no_contact_day(workers_day, "SP")
    assert next_allowed_moment(sp(2027, 4, 30, 20, 30), "SP", DEFAULT) == sp(2027, 5, 3, 8)


def test_good_friday_then_saturday_hours_in_sp() -> None:
    assert is_no_contact_day(date(2027, 3, 26), None)
    assert next_allowed_moment(sp(2027, 3, 25, 20, 30), "SP", DEFAULT) == sp(2027, 3, 27, 8)
    assert next_allowed_moment(sp(2027, 3, 25, 20, 30), "RJ", DEFAULT) == sp(2027, 3, 29, 9)


def test_a_state_holiday_counts_only_in_its_state() -> None:
    revolution = date(2027, 7, 9)  # Revolução Constitucionalista, SP only; a Friday
    assert is_no_contact_day(revolution, "SP")
    assert not is_no_contact_day(revolution, "RJ")
    assert not is_no_contact_day(revolution, None)
    # SP moves to the next allowed moment, which is Saturday morning there; other states are open that day.
    assert next_allowed_moment(sp(2027, 7, 9, 10), "SP", DEFAULT) == sp(2027, 7, 10, 8)
    assert next_allowed_moment(sp(2027, 7, 9, 10), "RJ", DEFAULT) == sp(2027, 7, 9, 10)
    assert next_allowed_moment(sp(2027, 7, 9, 10), "MG", DEFAULT) == sp(2027, 7, 9, 10)


def test_a_state_holiday_of_amazonas() -> None:
    elevation = date(2028, 9, 5)  # Elevação do Amazonas à categoria de província, a Tuesday in 2028
    assert is_no_contact_day(elevation, "AM")
    assert not is_no_contact_day(elevation, "SP")
    at = datetime(2028, 9, 5, 10, tzinfo=MANAUS)
    assert next_allowed_moment(at, "AM", DEFAULT) == datetime(2028, 9, 6, 8, tzinfo=MANAUS)


def test_ordinary_weekdays_and_saturdays_are_contact_days() -> None:
    for day in range(8, 14):
        assert not is_no_contact_day(date(2027, 3, day), "SP")


# --- time zones ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "zone"), [
    ("SP", "America/Sao_Paulo"), ("RJ", "America/Sao_Paulo"), ("MG", "America/Sao_Paulo"),
    (None, "America/Sao_Paulo"), ("AM", "America/Manaus"), ("AC", "America/Rio_Branco"),
    ("AL", "America/Maceio"), ("MT", "America/Cuiaba"),
])
def test_time_zone_of_a_state(state: str | None, zone: str) -> None:
    assert time_zone(state) == ZoneInfo(zone)


def test_hours_are_in_the_debtors_own_time_zone() -> None:
    morning = datetime(2027, 3, 10, 11, 30, tzinfo=UTC)  # 08:30 in São Paulo, 07:30 in Manaus
    assert next_allowed_moment(morning, "SP", DEFAULT) == morning
    opens = next_allowed_moment(morning, "AM", DEFAULT)
    assert opens == datetime(2027, 3, 10, 8, tzinfo=MANAUS) == datetime(2027, 3, 10, 12, tzinfo=UTC)
    assert opens is not None and opens.utcoffset() == timedelta(hours=-4)

    evening = datetime(2027, 3, 10, 23, 30, tzinfo=UTC)  # 20:30 in São Paulo, 19:30 in Manaus
    assert next_allowed_moment(evening, "AM", DEFAULT) == evening
    assert next_allowed_moment(evening, "SP", DEFAULT) == datetime(2027, 3, 11, 11, tzinfo=UTC)


def test_the_local_date_decides_sunday() -> None:
    # Monday 02:00 UTC is still Sunday 22:00 in Manaus and Sunday 23:00 in São Paulo.
    at = datetime(2027, 3, 15, 2, tzinfo=UTC)
    assert next_allowed_moment(at, "AM", DEFAULT) == datetime(2027, 3, 15, 8, tzinfo=MANAUS)
    assert next_allowed_moment(at, "SP", DEFAULT) == sp(2027, 3, 15, 8)


# --- tenant policy: narrowing only --------------------------------------------------------------------

NARROW = ContactPolicy(weekday_hours=(H(10), H(16)))


def test_tenant_narrowing_wins() -> None:
    assert window_for("SP", NARROW).weekday == (H(10), H(16))
    assert window_for("RJ", NARROW).weekday == (H(10), H(16))
    assert next_allowed_moment(sp(2027, 3, 10, 9), "SP", NARROW) == sp(2027, 3, 10, 10)
    assert next_allowed_moment(sp(2027, 3, 10, 15, 59), "SP", NARROW) == sp(2027, 3, 10, 15, 59)
    assert next_allowed_moment(sp(2027, 3, 10, 16), "SP", NARROW) == sp(2027, 3, 11, 10)
    # Saturdays keep the default (the policy only narrowed weekdays).
    assert next_allowed_moment(sp(2027, 3, 13, 9), "SP", NARROW) == sp(2027, 3, 13, 9)


def test_narrowing_intersects_with_the_state_law() -> None:
    policy = ContactPolicy(weekday_hours=(H(8), H(18)))
    assert window_for("RJ", policy).weekday == (H(9), H(18))
    assert window_for("ES", policy).weekday == (H(8), H(18))


def test_a_tenant_cannot_widen_the_hours() -> None:
    wide = ContactPolicy(weekday_hours=(H(6), H(23)), saturday_hours=(H(6), H(22)))
    assert window_for("SP", wide) == window_for("SP", DEFAULT)
    assert window_for("RJ", wide) == window_for("RJ", DEFAULT)  # still no Saturday in RJ
    assert next_allowed_moment(sp(2027, 3, 10, 7), "SP", wide) == sp(2027, 3, 10, 8)
    assert next_allowed_moment(sp(2027, 3, 13, 15), "SP", wide) == sp(2027, 3, 15, 8)


def test_a_tenant_may_close_saturdays() -> None:
    no_saturday = ContactPolicy(saturday_hours=None)
    assert window_for("SP", no_saturday).saturday is None
    assert next_allowed_moment(sp(2027, 3, 13, 10), "SP", no_saturday) == sp(2027, 3, 15, 8)


def test_no_window_at_all_gives_none() -> None:
    closed = ContactPolicy(weekday_hours=(H(21), H(22)), saturday_hours=None)
    assert window_for("SP", closed) == ContactWindow(None, None)
    assert next_allowed_moment(sp(2027, 3, 10, 10), "SP", closed) is None


# --- property: next_allowed_moment is the earliest allowed moment at or after ``at`` -------------------

STATES = ["SP", "RJ", "ES", "AL", "MG", "AM", "AC", None]
POLICIES = [DEFAULT, NARROW, ContactPolicy(weekday_hours=(H(9), H(18)), saturday_hours=(H(9), H(12))),
            ContactPolicy(saturday_hours=None)]


def allowed(at: datetime, state: str | None, policy: ContactPolicy) -> bool:
    """Independent check: inside the window of the local weekday, not on a Sunday or holiday."""
    local = at.astimezone(time_zone(state))
    if local.weekday() == 6 or is_no_contact_day(local.date(), state):
        return False
    window = window_for(state, policy)
    hours = window.saturday if local.weekday() == 5 else window.weekday
    return hours is not None and hours[0] <= local.time() < hours[1]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    state=st.sampled_from(STATES), policy=st.sampled_from(POLICIES),
)
def test_next_allowed_moment_is_the_earliest_allowed_moment(at: datetime, state: str | None,
                                                            policy: ContactPolicy) -> None:
    result = next_allowed_moment(at, state, policy)
    assert result is not None
    assert result >= at
    assert allowed(result, state, policy)
    assert result.tzinfo == time_zone(state)
    assert next_allowed_moment(result, state, policy) == result  # idempotent
    if result > at:
        assert not allowed(at, state, policy)
        # Windows open on full hours, so nothing earlier is allowed if no full hour in between is.
        hour = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while hour < result:
            assert not allowed(hour, state, policy), hour
            hour += timedelta(hours=1)
