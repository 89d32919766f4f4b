"""Wiring of the phone dispatcher: contact commands become call tasks; agents work the queue by API."""

from datetime import datetime

import asyncpg

from regua_compliance import ContactPolicy
from regua_contracts import topics
from regua_contracts.contacts import CONTACT_REQUESTED, ContactRequested
from regua_dispatch import facts
from regua_dispatch.api import ping_router
from regua_dispatch.cases import Blocked, install_case_states
from regua_dispatch.clock import follow_clock
from regua_dispatch.facts import install_contact_facts
from regua_dispatch.privacy import install_privacy
from regua_dispatch_phone import api, handlers, store
from regua_dispatch_phone.handlers import QUEUE
from regua_platform.clock import observe, service_clock
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.privacy import PersonalTable
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    clock = service_clock(runtime.settings.clock_mode, await store.latest_time(runtime.pool))
    runtime.extras.update(clock=clock, policy=ContactPolicy())

    async def on_commands(deliveries: list[Delivery[ContactRequested]]) -> list[Rejection]:
        commands = list({d.event.step_id: d.event for d in deliveries}.values())
        for command in commands:
            observe(clock, command.occurred_at)
        async with runtime.pool.acquire() as conn, conn.transaction():
            for tenant_id in {c.tenant_id for c in commands}:
                await facts.remember(conn, tenant_id, [c.recipient for c in commands if c.tenant_id == tenant_id])
            queued = await store.enqueue(conn, commands)
            QUEUE.labels("queued").inc(queued)
            # A command about cases stopped or paused before it arrived is withdrawn at once.
            await handlers.withdraw_queued(conn, [i.invoice_id for c in commands for i in c.invoices], clock.now())
        return []

    async def on_blocked(conn: asyncpg.Connection, blocked: list[Blocked], at: datetime) -> None:
        await handlers.withdraw_queued(conn, [b.invoice_id for b in blocked], max(at, clock.now()))

    install_tenant_directory(runtime)
    install_contact_facts(runtime, "phone")
    install_case_states(runtime, "phone", on_blocked, lambda at: observe(clock, at))
    follow_clock(runtime, "phone", clock)
    install_privacy(runtime, "dispatch-phone", PersonalTable("call_tasks", contact=("recipient",)),
                    PersonalTable("calls"))
    subscribe(runtime.broker, runtime.settings, topic=topics.contact_commands("phone"), group_id="dispatch-phone",
              adapter=CONTACT_REQUESTED, handler=on_commands)


SPEC = ServiceSpec(
    name="dispatch-phone",
    schema="dispatch_phone",
    package="regua_dispatch_phone",
    libraries=["regua_dispatch"],
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router, ping_router],
    title="Régua — phone dispatcher (agents' call queue)",
)
