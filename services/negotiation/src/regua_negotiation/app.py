"""Wiring of the negotiation service."""

from regua_contracts import topics
from regua_negotiation import admin_api, api, selfservice, store, subscribers
from regua_negotiation import privacy as negotiation_privacy
from regua_negotiation.ticker import run_break_checker
from regua_platform import privacy
from regua_platform.clock import SimulatedClock, WallClock
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    if runtime.settings.clock_mode == "simulated":
        runtime.extras["clock"] = SimulatedClock(await store.load_simulated_clock(runtime.pool))
    else:
        runtime.extras["clock"] = WallClock()
    install_tenant_directory(runtime)
    subscribers.wire(runtime)
    privacy.install(runtime, negotiation_privacy.PERSONAL_DATA)
    # Debtors written before they were encrypted are encrypted before the service takes traffic.
    await negotiation_privacy.encrypt_legacy(runtime.pool, privacy.keyring_of(runtime.extras, runtime.settings))


SPEC = ServiceSpec(
    name="negotiation",
    schema="negotiation",
    package="regua_negotiation",
    topics=topics.all_topics(),
    wire=_wire,
    background=[run_break_checker],
    routers=[api.router, admin_api.router, selfservice.router],
    title="Régua — negotiation",
)
