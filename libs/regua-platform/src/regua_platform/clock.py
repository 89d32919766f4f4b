"""The one clock. Production reads the wall clock; tests and the demo move a simulated one."""

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Stands still until told otherwise; never goes backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        if instant < self._now:
            raise ValueError("the simulated clock never goes backwards")
        self._now = instant


class EventClock(SimulatedClock):
    """Simulated time for a service that does not own the simulated clock (only the ruler does): it follows
    the latest event time the service has seen, so the facts it records line up with the ruler's time."""

    def observe(self, instant: datetime) -> None:
        if instant > self.now():
            self.set(instant)


def service_clock(mode: str, known: datetime | None = None) -> Clock:
    """The clock of a service that only follows time: the wall clock, or an EventClock in simulated mode,
    starting from the latest time the service already knows (after a restart), else from the wall clock."""
    if mode != "simulated":
        return WallClock()
    clock = EventClock()
    if known is not None:
        clock.observe(known)
    return clock


def observe(clock: Clock, instant: datetime) -> None:
    if isinstance(clock, EventClock):
        clock.observe(instant)


#: How far ahead of this service's clock another host's clock may run before its event times are not believed.
CLOCK_SKEW = timedelta(minutes=5)


def still_waiting(now: datetime, occurred_at: datetime, wait: timedelta) -> bool:
    """Whether an event that names something not seen yet should still wait for it: only within ``wait`` of its
    own time. An event stamped in the future (beyond the skew) never waits, else it would wait for ever."""
    age = now - occurred_at
    return -CLOCK_SKEW <= age < wait
