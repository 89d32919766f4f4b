"""Rate limits: a token bucket for calls to outside providers, and attempt limits on guessable things
(short codes, tokens and keys) per client IP, answered with 429 and Retry-After.

Callers reserve a token and wait out the debt, so concurrent callers are served in arrival order and the
rate holds over any window longer than the bucket's depth (a tenth of a second's worth by default)."""

import asyncio
import math
import time
from collections.abc import Callable

from fastapi import Request

from regua_platform.http import ApiError
from regua_platform.service import runtime_of


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


class AttemptLimiter:
    """Attempts per key (a client IP, a short code) a minute, each key its own bucket as deep as a minute's
    allowance. A refused attempt costs nothing, so a client that waits out Retry-After gets through."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def _tokens(self, key: str, now: float) -> float:
        tokens, updated = self._buckets.get(key, (self.per_minute, now))
        return min(self.per_minute, tokens + (now - updated) * self.per_minute / 60)

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may attempt again (0: now), without counting an attempt."""
        if self.per_minute <= 0:
            return 0.0
        tokens = self._tokens(key, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / (self.per_minute / 60)

    def attempt(self, key: str) -> float:
        """Counts an attempt when one is allowed (returns 0); otherwise the seconds until one is."""
        if (delay := self.wait(key)) or self.per_minute <= 0:
            return delay
        now = self._clock()
        if len(self._buckets) >= self._max_keys:
            self._forget_idle(now)
        self._buckets[key] = (self._tokens(key, now) - 1, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        # A key whose bucket has refilled carries no state worth keeping.
        self._buckets = {k: v for k, v in self._buckets.items() if self._tokens(k, now) < self.per_minute}


def _limiter(request: Request) -> AttemptLimiter:
    runtime = runtime_of(request)
    limiter: AttemptLimiter = runtime.extras.setdefault(
        "auth_attempts", AttemptLimiter(runtime.settings.auth_attempts_per_minute))
    return limiter


def _client_key(request: Request) -> str:
    # The peer address; behind a proxy, run uvicorn with --forwarded-allow-ips so it is the client's.
    return f"ip:{request.client.host if request.client else 'unknown'}"


def over_limit(request: Request, *keys: str) -> float:
    """Counts an attempt against the client's IP and ``keys`` (REGUA_AUTH_ATTEMPTS_PER_MINUTE each); the
    seconds to wait when one of them is spent (nothing is counted then), else 0."""
    limiter = _limiter(request)
    every = (_client_key(request), *keys)
    if wait := max(limiter.wait(key) for key in every):
        return wait
    for key in every:
        limiter.attempt(key)
    return 0.0


def retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def refuse_while_spent(request: Request, field: str) -> None:
    """Before a credential is checked: 429 with Retry-After while the client's failed attempts are spent,
    whatever it sends (a right guess must look like any other then)."""
    if wait := _limiter(request).wait(_client_key(request)):
        raise ApiError(429, field, "too many failed attempts; try again later", retry_after(wait))


def count_failure(request: Request) -> None:
    """A wrong credential: one of the client's attempts."""
    _limiter(request).attempt(_client_key(request))
