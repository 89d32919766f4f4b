"""The simulated clock stands still, moves forward only and only holds aware instants (unit, no I/O)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from regua_platform.clock import SimulatedClock, WallClock, still_waiting

START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_stands_still_until_set() -> None:
    clock = SimulatedClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_moves_forward() -> None:
    clock = SimulatedClock(START)
    clock.set(START + timedelta(days=5))
    assert clock.now() == START + timedelta(days=5)
    clock.set(START + timedelta(days=5))  # standing still is not going backwards
    assert clock.now() == START + timedelta(days=5)


def test_never_goes_backwards() -> None:
    clock = SimulatedClock(START)
    clock.set(START + timedelta(hours=1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START)
    assert clock.now() == START + timedelta(hours=1)


def test_compares_instants_across_time_zones() -> None:
    clock = SimulatedClock(START)
    sao_paulo = timezone(timedelta(hours=-3))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2027, 3, 1, 8, 59, tzinfo=sao_paulo))  # 11:59 UTC
    clock.set(datetime(2027, 3, 1, 9, 1, tzinfo=sao_paulo))  # 12:01 UTC
    assert clock.now() == START + timedelta(minutes=1)


def test_refuses_naive_instants() -> None:
    clock = SimulatedClock(START)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2027, 3, 2, 12, 0))
    assert clock.now() == START


def test_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2027, 3, 1, 12, 0))


def test_defaults_to_an_aware_now() -> None:
    before = datetime.now(UTC)
    assert SimulatedClock().now().tzinfo is not None
    assert SimulatedClock().now() >= before
    assert WallClock().now().tzinfo is not None
    assert WallClock().now() >= before


def test_a_following_clock_moves_with_the_events_it_sees_and_never_back() -> None:
    from regua_platform.clock import EventClock, WallClock, observe, service_clock

    assert isinstance(service_clock("wall"), WallClock)
    later = datetime(2031, 3, 10, 13, tzinfo=UTC)
    clock = service_clock("simulated", later)
    assert isinstance(clock, EventClock) and clock.now() == later
    observe(clock, later.replace(year=2030))
    assert clock.now() == later
    observe(clock, later.replace(hour=14))
    assert clock.now() == later.replace(hour=14)
    observe(WallClock(), later)  # the wall clock follows nothing


def test_an_event_waits_only_within_its_window_and_never_when_stamped_in_the_future() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    wait = timedelta(minutes=10)
    assert still_waiting(now, now - timedelta(minutes=9), wait)
    assert not still_waiting(now, now - wait, wait)
    assert still_waiting(now, now + timedelta(minutes=4), wait)  # another host's clock a little ahead
    assert not still_waiting(now, now + timedelta(days=2190), wait)  # six years ahead: never believed
