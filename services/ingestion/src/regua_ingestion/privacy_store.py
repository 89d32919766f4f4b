"""Queries of data-subject requests: a person's debtors and holding, requests and their audit log, the parts
of an export (encrypted under the person's key), correction and erasure of what ingestion holds."""

import json
from typing import Any
from uuid import UUID

import asyncpg

from regua_contracts.privacy import DebtorRef, PersonDataExported
from regua_ingestion import store
from regua_ingestion.privacy import Holding
from regua_platform import pii
from regua_platform.pii import Keyring


async def debtors_of(conn: asyncpg.Connection, person_id: UUID) -> list[DebtorRef]:
    rows = await conn.fetch("SELECT DISTINCT tenant_id, debtor_id FROM invoices WHERE person_id = $1 ORDER BY 1, 2",
                            person_id)
    return [DebtorRef(tenant_id=r["tenant_id"], debtor_id=r["debtor_id"]) for r in rows]


async def holding(conn: asyncpg.Connection, person_id: UUID) -> Holding:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'open') AS open, max(updated_at) FILTER (WHERE status <> 'open') "
        "AS closed FROM invoices WHERE person_id = $1", person_id)
    return Holding(open_invoices=row["open"], last_closed_at=row["closed"])


async def add_request(conn: asyncpg.Connection, request_id: UUID, kind: str, person_id: UUID, status: str,
                      actor: str, reason: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO privacy_requests (id, kind, person_id, status, reason, requested_by) "
        "VALUES ($1, $2, $3, $4, $5, $6)", request_id, kind, person_id, status, reason, actor)


async def log_access(conn: asyncpg.Connection | asyncpg.Pool, actor: str, action: str, person_id: UUID | None,
                     request_id: UUID | None = None, **detail: Any) -> None:
    """The audit trail of who read or changed a debtor's data (never the data itself)."""
    await conn.execute(
        "INSERT INTO privacy_access_log (actor, action, person_id, request_id, detail) VALUES ($1, $2, $3, $4, $5)",
        actor, action, person_id, request_id, json.dumps(detail))


async def add_part(conn: asyncpg.Connection, keyring: Keyring, part: PersonDataExported) -> None:
    """Keeps one service's part, encrypted under the person's key; dropped if the person was erased since."""
    keys = await pii.data_keys(conn, keyring, [store.person_subject(part.person_id)])
    key = keys.get(store.person_subject(part.person_id))
    if key is None:
        return
    await conn.execute(
        "INSERT INTO privacy_export_parts (request_id, service, part_enc) SELECT $1, $2, $3 "
        "WHERE EXISTS (SELECT 1 FROM privacy_requests WHERE id = $1) ON CONFLICT DO NOTHING",
        part.request_id, part.service, key.encrypt_json(part.data))


async def export_of(conn: asyncpg.Connection, keyring: Keyring, request_id: UUID) -> dict[str, Any] | None:
    """The parts received so far, in clear: service -> table -> rows."""
    request = await conn.fetchrow("SELECT person_id, requested_at FROM privacy_requests WHERE id = $1 "
                                  "AND kind = 'export'", request_id)
    if request is None:
        return None
    subject = store.person_subject(request["person_id"])
    key = (await pii.data_keys(conn, keyring, [subject])).get(subject)
    rows = await conn.fetch("SELECT service, part_enc FROM privacy_export_parts WHERE request_id = $1 ORDER BY 1",
                            request_id)
    return {"person_id": str(request["person_id"]), "requested_at": request["requested_at"].isoformat(),
            "services": {r["service"]: key.decrypt_json(r["part_enc"]) for r in rows} if key else {}}


async def export_ingestion(conn: asyncpg.Connection, keyring: Keyring,
                           debtors: list[DebtorRef]) -> dict[str, list[dict[str, Any]]]:
    """Ingestion's own part: the person's document and every invoice (with its debtor data) of the debtors."""
    rows = await conn.fetch(
        f"{store.VIEW_SELECT} WHERE EXISTS (SELECT 1 FROM unnest($1::text[], $2::uuid[]) AS d(t, id) "
        "WHERE i.tenant_id = d.t AND i.debtor_id = d.id) ORDER BY i.created_at",
        [d.tenant_id for d in debtors], [d.debtor_id for d in debtors])
    invoices = [{"tenant_id": r["tenant_id"], **view} for r, view in zip(rows, await store.views(conn, keyring, rows),
                                                                         strict=True)]
    people = await conn.fetch("SELECT person_id, document_enc FROM persons WHERE person_id = ANY($1::uuid[])",
                              list({r["person_id"] for r in rows}))
    keys = await pii.data_keys(conn, keyring, [store.person_subject(p["person_id"]) for p in people])
    persons = [{"person_id": str(p["person_id"]), "document": key.decrypt(p["document_enc"])}
               for p in people if p["document_enc"] and (key := keys.get(store.person_subject(p["person_id"])))]
    return {"persons": persons, "invoices": invoices}


