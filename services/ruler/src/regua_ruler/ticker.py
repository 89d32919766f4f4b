"""The background loop that fires due steps. Several replicas may run it: claims lock per debtor."""

import asyncio
import logging

from regua_platform.clock import Clock, SimulatedClock
from regua_platform.db import RETRYABLE
from regua_platform.service import Runtime
from regua_platform.supervise import Throttled
from regua_ruler.domain.planning import Schedule
from regua_ruler.handlers import fire_due_steps
from regua_ruler.migration import resegment_fallback_cases
from regua_ruler.store.clock import load_simulated_clock

log = logging.getLogger(__name__)


async def run_ticker(runtime: Runtime) -> None:
    clock: Clock = runtime.extras["clock"]
    schedule: Schedule = runtime.extras["schedule"]
    settings = runtime.settings
    failures = Throttled("ruler tick")  # an outage logs a few lines, not one a tick
    while True:
        try:
            if isinstance(clock, SimulatedClock):  # replicas share the simulated time through the database
                stored = await load_simulated_clock(runtime.pool)
                if stored is not None and stored > clock.now():
                    clock.set(stored)
            debtors = await fire_due_steps(runtime.pool, clock.now(), schedule, settings.ruler_claim_batch)
            failures.recovered()
        except RETRYABLE as exc:  # the transaction rolled back whole: the next tick claims the same steps again
            failures.failed(exc)
            debtors = 0
        if debtors < settings.ruler_claim_batch:  # a full batch means more are due: go again at once
            await asyncio.sleep(settings.ruler_tick_seconds)


async def run_resegmenter(runtime: Runtime) -> None:
    """Every half minute, re-segments cases opened on a fallback profile once credit analysis answers."""
    clock: Clock = runtime.extras["clock"]
    failures = Throttled("re-segmentation")
    while True:
        try:
            await resegment_fallback_cases(runtime.pool, runtime.extras["profiles"], clock.now(),
                                           runtime.extras["schedule"])
            failures.recovered()
        except RETRYABLE as exc:
            failures.failed(exc)
        await asyncio.sleep(runtime.settings.ruler_resegment_seconds)
