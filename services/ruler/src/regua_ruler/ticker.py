"""The background loop that fires due steps. Several replicas may run it: claims lock per debtor."""

import asyncio
import logging

import asyncpg

from regua_platform.clock import Clock
from regua_platform.service import Runtime
from regua_ruler.domain.planning import Schedule
from regua_ruler.handlers import fire_due_steps

log = logging.getLogger(__name__)


async def run_ticker(runtime: Runtime) -> None:
    clock: Clock = runtime.extras["clock"]
    schedule: Schedule = runtime.extras["schedule"]
    settings = runtime.settings
    while True:
        try:
            debtors = await fire_due_steps(runtime.pool, clock.now(), schedule, settings.ruler_claim_batch)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            log.exception("tick failed; retrying")
            debtors = 0
        if debtors < settings.ruler_claim_batch:  # a full batch means more are due: go again at once
            await asyncio.sleep(settings.ruler_tick_seconds)
