"""Queries of the contact_history schema."""

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from regua_contact_history.domain import Entry
from regua_contracts.contacts import ContactRequested
from regua_contracts.privacy import DebtorRef
from regua_platform import pii
from regua_platform.pii import DataKey, Keyring
from regua_platform.privacy import debtor_subject


def _subject(tenant_id: str, debtor_id: UUID) -> str:
    return debtor_subject(DebtorRef(tenant_id=tenant_id, debtor_id=debtor_id))


async def add_debtors(conn: asyncpg.Connection, keys: Sequence[tuple[str, UUID]]) -> None:
    await conn.execute("INSERT INTO debtors SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING",
                       [k[0] for k in keys], [k[1] for k in keys])


async def add_requests(conn: asyncpg.Connection, commands: Sequence[ContactRequested]) -> None:
    await conn.executemany(
        "INSERT INTO requests (step_id, tenant_id, debtor_id, channel, step_key, template, tone, invoice_ids, "
        "requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        [(c.step_id, c.tenant_id, c.recipient.debtor_id, c.channel, c.step_key, c.template, c.tone,
          [i.invoice_id for i in c.invoices], c.occurred_at) for c in commands])


async def add_entries(conn: asyncpg.Connection, keyring: Keyring, entries: Sequence[Entry]) -> None:
    """Each entry's detail is stored encrypted under its debtor's data key."""
    keys = await pii.data_keys(conn, keyring, {_subject(e.tenant_id, e.debtor_id) for e in entries}, create=True)
    await conn.executemany(
        "INSERT INTO contacts (event_id, tenant_id, debtor_id, at, kind, channel, step_id, step_key, outcome, "
        "detail_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING",
        [(e.event_id, e.tenant_id, e.debtor_id, e.at, e.kind, e.channel, e.step_id, e.step_key, e.outcome,
          keys[_subject(e.tenant_id, e.debtor_id)].encrypt_json(e.detail)) for e in entries])


async def encrypt_legacy(pool: asyncpg.Pool, keyring: Keyring) -> int:
    """Encrypts the detail of entries written before it was encrypted; returns how many."""
    return await pii.encrypt_in_place(
        pool, keyring, subject=lambda r: _subject(r["tenant_id"], r["debtor_id"]),
        select="SELECT id, detail::text, tenant_id, debtor_id FROM contacts WHERE detail_enc IS NULL "
               "LIMIT $1 FOR UPDATE SKIP LOCKED",
        update="UPDATE contacts SET detail = '{}', detail_enc = $2 WHERE id = $1")


def _detail(row: asyncpg.Record, key: DataKey | None) -> Any:
    if row["detail_enc"] is None:
        return json.loads(row["detail"])
    return key.decrypt_json(row["detail_enc"]) if key else {}


async def export_contacts(conn: asyncpg.Connection, keyring: Keyring,
                          debtors: list[DebtorRef]) -> dict[str, list[dict[str, Any]]]:
    """The debtors' entries with their detail in clear (an access request's part)."""
    rows = await conn.fetch(
        "SELECT c.* FROM contacts c JOIN unnest($1::text[], $2::uuid[]) AS d(t, id) ON c.tenant_id = d.t "
        "AND c.debtor_id = d.id ORDER BY c.at, c.id", [d.tenant_id for d in debtors], [d.debtor_id for d in debtors])
    keys = await pii.data_keys(conn, keyring, [debtor_subject(d) for d in debtors])
    return {"contacts": [
        {"tenant_id": r["tenant_id"], "debtor_id": str(r["debtor_id"]), "at": r["at"].isoformat(), "kind": r["kind"],
         "channel": r["channel"], "step_key": r["step_key"], "outcome": r["outcome"],
         "detail": _detail(r, keys.get(_subject(r["tenant_id"], r["debtor_id"])))} for r in rows]}


async def knows(pool: asyncpg.Pool, tenant_id: str, debtor_id: UUID) -> bool:
    return bool(await pool.fetchval("SELECT true FROM debtors WHERE tenant_id = $1 AND debtor_id = $2",
                                    tenant_id, debtor_id))


def cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def parse_cursor(token: str) -> tuple[datetime, int]:
    at, _, row_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition("|")
    return datetime.fromisoformat(at), int(row_id)


async def page(pool: asyncpg.Pool, keyring: Keyring, tenant_id: str, debtor_id: UUID,
               before: tuple[datetime, int] | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; ``before`` is the (at, id) of the last entry of the previous page."""
    rows = await pool.fetch(
        "SELECT c.id, c.at, c.kind, c.channel, c.step_id, coalesce(c.step_key, r.step_key) AS step_key, "
        "r.template, r.tone, c.outcome, c.detail, c.detail_enc FROM contacts c "
        "LEFT JOIN requests r ON r.step_id = c.step_id "
        "WHERE c.tenant_id = $1 AND c.debtor_id = $2 AND ($3::timestamptz IS NULL OR (c.at, c.id) < ($3, $4)) "
        "ORDER BY c.at DESC, c.id DESC LIMIT $5",
        tenant_id, debtor_id, before[0] if before else None, before[1] if before else 0, limit)
    key = (await pii.data_keys(pool, keyring, [_subject(tenant_id, debtor_id)])).get(_subject(tenant_id, debtor_id))
    return [{"id": r["id"], "at": r["at"], "kind": r["kind"], "channel": r["channel"],
             "step_id": str(r["step_id"]) if r["step_id"] else None, "step": r["step_key"], "template": r["template"],
             "tone": r["tone"], "outcome": r["outcome"], "detail": _detail(r, key)} for r in rows]
