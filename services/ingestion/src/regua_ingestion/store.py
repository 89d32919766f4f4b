"""Queries of the ingestion schema (invoices, payments, idempotency keys)."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from regua_contracts.common import NewInvoice
from regua_ingestion.domain import Invoice, InvoiceStatus


async def insert_invoices(
    conn: asyncpg.Connection, tenant_id: str, rows: list[tuple[UUID, UUID, NewInvoice]]
) -> set[UUID]:
    """Inserts (id, debtor_id, invoice) rows; an external_id the tenant already has is left alone.
    Returns the ids actually inserted."""
    inserted = await conn.fetch(
        "INSERT INTO invoices (id, tenant_id, external_id, debtor_id, amount_cents, due_date, details) "
        "SELECT i, $1, e, d, a, due, det::jsonb "
        "FROM unnest($2::uuid[], $3::text[], $4::uuid[], $5::bigint[], $6::date[], $7::text[]) "
        "AS t(i, e, d, a, due, det) "
        "ON CONFLICT (tenant_id, external_id) DO NOTHING RETURNING id",
        tenant_id,
        [r[0] for r in rows],
        [r[2].external_id for r in rows],
        [r[1] for r in rows],
        [r[2].amount_cents for r in rows],
        [r[2].due_date for r in rows],
        [r[2].model_dump_json() for r in rows],
    )
    return {r["id"] for r in inserted}


async def person_ids(conn: asyncpg.Connection, documents: list[str]) -> dict[str, UUID]:
    """The person id of each document, made on first sight (agency-wide, not per tenant)."""
    wanted = sorted(set(documents))
    await conn.execute(
        "INSERT INTO persons (document, person_id) SELECT d, gen_random_uuid() FROM unnest($1::text[]) AS d "
        "ON CONFLICT (document) DO NOTHING", wanted)
    rows = await conn.fetch("SELECT document, person_id FROM persons WHERE document = ANY($1::text[])", wanted)
    return {r["document"]: r["person_id"] for r in rows}


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


_VIEW = (
    "SELECT i.*, coalesce((SELECT json_agg(json_build_object('amount_cents', p.amount_cents, "
    "'paid_at', p.paid_at) ORDER BY p.paid_at) FROM payments p WHERE p.invoice_id = i.id), '[]') AS payments "
    "FROM invoices i WHERE i.tenant_id = $1"
)


async def invoice_view(
    conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, invoice_id: UUID
) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"{_VIEW} AND i.id = $2", tenant_id, invoice_id)
    return _view(row) if row else None


async def list_invoices(
    conn: asyncpg.Pool, tenant_id: str, *, external_id: str | None, status: str | None, after: UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The tenant's invoices in id order (keyset pagination: pass the last id as ``after``)."""
    rows = await conn.fetch(
        f"{_VIEW} AND ($2::text IS NULL OR i.external_id = $2) AND ($3::text IS NULL OR i.status = $3) "
        "AND ($4::uuid IS NULL OR i.id > $4) ORDER BY i.id LIMIT $5",
        tenant_id, external_id, status, after, limit,
    )
    return [_view(r) for r in rows]


def _view(row: asyncpg.Record) -> dict[str, Any]:
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
        "debtor": details["debtor"],
        "description": details["description"],
        "tags": details["tags"],
        "created_at": row["created_at"].isoformat(),
        "payments": json.loads(row["payments"]),
    }


async def claim_idempotency_key(
    conn: asyncpg.Connection, tenant_id: str, key: str, fingerprint: bytes
) -> asyncpg.Record | None:
    """Reserves the key inside the caller's transaction. Returns the stored row when the key was used before
    (a concurrent first use blocks here until it commits)."""
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, status_code, body) "
        "VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING RETURNING true",
        tenant_id, key, fingerprint,
    )
    if inserted:
        return None
    return await conn.fetchrow(
        "SELECT fingerprint, status_code, body FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        tenant_id, key,
    )


async def store_idempotent_response(conn: asyncpg.Connection, tenant_id: str, key: str, status: int,
                                    body: Any) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status_code = $3, body = $4::jsonb WHERE tenant_id = $1 AND key = $2",
        tenant_id, key, status, json.dumps(body),
    )
