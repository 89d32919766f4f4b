"""A service's side of LGPD requests (regua.privacy.v1): export its rows about a person, correct their contact
data, erase them. Each service declares the tables keyed by (tenant_id, debtor_id) that hold personal data;
the one subscriber here answers every request through the outbox, once per event (processed_events).

Ingestion owns persons and decides; see regua_ingestion.privacy."""

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from regua_contracts import topics
from regua_contracts.privacy import (
    AGENCY,
    PRIVACY_EVENT,
    AnyPrivacyEvent,
    ContactDataCorrected,
    DebtorRef,
    PersonDataExported,
    PersonDataRequested,
    PersonErasureRequested,
)
from regua_platform import outbox, pii
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.outbox import OutboxMessage
from regua_platform.pii import Keyring
from regua_platform.service import Runtime
from regua_platform.signing import PRODUCER_HEADER

#: The one service that takes data-subject requests (its admin API) and assembles exports.
REQUESTER = "ingestion"

#: Reads rows a plain dump cannot show (encrypted columns): table name -> rows.
Exporter = Callable[[asyncpg.Connection, Keyring, list[DebtorRef]], Awaitable[dict[str, list[dict[str, Any]]]]]
#: Corrects contact data a JSON patch cannot reach (encrypted columns).
Corrector = Callable[[asyncpg.Connection, Keyring, ContactDataCorrected], Awaitable[None]]


@dataclass(frozen=True)
class PersonalTable:
    """A table whose rows belong to a debtor: by its own tenant_id and debtor_id columns, or through a parent
    table's key (``parent=("cases", "invoice_id")``). ``contact`` is the JSON path of a contact object
    (``email``, ``phone``, ``state``, ``postcode``, ``city_ibge``) that a correction rewrites."""

    name: str
    contact: tuple[str, ...] = ()
    parent: tuple[str, str] | None = None
    export: bool = True  # False where an exporter of the service shows the rows (encrypted columns)

    def where(self) -> str:
        """Matches the rows of the debtors in $1 (tenant ids) and $2 (debtor ids)."""
        if self.parent:
            table, key = self.parent
            return f't.{key} IN (SELECT p.{key} FROM "{table}" p WHERE {_debtor_match("p")})'
        return _debtor_match("t")


def _debtor_match(alias: str) -> str:
    return (f"EXISTS (SELECT 1 FROM unnest($1::text[], $2::uuid[]) AS d(tenant_id, debtor_id) "
            f"WHERE {alias}.tenant_id = d.tenant_id AND {alias}.debtor_id = d.debtor_id)")


@dataclass(frozen=True)
class PersonalData:
    """What a service holds about people. Tables are erased in the order given (children first)."""

    service: str
    tables: Sequence[PersonalTable]
    exporters: Sequence[Exporter] = field(default_factory=tuple)
    correctors: Sequence[Corrector] = field(default_factory=tuple)


def debtor_subject(ref: DebtorRef) -> str:
    """The data-key subject of a debtor in services that know no person (one creditor's debtor)."""
    return f"debtor:{ref.tenant_id}:{ref.debtor_id}"


def keyring_of(extras: dict[str, Any], settings: Any) -> Keyring:
    keyring: Keyring = extras.setdefault("pii_keyring", Keyring.from_settings(settings))
    return keyring


def _refs(debtors: list[DebtorRef]) -> tuple[list[str], list[Any]]:
    return [d.tenant_id for d in debtors], [d.debtor_id for d in debtors]


async def export_rows(conn: asyncpg.Connection, keyring: Keyring, held: PersonalData,
                      debtors: list[DebtorRef]) -> dict[str, list[dict[str, Any]]]:
    tenants, ids = _refs(debtors)
    data: dict[str, list[dict[str, Any]]] = {}
    for table in (t for t in held.tables if t.export):
        rows = await conn.fetch(f'SELECT to_jsonb(t) AS row FROM "{table.name}" t WHERE {table.where()}',
                                tenants, ids)
        data[table.name] = [json.loads(r["row"]) for r in rows]
    for exporter in held.exporters:
        data.update(await exporter(conn, keyring, debtors))
    return data


