"""Queries of the ingestion schema (invoices, payments, idempotency keys). A debtor's PII is stored only
encrypted under the person's data key (regua_platform.pii), the document also as a keyed hash for lookups."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from regua_contracts.common import NewInvoice
from regua_ingestion.domain import Invoice, InvoiceStatus
from regua_platform import pii
from regua_platform.pii import DataKey, Keyring


def person_subject(person_id: UUID) -> str:
    """The data-key subject of a person: everything ingestion holds about them is encrypted under it."""
    return f"person:{person_id}"


def _tenant_subject(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


async def insert_invoices(
    conn: asyncpg.Connection, tenant_id: str, rows: list[tuple[UUID, UUID, UUID, NewInvoice]],
    keys: dict[str, DataKey],
) -> set[UUID]:
    """Inserts (id, debtor_id, person_id, invoice) rows, the debtor encrypted under the person's key; an
    external_id the tenant already has is left alone. Returns the ids actually inserted."""
    inserted = await conn.fetch(
        "INSERT INTO invoices (id, tenant_id, external_id, debtor_id, amount_cents, due_date, details, person_id, "
        "debtor_enc) SELECT i, $1, e, d, a, due, det::jsonb, p, enc "
        "FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::bigint[], $6::date[], $7::text[], $8::uuid[], "
        "$9::bytea[]) AS t(i, e, d, a, due, det, p, enc) "
        "ON CONFLICT (tenant_id, external_id) DO NOTHING RETURNING id",
        tenant_id,
        [r[0] for r in rows],
        [r[3].external_id for r in rows],
        [r[1] for r in rows],
        [r[3].amount_cents for r in rows],
        [r[3].due_date for r in rows],
        [r[3].model_dump_json(exclude={"debtor"}) for r in rows],
        [r[2] for r in rows],
        [keys[person_subject(r[2])].encrypt_json(r[3].debtor.model_dump(mode="json")) for r in rows],
    )
    return {r["id"] for r in inserted}


async def person_ids(conn: asyncpg.Connection, keyring: Keyring, documents: list[str]) -> dict[str, UUID]:
    """The person id of each document, made on first sight (agency-wide, not per tenant). Found by the
    document's keyed hash; a new person's document is stored encrypted under their own data key."""
    hashes = {d: keyring.blind_index(d) for d in sorted(set(documents))}
    await conn.execute(
        "INSERT INTO persons (person_id, document_hash) SELECT gen_random_uuid(), h FROM unnest($1::bytea[]) AS h "
        "ON CONFLICT (document_hash) DO NOTHING", list(hashes.values()))
    rows = await conn.fetch("SELECT document_hash, person_id, document_enc IS NULL AS fresh FROM persons "
                            "WHERE document_hash = ANY($1::bytea[])", list(hashes.values()))
    by_hash = {bytes(r["document_hash"]): r for r in rows}
    found = {d: by_hash[h]["person_id"] for d, h in hashes.items()}
    fresh = [d for d, h in hashes.items() if by_hash[h]["fresh"]]
    if fresh:
        keys = await pii.data_keys(conn, keyring, [person_subject(found[d]) for d in fresh], create=True)
        await conn.execute(
            "UPDATE persons p SET document_enc = t.enc FROM unnest($1::uuid[], $2::bytea[]) AS t(id, enc) "
            "WHERE p.person_id = t.id",
            [found[d] for d in fresh], [keys[person_subject(found[d])].encrypt(d) for d in fresh])
    return found


async def person_by_document(conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring,
                             document: str) -> UUID | None:
    person: UUID | None = await conn.fetchval("SELECT person_id FROM persons WHERE document_hash = $1",
                                              keyring.blind_index(document))
    return person


async def invoice_ids(conn: asyncpg.Connection, tenant_id: str, external_ids: list[str]) -> dict[str, UUID]:
    """The ids of the tenant's invoices with these external ids, by external id."""
    rows = await conn.fetch(
        "SELECT external_id, id FROM invoices WHERE tenant_id = $1 AND external_id = ANY($2::text[])",
        tenant_id, external_ids,
    )
    return {r["external_id"]: r["id"] for r in rows}


_INVOICE_COLUMNS = "id, tenant_id, external_id, debtor_id, amount_cents, paid_cents, due_date, status"


def _invoice(row: asyncpg.Record) -> Invoice:
    return Invoice(**{k: row[k] for k in _INVOICE_COLUMNS.split(", ") if k != "status"},
                   status=InvoiceStatus(row["status"]))


async def load_invoice(
    conn: asyncpg.Connection, tenant_id: str, *, invoice_id: UUID | None = None,
    external_id: str | None = None, for_update: bool = False,
) -> Invoice | None:
    column, value = ("id", invoice_id) if invoice_id is not None else ("external_id", external_id)
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE tenant_id = $1 AND {column} = $2{lock}",
        tenant_id, value,
    )
    return _invoice(row) if row else None


async def save_invoice(conn: asyncpg.Connection, invoice: Invoice) -> None:
    await conn.execute(
        "UPDATE invoices SET paid_cents = $2, status = $3, updated_at = now() WHERE id = $1",
        invoice.id, invoice.paid_cents, invoice.status.value,
    )


