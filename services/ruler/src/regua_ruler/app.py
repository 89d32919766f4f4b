"""Wiring of the ruler service."""

from datetime import timedelta

from regua_compliance import ContactPolicy
from regua_contracts import topics
from regua_credit_client.client import CreditClient
from regua_platform import privacy
from regua_platform.clock import SimulatedClock, WallClock
from regua_platform.privacy import PersonalData, PersonalTable
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory
from regua_ruler import api, subscribers, tenant_api
from regua_ruler.domain.planning import Schedule
from regua_ruler.profiles import CreditAnalysis
from regua_ruler.store import clock
from regua_ruler.ticker import run_resegmenter, run_ticker

#: What the ruler holds about a debtor (LGPD requests); children before parents. A case's recipient is where
#: every later contact command takes the address from, so a correction here reaches the dispatchers.
PERSONAL_DATA = PersonalData("ruler", (
    PersonalTable("case_steps"), PersonalTable("case_pauses", parent=("cases", "invoice_id")),
    PersonalTable("gate_blocks", parent=("cases", "invoice_id")), PersonalTable("cases", contact=("recipient",)),
    PersonalTable("debtor_facts"), PersonalTable("debtor_contacts"),
))


async def _wire(runtime: Runtime) -> None:
    settings = runtime.settings
    if settings.clock_mode == "simulated":
        runtime.extras["clock"] = SimulatedClock(await clock.load_simulated_clock(runtime.pool))
    else:
        runtime.extras["clock"] = WallClock()
    runtime.extras["schedule"] = Schedule(settings.ruler_send_hour, timedelta(days=settings.ruler_late_grace_days),
                                          ContactPolicy())
    runtime.extras["profiles"] = CreditAnalysis(CreditClient.from_settings(settings))
    install_tenant_directory(runtime)
    subscribers.wire(runtime)
    privacy.install(runtime, PERSONAL_DATA)


SPEC = ServiceSpec(
    name="ruler",
    schema="ruler",
    package="regua_ruler",
    topics=topics.all_topics(),
    wire=_wire,
    background=[run_ticker, run_resegmenter],
    routers=[api.router, tenant_api.router],
    title="Régua — collection ruler",
)