async def correct_debtor(conn: asyncpg.Connection, keyring: Keyring, person_id: UUID,
                         changes: dict[str, str]) -> int:
    """Rewrites the contact fields of the person's debtor data on every invoice; returns how many."""
    key = await pii.data_key(conn, keyring, store.person_subject(person_id))
    rows = await conn.fetch("SELECT id, debtor_enc FROM invoices WHERE person_id = $1 AND debtor_enc IS NOT NULL "
                            "FOR UPDATE", person_id)
    await conn.executemany("UPDATE invoices SET debtor_enc = $2, updated_at = updated_at WHERE id = $1", [
        (r["id"], key.encrypt_json({**key.decrypt_json(r["debtor_enc"]), **changes})) for r in rows])
    return len(rows)


async def erase_person(conn: asyncpg.Connection, person_id: UUID) -> None:
    """Deletes what ingestion holds about the person and shreds their data key."""
    await conn.execute("DELETE FROM payments WHERE invoice_id IN (SELECT id FROM invoices WHERE person_id = $1)",
                       person_id)
    await conn.execute("DELETE FROM invoices WHERE person_id = $1", person_id)
    await conn.execute("DELETE FROM idempotency_keys WHERE $1 = ANY(person_ids)", person_id)
    await conn.execute("DELETE FROM privacy_export_parts WHERE request_id IN "
                       "(SELECT id FROM privacy_requests WHERE person_id = $1)", person_id)
    await conn.execute("DELETE FROM persons WHERE person_id = $1", person_id)
    await pii.shred(conn, [store.person_subject(person_id)])


async def encrypt_legacy(pool: asyncpg.Pool, keyring: Keyring, batch: int = 500) -> int:
    """Encrypts rows written before PII was encrypted at rest: documents first (so invoices find their
    person by hash), then invoices' debtors, then replayable responses. Returns how many rows it changed."""
    changed = 0
    for step in (_legacy_persons, _legacy_invoices, _legacy_replays):
        while True:
            async with pool.acquire() as conn, conn.transaction():
                done = await step(conn, keyring, batch)
            changed += done
            if done < batch:
                break
    return changed


async def _legacy_persons(conn: asyncpg.Connection, keyring: Keyring, batch: int) -> int:
    people = await conn.fetch("SELECT person_id, document FROM persons WHERE document IS NOT NULL LIMIT $1 "
                              "FOR UPDATE SKIP LOCKED", batch)
    keys = await pii.data_keys(conn, keyring, [store.person_subject(p["person_id"]) for p in people], create=True)
    await conn.executemany(
        "UPDATE persons SET document = NULL, document_hash = $2, document_enc = $3 WHERE person_id = $1",
        [(p["person_id"], keyring.blind_index(p["document"]),
          keys[store.person_subject(p["person_id"])].encrypt(p["document"])) for p in people])
    return len(people)


async def _legacy_invoices(conn: asyncpg.Connection, keyring: Keyring, batch: int) -> int:
    rows = await conn.fetch("SELECT id, details FROM invoices WHERE debtor_enc IS NULL LIMIT $1 "
                            "FOR UPDATE SKIP LOCKED", batch)
    debtors = {r["id"]: json.loads(r["details"]) for r in rows}
    persons = await store.person_ids(conn, keyring, [d["debtor"]["document"] for d in debtors.values()])
    keys = await pii.data_keys(conn, keyring, {store.person_subject(p) for p in persons.values()}, create=True)
    updates = []
    for invoice_id, details in debtors.items():
        debtor = details.pop("debtor")
        person = persons[debtor["document"]]
        updates.append((invoice_id, json.dumps(details), person,
                        keys[store.person_subject(person)].encrypt_json(debtor)))
    await conn.executemany("UPDATE invoices SET details = $2::jsonb, person_id = $3, debtor_enc = $4 WHERE id = $1",
                           updates)
    return len(rows)


async def _legacy_replays(conn: asyncpg.Connection, keyring: Keyring, batch: int) -> int:
    rows = await conn.fetch("SELECT tenant_id, key, status_code, body FROM idempotency_keys WHERE body IS NOT NULL "
                            "LIMIT $1 FOR UPDATE SKIP LOCKED", batch)
    for r in rows:
        await store.store_idempotent_response(conn, keyring, r["tenant_id"], r["key"], r["status_code"],
                                              json.loads(r["body"]))
    return len(rows)
