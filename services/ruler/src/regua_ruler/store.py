"""Queries of the ruler schema: rulers, cases, case steps, the simulated clock."""

import json
from datetime import datetime
from importlib import resources
from uuid import UUID

import asyncpg

from regua_ruler.domain import PlannedStep, RulerDefinition

DEFAULT_RULER = RulerDefinition.model_validate_json(
    (resources.files("regua_ruler") / "default_ruler.json").read_text(encoding="utf-8")
)


async def current_ruler(conn: asyncpg.Connection, tenant_id: str, name: str) -> tuple[RulerDefinition, int]:
    """The tenant's newest version of a ruler. A tenant without one gets the default, stored as version 1."""
    row = await conn.fetchrow(
        "SELECT definition, version FROM rulers WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1",
        tenant_id, name,
    )
    if row is None:
        await conn.execute(
            "INSERT INTO rulers (tenant_id, name, version, definition) VALUES ($1, $2, 1, $3) "
            "ON CONFLICT DO NOTHING",
            tenant_id, name, DEFAULT_RULER.model_dump_json(),
        )
        return DEFAULT_RULER, 1
    return RulerDefinition.model_validate_json(row["definition"]), row["version"]


async def insert_case(
    conn: asyncpg.Connection, *, invoice_id: UUID, tenant_id: str, debtor_id: UUID, ruler: str, version: int,
    recipient: str, creditor: str, invoice: str, opened_at: datetime, steps: list[PlannedStep],
) -> bool:
    """False when the case already exists (a redelivered registration)."""
    inserted = await conn.fetchval(
        "INSERT INTO cases (invoice_id, tenant_id, debtor_id, status, ruler_name, ruler_version, recipient, "
        "creditor, invoice, opened_at) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT DO NOTHING RETURNING true",
        invoice_id, tenant_id, debtor_id, ruler, version, recipient, creditor, invoice, opened_at,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO case_steps (invoice_id, step_key, channel, step_id, template, tone, fire_at, status, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [(invoice_id, s.step_key, s.channel, s.step_id, s.template, s.tone, s.fire_at, s.status, s.reason)
         for s in steps],
    )
    return True


async def close_case(
    conn: asyncpg.Connection, invoice_id: UUID, reason: str, now: datetime
) -> tuple[asyncpg.Record, int] | None:
    """Stops a case that is not stopped yet and cancels its pending steps; returns it and how many steps
    were cancelled. None if there was nothing to stop."""
    case = await conn.fetchrow(
        "UPDATE cases SET status = 'stopped', stop_reason = $2, closed_at = $3 "
        "WHERE invoice_id = $1 AND status IN ('active', 'paused', 'exhausted') "
        "RETURNING invoice_id, tenant_id, debtor_id, recipient, creditor, invoice",
        invoice_id, reason, now,
    )
    if case is None:
        return None
    cancelled = await conn.fetchval(
        "WITH c AS (UPDATE case_steps SET status = 'cancelled', reason = $2 "
        "WHERE invoice_id = $1 AND status = 'pending' RETURNING 1) SELECT count(*) FROM c",
        invoice_id, reason,
    )
    return case, cancelled


async def claim_due_steps(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Locks up to ``limit`` due steps of active cases; replicas skip each other's locked rows."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT s.invoice_id, s.step_key, s.channel, s.step_id, s.template, s.tone, s.fire_at, "
        "c.tenant_id, c.debtor_id, c.recipient, c.creditor, c.invoice "
        "FROM case_steps s JOIN cases c USING (invoice_id) "
        "WHERE s.status = 'pending' AND s.fire_at <= $1 AND c.status = 'active' "
        "ORDER BY s.fire_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED",
        now, limit,
    )
    return rows


async def mark_steps(conn: asyncpg.Connection, step_ids: list[UUID], status: str, now: datetime,
                     reason: str | None = None) -> None:
    await conn.execute(
        "UPDATE case_steps SET status = $2, fired_at = $3, reason = $4 WHERE step_id = ANY($1::uuid[])",
        step_ids, status, now, reason,
    )


async def exhaust_finished_cases(
    conn: asyncpg.Connection, invoice_ids: list[UUID], now: datetime
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "UPDATE cases c SET status = 'exhausted', closed_at = $2 WHERE c.invoice_id = ANY($1::uuid[]) "
        "AND c.status = 'active' AND NOT EXISTS "
        "(SELECT 1 FROM case_steps s WHERE s.invoice_id = c.invoice_id AND s.status = 'pending') "
        "RETURNING c.invoice_id, c.tenant_id, c.debtor_id",
        invoice_ids, now,
    )
    return rows


async def load_simulated_clock(conn: asyncpg.Pool) -> datetime | None:
    value: datetime | None = await conn.fetchval("SELECT now FROM simulated_clock")
    return value


async def save_simulated_clock(conn: asyncpg.Pool, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO simulated_clock (id, now) VALUES (true, $1) ON CONFLICT (id) DO UPDATE SET now = $1", now
    )


async def due_step_count(conn: asyncpg.Pool, now: datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM case_steps s JOIN cases c USING (invoice_id) "
        "WHERE s.status = 'pending' AND s.fire_at <= $1 AND c.status = 'active'", now,
    )
    return count


def dumps(value: object) -> str:
    return json.dumps(value, default=str)


async def counts(conn: asyncpg.Pool) -> dict[str, dict[str, int]]:
    cases = await conn.fetch("SELECT status, count(*) AS n FROM cases GROUP BY status")
    steps = await conn.fetch("SELECT status, count(*) AS n FROM case_steps GROUP BY status")
    return {"cases": {r["status"]: r["n"] for r in cases}, "steps": {r["status"]: r["n"] for r in steps}}
