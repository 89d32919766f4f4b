"""Wiring of the ingestion service."""

from regua_contracts import topics
from regua_ingestion import api, privacy_api, privacy_store, privacy_subscribers, subscribers
from regua_platform import privacy
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    install_tenant_directory(runtime, replicate=False)  # ingestion is where tenants are registered
    subscribers.wire(runtime)
    privacy_subscribers.wire(runtime)
    # Rows written before PII was encrypted at rest are encrypted before the service takes traffic.
    await privacy_store.encrypt_legacy(runtime.pool, privacy.keyring_of(runtime.extras, runtime.settings))


SPEC = ServiceSpec(
    name="ingestion",
    schema="ingestion",
    package="regua_ingestion",
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router, privacy_api.router],
    title="Régua — invoice ingestion API",
)
