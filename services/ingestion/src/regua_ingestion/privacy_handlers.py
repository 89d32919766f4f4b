"""Data-subject requests (LGPD art. 18) as commands: each finds the person by the document's keyed hash,
records the request and who made it, applies ingestion's own part and tells every other holder through the
outbox (regua.privacy.v1). Callers own the transaction."""

import uuid
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from regua_contracts import topics
from regua_contracts.privacy import AGENCY, ContactDataCorrected, PersonDataRequested, PersonErasureRequested
from regua_ingestion import privacy_store, store
from regua_ingestion.privacy import erasure_refusal
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage
from regua_platform.pii import Keyring


class UnknownPerson(Exception):
    """No data is held about this document."""


async def _person(conn: asyncpg.Connection, keyring: Keyring, actor: str, action: str, document: str) -> UUID:
    person_id = await store.person_by_document(conn, keyring, document)
    if person_id is None:
        await privacy_store.log_access(conn, actor, action, None, outcome="unknown document")
        raise UnknownPerson
    return person_id


async def request_export(conn: asyncpg.Connection, keyring: Keyring, actor: str, document: str) -> UUID:
    """Asks every holder for its part of the person's data; ingestion's own part comes the same way."""
    person_id = await _person(conn, keyring, actor, "export-requested", document)
    request_id = uuid.uuid4()
    await privacy_store.add_request(conn, request_id, "export", person_id, "pending", actor)
    await privacy_store.log_access(conn, actor, "export-requested", person_id, request_id)
    await outbox.add(conn, [OutboxMessage(topics.PRIVACY, str(person_id), PersonDataRequested(
        occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=request_id, person_id=person_id,
        debtors=await privacy_store.debtors_of(conn, person_id)))])
    return request_id


async def correct_contact(conn: asyncpg.Connection, keyring: Keyring, actor: str, document: str,
                          changes: dict[str, str]) -> tuple[UUID, int]:
    """Corrects the person's contact data (validated fields of ContactDataCorrected) here and in every
    service holding it."""
    person_id = await _person(conn, keyring, actor, "contact-corrected", document)
    request_id = uuid.uuid4()
    corrected = await privacy_store.correct_debtor(conn, keyring, person_id, changes)
    await privacy_store.add_request(conn, request_id, "correction", person_id, "done", actor)
    await privacy_store.log_access(conn, actor, "contact-corrected", person_id, request_id, fields=sorted(changes))
    await outbox.add(conn, [OutboxMessage(topics.PRIVACY, str(person_id), ContactDataCorrected(
        occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=request_id, person_id=person_id,
        debtors=await privacy_store.debtors_of(conn, person_id), **changes))])
    return request_id, corrected


async def request_erasure(conn: asyncpg.Connection, keyring: Keyring, actor: str, document: str,
                          retention_days: int) -> tuple[UUID, str | None]:
    """Erases the person everywhere when no legal basis remains; otherwise records the refusal and why."""
    person_id = await _person(conn, keyring, actor, "erasure-requested", document)
    request_id = uuid.uuid4()
    refusal = erasure_refusal(await privacy_store.holding(conn, person_id), datetime.now(UTC), retention_days)
    await privacy_store.add_request(conn, request_id, "erasure", person_id, "refused" if refusal else "done",
                                    actor, refusal)
    await privacy_store.log_access(conn, actor, "erasure-requested", person_id, request_id,
                                   outcome="refused" if refusal else "erased")
    if refusal is None:
        debtors = await privacy_store.debtors_of(conn, person_id)
        await privacy_store.erase_person(conn, person_id)
        await outbox.add(conn, [OutboxMessage(topics.PRIVACY, str(person_id), PersonErasureRequested(
            occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=request_id, person_id=person_id,
            debtors=debtors))])
    return request_id, refusal
