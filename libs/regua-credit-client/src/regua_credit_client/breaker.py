"""A circuit breaker: after enough consecutive failures, calls fail fast (to the fallback) for a while
instead of each waiting out its deadline; then one trial call decides whether to close it again."""

import time
from collections.abc import Callable
from enum import StrEnum

from prometheus_client import Gauge

CIRCUIT_OPEN = Gauge("regua_credit_client_circuit_open",
                     "1 while the credit client's circuit breaker is open or half-open (calls fall back)")


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failures: int = 5, reset_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or reset_seconds <= 0:
            raise ValueError("failures must be >= 1 and reset_seconds > 0")
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._state = State.CLOSED
        self._since = 0.0  # when it opened, or when the half-open trial started

    @property
    def state(self) -> State:
        return self._state

    def allow(self) -> bool:
        """Whether a call may go to the service now. In half-open state only one trial goes at a time; a
        trial that never reports back (its caller was cancelled) is replaced after reset_seconds."""
        if self._state is State.CLOSED:
            return True
        if self._clock() - self._since < self._reset:
            return False
        self._set(State.HALF_OPEN)
        return True

    def success(self) -> None:
        self._failures = 0
        if self._state is not State.CLOSED:
            self._set(State.CLOSED)

    def failure(self) -> None:
        self._failures += 1
        if self._state is State.HALF_OPEN or (self._state is State.CLOSED and self._failures >= self._threshold):
            self._set(State.OPEN)

    def _set(self, state: State) -> None:
        self._state = state
        self._since = self._clock()
        CIRCUIT_OPEN.set(0 if state is State.CLOSED else 1)
