"""The background loop that breaks agreements with an installment late beyond the policy's tolerance and
forgets long-expired short links."""

import asyncio
import logging
from datetime import timedelta

from regua_negotiation import handlers, store, views
from regua_platform.clock import SimulatedClock
from regua_platform.db import RETRYABLE
from regua_platform.service import Runtime

log = logging.getLogger(__name__)
SHORT_LINKS_KEPT = timedelta(days=30)


async def run_break_checker(runtime: Runtime) -> None:
    clock = runtime.extras["clock"]
    while True:
        try:
            if isinstance(clock, SimulatedClock):  # replicas share the simulated time through the database
                stored = await store.load_simulated_clock(runtime.pool)
                if stored is not None and stored > clock.now():
                    clock.set(stored)
            today, now = views.today_and_now(runtime)
            broken = await handlers.break_late_agreements(runtime.pool, today, now)
            if broken:
                log.info("agreements broken", extra={"count": broken})
            # Short links are kept a month past expiry, so a late click says "expired" rather than "invalid".
            await store.prune_short_links(runtime.pool, now - SHORT_LINKS_KEPT)
        except RETRYABLE:
            log.exception("break check failed; retrying")
        await asyncio.sleep(runtime.settings.negotiation_break_check_seconds)
