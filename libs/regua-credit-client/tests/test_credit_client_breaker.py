"""The circuit breaker's states (unit, with a fake clock)."""

import pytest

from regua_credit_client.breaker import CircuitBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_a_trial_closes_it() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=5, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state is State.OPEN and not breaker.allow()
    clock.now = 5.0
    assert breaker.allow() and breaker.state is State.HALF_OPEN
    assert not breaker.allow()  # one trial at a time
    breaker.success()
    assert breaker.state is State.CLOSED and breaker.allow()


def test_a_failed_trial_opens_it_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=2, clock=clock)
    breaker.failure()
    clock.now = 2.0
    assert breaker.allow()
    breaker.failure()
    assert breaker.state is State.OPEN and not breaker.allow()
    clock.now = 3.9
    assert not breaker.allow()
    clock.now = 4.0
    assert breaker.allow()


def test_a_trial_that_never_reports_is_replaced() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=1, clock=clock)
    breaker.failure()
    clock.now = 1.0
    assert breaker.allow() and not breaker.allow()
    clock.now = 2.0
    assert breaker.allow()


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0)
