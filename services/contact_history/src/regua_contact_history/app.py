"""Wiring of the contact history (a read model of contact facts and commands)."""

from regua_contact_history import api, store, subscribers
from regua_contracts import topics
from regua_platform import privacy
from regua_platform.privacy import PersonalData, PersonalTable
from regua_platform.service import Runtime, ServiceSpec
from regua_platform.tenants import install_tenant_directory


async def _wire(runtime: Runtime) -> None:
    install_tenant_directory(runtime)
    subscribers.wire(runtime)
    privacy.install(runtime, PersonalData("contact-history", (
        PersonalTable("contacts", export=False), PersonalTable("requests"), PersonalTable("debtors")),
        exporters=(store.export_contacts,)))
    # Entries written before their detail was encrypted are encrypted before the service takes traffic.
    await store.encrypt_legacy(runtime.pool, privacy.keyring_of(runtime.extras, runtime.settings))


SPEC = ServiceSpec(
    name="contact-history",
    schema="contact_history",
    package="regua_contact_history",
    topics=topics.all_topics(),
    wire=_wire,
    routers=[api.router],
    title="Régua — contact history",
)
