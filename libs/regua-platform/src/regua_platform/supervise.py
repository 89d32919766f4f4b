"""Background loops that outlive their surroundings: a loop that fails because PostgreSQL or the broker is
away is logged (a few lines, not one per try), backed off and run again; any other error is a programming
error and still crashes the process (service.py), so the orchestrator restarts it."""

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import Counter

from regua_platform.kafka import RETRYABLE_INFRA

log = logging.getLogger(__name__)
RESTARTS = Counter("regua_loop_restarts_total", "Background loops restarted after an outage", ["loop"])

#: What a database or broker outage raises in a loop (db.RETRYABLE, the broker unreachable or timing out).
OUTAGE = RETRYABLE_INFRA


class Throttled:
    """A logger for one failing thing: the first failure with its traceback, then one line per ``every``
    seconds with the count since, and one line when it works again."""

    def __init__(self, what: str, every: float = 30.0) -> None:
        self.what, self.every = what, every
        self.failures = 0
        self._last = 0.0

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        if self.failures == 1:
            log.warning("%s failed; retrying", self.what, exc_info=exc, extra={"loop": self.what})
            self._last = now
        elif now - self._last >= self.every:
            log.warning("%s still failing", self.what,
                        extra={"loop": self.what, "failures": self.failures, "error": repr(exc)})
            self._last = now

    def recovered(self) -> None:
        if self.failures:
            log.warning("%s recovered", self.what, extra={"loop": self.what, "failures": self.failures})
        self.failures = 0


async def supervise(name: str, loop: Callable[[], Coroutine[Any, Any, None]], *,
                    base_seconds: float = 0.5, max_seconds: float = 15.0) -> None:
    """Runs ``loop`` until it returns; runs it again after each outage, backing off exponentially with jitter
    (reset once a run lasted a minute)."""
    throttled = Throttled(name)
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            await loop()
            return
        except OUTAGE as exc:
            if time.monotonic() - started > 60:  # it ran well for a while: a new outage
                attempt = throttled.failures = 0
            attempt += 1
            RESTARTS.labels(name).inc()
            throttled.failed(exc)
            delay = min(max_seconds, base_seconds * 2 ** min(attempt, 10))
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
