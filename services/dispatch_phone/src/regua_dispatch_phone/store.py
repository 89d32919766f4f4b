"""Queries of the dispatch_phone schema: the call queue and the calls made."""

import json
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from regua_compliance import PastContact
from regua_contracts.common import InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_dispatch_phone.domain import PRIORITY_SQL

DebtorKey = tuple[str, UUID]


async def enqueue(conn: asyncpg.Connection, commands: Sequence[ContactRequested]) -> int:
    """Queues one task per step; a redelivered step is already there and changes nothing."""
    if not commands:
        return 0
    rows = await conn.fetch(
        "INSERT INTO call_tasks (step_id, tenant_id, debtor_id, step_key, template, tone, recipient, creditor, "
        "invoices, total_cents, oldest_due, not_before, offers, self_service_url, person_key, emitted_at, "
        "fired_invoice_ids, invoice_ids, status) SELECT s, t, d, k, tp, tn, r, c, i, tc, od, nb, o, u, pk, ea, "
        "CASE WHEN fi = '' THEN NULL ELSE string_to_array(fi, ',')::uuid[] END, "
        "ARRAY(SELECT (e ->> 'invoice_id')::uuid FROM jsonb_array_elements(i) e), 'queued' "
        "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], "
        "$7::jsonb[], $8::jsonb[], $9::jsonb[], $10::bigint[], $11::date[], $12::timestamptz[], $13::jsonb[], "
        "$14::text[], $15::text[], $16::timestamptz[], $17::text[]) "
        "AS x(s, t, d, k, tp, tn, r, c, i, tc, od, nb, o, u, pk, ea, fi) "
        "ON CONFLICT (step_id) DO NOTHING RETURNING step_id",
        [c.step_id for c in commands], [c.tenant_id for c in commands], [c.recipient.debtor_id for c in commands],
        [c.step_key for c in commands], [c.template for c in commands], [c.tone for c in commands],
        [c.recipient.model_dump_json() for c in commands], [c.creditor.model_dump_json() for c in commands],
        [json.dumps([i.model_dump(mode="json") for i in c.invoices]) for c in commands],
        [sum(i.amount_cents for i in c.invoices) for c in commands],
        [min(i.due_date for i in c.invoices) for c in commands], [c.scheduled_for for c in commands],
        [json.dumps([o.model_dump(mode="json") for o in c.offers]) for c in commands],
        [c.self_service_url for c in commands], [person_key(c.tenant_id, c.recipient) for c in commands],
        [c.occurred_at for c in commands],
        # uuid[][] cannot be ragged: each list travels as text ('' for None: every invoice was fired)
        ["" if c.fired_invoice_ids is None else ",".join(map(str, c.fired_invoice_ids)) for c in commands],
    )
    return len(rows)


def person_key(tenant_id: str, recipient: Recipient) -> str:
    """Whose calls count together: the person behind the debtor (every creditor), else the debtor."""
    return str(recipient.person_id) if recipient.person_id else f"{tenant_id}:{recipient.debtor_id}"


async def queued_about(conn: asyncpg.Connection, invoice_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Tasks still waiting for an agent (not taken) about any of these invoices, locked."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM call_tasks WHERE status = 'queued' AND invoice_ids && $1::uuid[] FOR UPDATE",
        list(invoice_ids))
    return rows


async def narrow(conn: asyncpg.Connection, step_id: UUID, invoices: Sequence[InvoiceSummary]) -> None:
    """The task without the invoices whose case stopped or paused."""
    await conn.execute(
        "UPDATE call_tasks SET invoices = $2::jsonb, invoice_ids = $3::uuid[], total_cents = $4, oldest_due = $5 "
        "WHERE step_id = $1", step_id, json.dumps([i.model_dump(mode="json") for i in invoices]),
        [i.invoice_id for i in invoices], sum(i.amount_cents for i in invoices), min(i.due_date for i in invoices))


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


async def calls_of(conn: asyncpg.Connection, tasks: Sequence[asyncpg.Record],
                   since: datetime) -> dict[UUID, tuple[PastContact, ...]]:
    """Per task (step id): the calls made since ``since`` to its person, whichever creditor they were for,
    and to its debtor (a call recorded before the person was known counts too)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (c.id, t.s) t.s AS step_id, c.called_at, c.conversation FROM calls c "
        "JOIN unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) AS t(s, p, tn, d) "
        "ON c.person_key = t.p OR (c.tenant_id = t.tn AND c.debtor_id = t.d) WHERE c.called_at > $5",
        [t["step_id"] for t in tasks], [t["person_key"] for t in tasks], [t["tenant_id"] for t in tasks],
        [t["debtor_id"] for t in tasks], since)
    out: dict[UUID, list[PastContact]] = {}
    for r in rows:
        out.setdefault(r["step_id"], []).append(PastContact("phone", r["called_at"], r["conversation"]))
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
    await conn.execute("INSERT INTO calls (tenant_id, debtor_id, step_id, agent_id, outcome, conversation, called_at, "
                       "person_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       row["tenant_id"], row["debtor_id"], row["step_id"], agent_id, outcome, conversation, at,
                       row["person_key"])


async def settle(conn: asyncpg.Connection, step_id: UUID, status: str, not_before: datetime | None,
                 outcome: str) -> None:
    await conn.execute(
        "UPDATE call_tasks SET status = $2, not_before = coalesce($3, not_before), outcome = $4, "
        "calls = calls + 1, agent_id = CASE WHEN $2 = 'done' THEN agent_id END WHERE step_id = $1",
        step_id, status, not_before, outcome)
