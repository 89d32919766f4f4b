"""Wiring of the ingestion service."""

from regua_contracts import topics
from regua_ingestion import api, subscribers
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    install_tenant_directory(runtime, replicate=False)  # ingestion is where tenants are registered
    subscribers.wire(runtime)


SPEC = ServiceSpec(
    name="ingestion",
    schema="ingestion",
    package="regua_ingestion",
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router],
    title="Régua — invoice ingestion API",
)
