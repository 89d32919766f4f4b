"""The background loop that fires due steps. Several replicas may run it: claims use SKIP LOCKED."""

import asyncio
import logging

import asyncpg

from regua_platform.clock import Clock
from regua_platform.service import Runtime
from regua_ruler.domain import Schedule
from regua_ruler.handlers import fire_due_steps

log = logging.getLogger(__name__)


async def run_ticker(runtime: Runtime) -> None:
    clock: Clock = runtime.extras["clock"]
    schedule: Schedule = runtime.extras["schedule"]
    settings = runtime.settings
    while True:
        try:
            claimed = await fire_due_steps(runtime.pool, clock.now(), schedule, settings.ruler_claim_batch)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            log.exception("tick failed; retrying")
            claimed = 0
        if claimed < settings.ruler_claim_batch:  # a full batch means more are due: go again at once
            await asyncio.sleep(settings.ruler_tick_seconds)
