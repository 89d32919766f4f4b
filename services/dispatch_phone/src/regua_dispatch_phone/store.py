"""Queries of the dispatch_phone schema: the call queue and the calls made."""

import json
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from regua_compliance import PastContact
from regua_contracts.contacts import ContactRequested
from regua_dispatch_phone.domain import PRIORITY_SQL

DebtorKey = tuple[str, UUID]


async def enqueue(conn: asyncpg.Connection, commands: Sequence[ContactRequested]) -> int:
    """Queues one task per step; a redelivered step is already there and changes nothing."""
    if not commands:
        return 0
    rows = await conn.fetch(
        "INSERT INTO call_tasks (step_id, tenant_id, debtor_id, step_key, template, tone, recipient, creditor, "
        "invoices, total_cents, oldest_due, not_before, offers, self_service_url, status) "
        "SELECT *, 'queued' FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], "
        "$7::jsonb[], $8::jsonb[], $9::jsonb[], $10::bigint[], $11::date[], $12::timestamptz[], $13::jsonb[], "
        "$14::text[]) "
        "ON CONFLICT (step_id) DO NOTHING RETURNING step_id",
        [c.step_id for c in commands], [c.tenant_id for c in commands], [c.recipient.debtor_id for c in commands],
        [c.step_key for c in commands], [c.template for c in commands], [c.tone for c in commands],
        [c.recipient.model_dump_json() for c in commands], [c.creditor.model_dump_json() for c in commands],
        [json.dumps([i.model_dump(mode="json") for i in c.invoices]) for c in commands],
        [sum(i.amount_cents for i in c.invoices) for c in commands],
        [min(i.due_date for i in c.invoices) for c in commands], [c.scheduled_for for c in commands],
        [json.dumps([o.model_dump(mode="json") for o in c.offers]) for c in commands],
        [c.self_service_url for c in commands],
    )
    return len(rows)


async def latest_time(pool: asyncpg.Pool) -> datetime | None:
    """The latest moment the queue has seen: its last call, or the last command's planned time (a
    callback's future time does not count). A simulated clock resumes from here after a restart."""
    found: datetime | None = await pool.fetchval(
        "SELECT greatest((SELECT max(called_at) FROM calls), "
        "(SELECT max(not_before) FROM call_tasks WHERE calls = 0))")
    return found


async def candidates(conn: asyncpg.Connection, tenant_id: str, now: datetime, today: date,
                     stale_before: datetime, limit: int) -> list[asyncpg.Record]:
    """Due tasks, best first, locked for this transaction (agents fetching at once get different ones).
    A task assigned long ago without an outcome is due again."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM call_tasks WHERE tenant_id = $1 AND not_before <= $2 "
        "AND (status = 'queued' OR (status = 'assigned' AND assigned_at < $4)) "
        f"ORDER BY {PRIORITY_SQL.format(today='$3::date')} DESC, created_at LIMIT $5 FOR UPDATE SKIP LOCKED",
        tenant_id, now, today, stale_before, limit,
    )
    return rows


async def busy_debtors(conn: asyncpg.Connection, tenant_id: str, stale_before: datetime) -> set[UUID]:
    """Debtors an agent is calling right now: one call at a time per debtor."""
    rows = await conn.fetch("SELECT DISTINCT debtor_id FROM call_tasks WHERE tenant_id = $1 "
                            "AND status = 'assigned' AND assigned_at >= $2", tenant_id, stale_before)
    return {r["debtor_id"] for r in rows}


async def calls_of(conn: asyncpg.Connection, tenant_id: str, debtor_ids: Sequence[UUID],
                   since: datetime) -> dict[UUID, tuple[PastContact, ...]]:
    rows = await conn.fetch("SELECT debtor_id, called_at, conversation FROM calls WHERE tenant_id = $1 "
                            "AND debtor_id = ANY($2::uuid[]) AND called_at > $3", tenant_id, list(debtor_ids), since)
    out: dict[UUID, list[PastContact]] = {}
    for r in rows:
        out.setdefault(r["debtor_id"], []).append(PastContact("phone", r["called_at"], r["conversation"]))
    return {k: tuple(v) for k, v in out.items()}


async def assign(conn: asyncpg.Connection, step_id: UUID, agent_id: str, now: datetime) -> None:
    await conn.execute("UPDATE call_tasks SET status = 'assigned', agent_id = $2, assigned_at = $3 "
                       "WHERE step_id = $1", step_id, agent_id, now)


async def postpone(conn: asyncpg.Connection, step_id: UUID, until: datetime, reason: str) -> None:
    await conn.execute("UPDATE call_tasks SET status = 'queued', agent_id = NULL, not_before = $2, reason = $3 "
                       "WHERE step_id = $1", step_id, until, reason)


async def cancel(conn: asyncpg.Connection, step_id: UUID, reason: str) -> None:
    await conn.execute("UPDATE call_tasks SET status = 'cancelled', reason = $2 WHERE step_id = $1", step_id, reason)


async def task(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, step_id: UUID,
               for_update: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM call_tasks WHERE tenant_id = $1 AND step_id = $2" + (" FOR UPDATE" if for_update else ""),
        tenant_id, step_id)
    return row


async def record_call(conn: asyncpg.Connection, row: asyncpg.Record, agent_id: str, outcome: str,
                      conversation: bool, at: datetime) -> None:
    await conn.execute("INSERT INTO calls (tenant_id, debtor_id, step_id, agent_id, outcome, conversation, called_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       row["tenant_id"], row["debtor_id"], row["step_id"], agent_id, outcome, conversation, at)


async def settle(conn: asyncpg.Connection, step_id: UUID, status: str, not_before: datetime | None,
                 outcome: str) -> None:
    await conn.execute(
        "UPDATE call_tasks SET status = $2, not_before = coalesce($3, not_before), outcome = $4, "
        "calls = calls + 1, agent_id = CASE WHEN $2 = 'done' THEN agent_id END WHERE step_id = $1",
        step_id, status, not_before, outcome)
