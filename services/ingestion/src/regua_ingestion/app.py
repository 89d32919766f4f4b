"""Wiring of the ingestion service."""

from regua_contracts import topics
from regua_ingestion import api, subscribers
from regua_ingestion.tenants import TenantDirectory
from regua_platform.service import Runtime, ServiceSpec


async def _wire(runtime: Runtime) -> None:
    runtime.extras["tenants"] = TenantDirectory(runtime.pool)
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
