"""Wiring of the negotiation service."""

from regua_contracts import topics
from regua_negotiation import admin_api, api, selfservice, store, subscribers
from regua_negotiation.ticker import run_break_checker
from regua_platform import privacy
from regua_platform.clock import SimulatedClock, WallClock
from regua_platform.privacy import PersonalData, PersonalTable
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory

#: What negotiation holds about a debtor (LGPD requests); children before parents.
PERSONAL_DATA = PersonalData("negotiation", (
    PersonalTable("installments", parent=("agreements", "agreement_id")), PersonalTable("agreements"),
    PersonalTable("offers"), PersonalTable("disputes"),
    PersonalTable("promised_invoices", parent=("invoices", "invoice_id")),
    PersonalTable("invoices", contact=("debtor",)),
))


async def _wire(runtime: Runtime) -> None:
    if runtime.settings.clock_mode == "simulated":
        runtime.extras["clock"] = SimulatedClock(await store.load_simulated_clock(runtime.pool))
    else:
        runtime.extras["clock"] = WallClock()
    install_tenant_directory(runtime)
    subscribers.wire(runtime)
    privacy.install(runtime, PERSONAL_DATA)


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
