"""Kafka side of data-subject requests in ingestion: answers its own part like every holder, and keeps each
service's part of an export as it arrives (encrypted under the person's key)."""

from regua_contracts import topics
from regua_contracts.privacy import PRIVACY_EVENT, AnyPrivacyEvent, PersonDataExported
from regua_ingestion import privacy_store
from regua_platform import privacy
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.privacy import PersonalData, keyring_of
from regua_platform.service import Runtime


def wire(runtime: Runtime) -> None:
    keyring = keyring_of(runtime.extras, runtime.settings)
    privacy.install(runtime, PersonalData("ingestion", tables=(), exporters=(privacy_store.export_ingestion,)))

    async def on_parts(deliveries: list[Delivery[AnyPrivacyEvent]]) -> list[Rejection]:
        parts = [(d, privacy.misattributed(d)) for d in deliveries if isinstance(d.event, PersonDataExported)]
        async with runtime.pool.acquire() as conn, conn.transaction():
            for d, why in parts:
                if why is None:
                    await privacy_store.add_part(conn, keyring, d.event)  # type: ignore[arg-type]
        # The requests themselves are checked (and dead-lettered if forged) by the privacy subscriber above.
        return [Rejection(d.record, why) for d, why in parts if why is not None]

    subscribe(runtime.broker, runtime.settings, topic=topics.PRIVACY, group_id="ingestion-privacy-exports",
              adapter=PRIVACY_EVENT, handler=on_parts)