async def correct(conn: asyncpg.Connection, held: PersonalData, event: ContactDataCorrected) -> int:
    """Replaces the given contact fields wherever the service keeps a contact object of these debtors."""
    tenants, ids = _refs(event.debtors)
    patch = json.dumps(event.changes())
    changed = 0
    for table in (t for t in held.tables if t.contact):
        column, path = table.contact[0], list(table.contact[1:])
        value = (f"jsonb_set({column}, $4::text[], coalesce({column} #> $4::text[], '{{}}') || $3::jsonb)"
                 if path else f"{column} || $3::jsonb")
        result = await conn.execute(f'UPDATE "{table.name}" t SET {column} = {value} WHERE {table.where()}',
                                    tenants, ids, patch, *([path] if path else []))
        changed += int(result.split()[-1])
    return changed


async def erase(conn: asyncpg.Connection, held: PersonalData, debtors: list[DebtorRef]) -> int:
    """Deletes the debtors' rows and shreds their data keys."""
    tenants, ids = _refs(debtors)
    deleted = 0
    for table in held.tables:
        result = await conn.execute(f'DELETE FROM "{table.name}" t WHERE {table.where()}', tenants, ids)
        deleted += int(result.split()[-1])
    await pii.shred(conn, [debtor_subject(d) for d in debtors])
    return deleted


async def handle(conn: asyncpg.Connection, keyring: Keyring, held: PersonalData,
                 events: Sequence[AnyPrivacyEvent]) -> None:
    """Applies privacy events once each, inside the caller's transaction; answers go to the outbox."""
    fresh = await claim_new(conn, f"privacy-{held.service}", [e.event_id for e in events])
    # A batch may hold the same event twice (redelivery): each is applied once.
    for event in {e.event_id: e for e in events if e.event_id in fresh}.values():
        if isinstance(event, PersonDataRequested):
            data = await export_rows(conn, keyring, held, event.debtors)
            await outbox.add(conn, [OutboxMessage(topics.PRIVACY, str(event.person_id), PersonDataExported(
                occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=event.request_id,
                person_id=event.person_id, service=held.service, data=data))])
        elif isinstance(event, ContactDataCorrected):
            await correct(conn, held, event)
            for corrector in held.correctors:
                await corrector(conn, keyring, event)
        elif isinstance(event, PersonErasureRequested):
            await erase(conn, held, event.debtors)


def misattributed(delivery: Delivery[AnyPrivacyEvent]) -> str | None:
    """Every service may produce regua.privacy.v1 (its own export part), so the signature alone does not say
    who may ask: a request must come from the requester, and a part from the service it names."""
    producer, event = delivery.headers.get(PRODUCER_HEADER), delivery.event
    if isinstance(event, PersonDataExported):
        return None if producer == event.service else f"an export part of {event.service} produced by {producer}"
    return None if producer == REQUESTER else f"{event.type} may come only from {REQUESTER}, not {producer}"


def install(runtime: Runtime, held: PersonalData) -> None:
    """Subscribes the service to regua.privacy.v1."""
    keyring = keyring_of(runtime.extras, runtime.settings)

    async def on_privacy(deliveries: list[Delivery[AnyPrivacyEvent]]) -> list[Rejection]:
        # Export parts are for the requester alone (which checks them); every holder checks the requests.
        requests = [(d, misattributed(d)) for d in deliveries if not isinstance(d.event, PersonDataExported)]
        async with runtime.pool.acquire() as conn, conn.transaction():
            await handle(conn, keyring, held, [d.event for d, why in requests if why is None])
        return [Rejection(d.record, why) for d, why in requests if why is not None]

    subscribe(runtime.broker, runtime.settings, topic=topics.PRIVACY, group_id=f"{held.service}-privacy",
              adapter=PRIVACY_EVENT, handler=on_privacy)
