"""Wiring of the contact history (a read model of contact facts and commands)."""

from regua_contact_history import api, subscribers
from regua_contracts import topics
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    install_tenant_directory(runtime)
    subscribers.wire(runtime)


SPEC = ServiceSpec(
    name="contact-history",
    schema="contact_history",
    package="regua_contact_history",
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router],
    title="Régua — contact history",
)
