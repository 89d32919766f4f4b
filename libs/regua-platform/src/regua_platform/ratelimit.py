"""A token bucket: the one rate limiter for calls to outside providers.

Callers reserve a token and wait out the debt, so concurrent callers are served in arrival order and the
rate holds over any window longer than the bucket's depth (a tenth of a second's worth by default)."""

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate_per_second: float, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_second
        self.capacity = capacity if capacity is not None else max(1.0, rate_per_second / 10)
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def reserve(self) -> float:
        """Takes one token now and returns how long the caller must wait before using it."""
        if self.unlimited:
            return 0.0
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