async def insert_payment(conn: asyncpg.Connection, payment_id: UUID, invoice_id: UUID, amount: int,
                         paid_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO payments (id, invoice_id, amount_cents, paid_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO NOTHING",
        payment_id, invoice_id, amount, paid_at,
    )


#: Invoices with their payments, as views() renders them.
VIEW_SELECT = (
    "SELECT i.*, coalesce((SELECT json_agg(json_build_object('amount_cents', p.amount_cents, "
    "'paid_at', p.paid_at) ORDER BY p.paid_at) FROM payments p WHERE p.invoice_id = i.id), '[]') AS payments "
    "FROM invoices i"
)
_VIEW = f"{VIEW_SELECT} WHERE i.tenant_id = $1"


async def invoice_view(
    conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring, tenant_id: str, invoice_id: UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"{_VIEW} AND i.id = $2", tenant_id, invoice_id)
    return (await views(conn, keyring, [row]))[0] if row else None


async def list_invoices(
    conn: asyncpg.Pool, keyring: Keyring, tenant_id: str, *, external_id: str | None, status: str | None,
    after: UUID | None, limit: int,
) -> list[dict[str, Any]]:
    """The tenant's invoices in id order (keyset pagination: pass the last id as ``after``)."""
    rows = await conn.fetch(
        f"{_VIEW} AND ($2::text IS NULL OR i.external_id = $2) AND ($3::text IS NULL OR i.status = $3) "
        "AND ($4::uuid IS NULL OR i.id > $4) ORDER BY i.id LIMIT $5",
        tenant_id, external_id, status, after, limit,
    )
    return await views(conn, keyring, rows)


async def views(conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring,
                rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    keys = await pii.data_keys(conn, keyring, {person_subject(r["person_id"]) for r in rows if r["person_id"]})
    return [_view(r, keys) for r in rows]


def _debtor(row: asyncpg.Record, details: dict[str, Any], keys: dict[str, DataKey]) -> Any:
    """The debtor in clear; None once the person was erased (their data key shredded)."""
    if row["debtor_enc"] is None:  # written before encryption, until start-up encrypts it
        return details.get("debtor")
    key = keys.get(person_subject(row["person_id"]))
    return key.decrypt_json(row["debtor_enc"]) if key else None


def _view(row: asyncpg.Record, keys: dict[str, DataKey]) -> dict[str, Any]:
    details = json.loads(row["details"])
    return {
        "id": str(row["id"]),
        "external_id": row["external_id"],
        "status": row["status"],
        "amount_cents": row["amount_cents"],
        "paid_cents": row["paid_cents"],
        "outstanding_cents": row["amount_cents"] - row["paid_cents"],
        "due_date": row["due_date"].isoformat(),
        "debtor_id": str(row["debtor_id"]),
        "debtor": _debtor(row, details, keys),
        "description": details["description"],
        "tags": details["tags"],
        "created_at": row["created_at"].isoformat(),
        "payments": json.loads(row["payments"]),
    }


async def claim_idempotency_key(
    conn: asyncpg.Connection, keyring: Keyring, tenant_id: str, key: str, fingerprint: bytes
) -> tuple[bytes, int, Any] | None:
    """Reserves the key inside the caller's transaction. Returns the stored (fingerprint, status, body) when
    the key was used before (a concurrent first use blocks here until it commits)."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, status_code, body) "
        "VALUES ($1, $2, $3, 0, NULL) ON CONFLICT DO NOTHING RETURNING true",
        tenant_id, key, fingerprint,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT fingerprint, status_code, body, body_enc FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        tenant_id, key,
    )
    if row["body_enc"] is None:
        body = json.loads(row["body"]) if row["body"] is not None else None
    else:
        body = (await pii.data_key(conn, keyring, _tenant_subject(tenant_id))).decrypt_json(row["body_enc"])
    return bytes(row["fingerprint"]), row["status_code"], body


def _debtor_ids(body: Any) -> set[str]:
    if isinstance(body, list):
        return set().union(*(_debtor_ids(b) for b in body))
    if isinstance(body, dict):
        found = {body["debtor_id"]} if isinstance(body.get("debtor_id"), str) else set()
        return found.union(*(_debtor_ids(v) for v in body.values() if isinstance(v, list | dict)))
    return set()


async def store_idempotent_response(conn: asyncpg.Connection, keyring: Keyring, tenant_id: str, key: str,
                                    status: int, body: Any) -> None:
    """Keeps the response encrypted, with the persons it names (an erasure deletes it with them)."""
    persons = await conn.fetchval(
        "SELECT coalesce(array_agg(DISTINCT person_id), '{}') FROM invoices "
        "WHERE tenant_id = $1 AND debtor_id = ANY($2::uuid[]) AND person_id IS NOT NULL",
        tenant_id, sorted(_debtor_ids(body)))
    data_key = await pii.data_key(conn, keyring, _tenant_subject(tenant_id), create=True)
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, body = NULL, body_enc = $4, person_ids = $5 "
        "WHERE tenant_id = $1 AND key = $2",
        tenant_id, key, status, data_key.encrypt_json(body), persons,
    )
