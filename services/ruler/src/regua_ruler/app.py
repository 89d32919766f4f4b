"""Wiring of the ruler service."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from regua_contracts import topics
from regua_platform.clock import SimulatedClock, WallClock
from regua_platform.service import Runtime, ServiceSpec
from regua_ruler import api, store, subscribers
from regua_ruler.domain import Schedule
from regua_ruler.ticker import run_ticker


async def _wire(runtime: Runtime) -> None:
    settings = runtime.settings
    if settings.clock_mode == "simulated":
        runtime.extras["clock"] = SimulatedClock(await store.load_simulated_clock(runtime.pool))
    else:
        runtime.extras["clock"] = WallClock()
    runtime.extras["schedule"] = Schedule(ZoneInfo(settings.timezone), settings.ruler_send_hour,
                                          timedelta(days=settings.ruler_late_grace_days))
    subscribers.wire(runtime)


SPEC = ServiceSpec(
    name="ruler",
    schema="ruler",
    package="regua_ruler",
    topics=topics.all_topics(),
    wire=_wire,
    background=[run_ticker],
    routers=[api.router],
    title="Régua — collection ruler",
)
