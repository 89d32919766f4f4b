"""Collection cases and their step slots."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from regua_ruler.domain.planning import PlannedStep

#: Cases whose plan is still running, or will again once their pauses end (not a paused exhausted one).
_PLANNED = "(status = 'active' OR (status = 'paused' AND resume_status = 'active'))"
#: Steps fire on active cases; an exhausted case still answers a request for offers (a one-off step: its key
#: holds ':', which planned step keys may not).
_ONE_OFF = "s.step_key LIKE '%:%'"
_FIRABLE = f"(c.status = 'active' OR (c.status = 'exhausted' AND {_ONE_OFF}))"


@dataclass(frozen=True)
class NewCase:
    invoice_id: UUID
    tenant_id: str
    debtor_id: UUID
    ruler: str
    version: int
    segment: str
    variant: str
    behaviour: str
    score_band: str
    profile_fallback: bool
    amount_cents: int
    due_date: Any
    recipient: str
    creditor: str
    invoice: str
    tags: list[str]
    opened_at: datetime
    person_id: UUID | None = None  # None: the debtor stands for a person of their own (a trigger fills it)
    trace_context: str = "{}"  # JSON W3C headers of the registration's trace, continued by the fired steps


async def insert_case(conn: asyncpg.Connection, case: NewCase, steps: list[PlannedStep]) -> bool:
    """False when the case exists already (a redelivered registration)."""
    inserted = await conn.fetchval(
        "INSERT INTO cases (invoice_id, tenant_id, debtor_id, status, ruler_name, ruler_version, segment, variant, "
        "behaviour, score_band, profile_fallback, amount_cents, due_date, recipient, creditor, invoice, tags, "
        "opened_at, person_id, trace_context) "
        "VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
        "ON CONFLICT DO NOTHING RETURNING true",
        case.invoice_id, case.tenant_id, case.debtor_id, case.ruler, case.version, case.segment, case.variant,
        case.behaviour, case.score_band, case.profile_fallback, case.amount_cents, case.due_date, case.recipient,
        case.creditor, case.invoice, case.tags, case.opened_at, case.person_id, case.trace_context,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO case_steps (invoice_id, step_key, slot, tenant_id, debtor_id, channels, template, tone, "
        "offset_days, fire_at, status, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        [(case.invoice_id, s.step_key, s.slot, case.tenant_id, case.debtor_id, list(s.channels), s.template,
          s.tone, s.offset_days, s.fire_at, s.status, s.reason) for s in steps],
    )
    return True


async def add_payment(conn: asyncpg.Connection, invoice_id: UUID, amount_cents: int) -> None:
    await conn.execute("UPDATE cases SET paid_cents = paid_cents + $2 WHERE invoice_id = $1", invoice_id, amount_cents)


async def close_case(
    conn: asyncpg.Connection, invoice_id: UUID, reason: str, now: datetime
) -> tuple[asyncpg.Record, int] | None:
    """Stops a case that is not stopped yet and cancels its pending steps."""
    case = await conn.fetchrow(
        "UPDATE cases SET status = 'stopped', stop_reason = $2, closed_at = $3 "
        "WHERE invoice_id = $1 AND status <> 'stopped' "
        "RETURNING invoice_id, tenant_id, debtor_id, recipient, creditor, invoice",
        invoice_id, reason, now,
    )
    if case is None:
        return None
    await conn.execute("DELETE FROM case_pauses WHERE invoice_id = $1", invoice_id)  # a stop ends every pause
    cancelled: int = await conn.fetchval(
        "WITH c AS (UPDATE case_steps SET status = 'cancelled', reason = $2 "
        "WHERE invoice_id = $1 AND status = 'pending' RETURNING 1) SELECT count(*) FROM c",
        invoice_id, reason,
    )
    return case, cancelled


@dataclass(frozen=True)
class PauseChange:
    """A case after a pause reason was added or ended: the reasons left and its status now."""

    invoice_id: UUID
    tenant_id: str
    debtor_id: UUID
    reasons: list[str]
    status: str


async def _reasons(conn: asyncpg.Connection, invoice_ids: list[UUID]) -> dict[UUID, list[str]]:
    rows = await conn.fetch("SELECT invoice_id, reason FROM case_pauses WHERE invoice_id = ANY($1::uuid[]) "
                            "ORDER BY since, reason", invoice_ids)
    out: dict[UUID, list[str]] = {}
    for r in rows:
        out.setdefault(r["invoice_id"], []).append(r["reason"])
    return out


async def pause_cases(conn: asyncpg.Connection, invoice_ids: list[UUID], reason: str,
                      until: datetime | None, now: datetime) -> list[PauseChange]:
    """Adds a pause reason to cases that are not stopped (active, paused, or exhausted: an agreement covers a
    finished case too). Reasons compose: each ends on its own; the same reason again replaces its end (a
    later promise). The status the case had is kept to return to."""
    rows = await conn.fetch(
        "UPDATE cases SET status = 'paused', "
        "  resume_status = CASE WHEN status = 'paused' THEN resume_status ELSE status END "
        "WHERE invoice_id IN (SELECT invoice_id FROM cases WHERE invoice_id = ANY($1::uuid[]) "
        "  AND status <> 'stopped' ORDER BY invoice_id FOR UPDATE) "
        "RETURNING invoice_id, tenant_id, debtor_id",
        invoice_ids,
    )
    paused = [r["invoice_id"] for r in rows]
    await conn.executemany(
        "INSERT INTO case_pauses (invoice_id, reason, until, since) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (invoice_id, reason) DO UPDATE SET until = excluded.until",
        [(i, reason, until, now) for i in paused],
    )
    reasons = await _reasons(conn, paused)
    return [PauseChange(r["invoice_id"], r["tenant_id"], r["debtor_id"], reasons.get(r["invoice_id"], []),
                        "paused") for r in rows]


async def lift_pauses(conn: asyncpg.Connection, invoice_ids: list[UUID], reason: str,
                      expired_at: datetime | None = None, skip_locked: bool = False) -> list[PauseChange]:
    """Ends one pause reason of these cases (only where it has ended by ``expired_at``, when given). A case with
    no reason left goes back to the status it had when first paused; the others stay paused."""
    # The case row first, in a stable order: two reasons ending at once must not both see the other left.
    locked = await conn.fetch(
        "SELECT invoice_id FROM cases WHERE invoice_id = ANY($1::uuid[]) AND status = 'paused' "
        f"ORDER BY invoice_id FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}", invoice_ids)
    lifted = await conn.fetch(
        "DELETE FROM case_pauses WHERE invoice_id = ANY($1::uuid[]) AND reason = $2 "
        "AND ($3::timestamptz IS NULL OR until <= $3) RETURNING invoice_id",
        [r["invoice_id"] for r in locked], reason, expired_at,
    )
    ids = [r["invoice_id"] for r in lifted]
    rows = await conn.fetch(
        "UPDATE cases c SET status = CASE WHEN EXISTS (SELECT 1 FROM case_pauses p WHERE p.invoice_id = c.invoice_id) "
        "  THEN 'paused' ELSE c.resume_status END "
        "WHERE c.invoice_id = ANY($1::uuid[]) RETURNING c.invoice_id, c.tenant_id, c.debtor_id, c.status", ids,
    )
    reasons = await _reasons(conn, ids)
    return [PauseChange(r["invoice_id"], r["tenant_id"], r["debtor_id"], reasons.get(r["invoice_id"], []),
                        r["status"]) for r in sorted(rows, key=lambda r: r["invoice_id"])]


async def expired_pauses(conn: asyncpg.Connection, now: datetime) -> dict[str, list[UUID]]:
    """Pause reasons whose end has come (promises), by reason."""
    rows = await conn.fetch("SELECT reason, invoice_id FROM case_pauses WHERE until <= $1", now)
    out: dict[str, list[UUID]] = {}
    for r in rows:
        out.setdefault(r["reason"], []).append(r["invoice_id"])
    return out


async def pauses_of(conn: asyncpg.Connection | asyncpg.Pool, invoice_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT reason, until, since FROM case_pauses WHERE invoice_id = $1 ORDER BY since, reason", invoice_id)
    return rows


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Locks the due steps of up to ``limit`` debtors. A debtor's due steps are claimed together (so they can
    be consolidated) under a transaction-level advisory lock, taken before any row lock so that a replica
    that loses a debtor never holds rows the winner needs; replicas move on to the next debtors."""
    rows: list[asyncpg.Record] = await conn.fetch(
        # Candidates are firable steps only: due steps of paused cases (an agreement, a promise) would otherwise
        # fill the window and starve every other debtor. The case is looked up per step (a subplan), so the
        # scan walks the due index in order and stops at the window, whatever the portfolio's size.
        "WITH candidates AS MATERIALIZED (SELECT DISTINCT tenant_id, debtor_id, person_id FROM (SELECT s.tenant_id, "
        "  s.debtor_id, (SELECT c.person_id FROM cases c WHERE c.invoice_id = s.invoice_id) AS person_id "
        "  FROM case_steps s WHERE s.status = 'pending' AND s.fire_at <= $1 "
        "  AND CASE (SELECT c.status FROM cases c WHERE c.invoice_id = s.invoice_id) WHEN 'active' THEN true "
        f"  WHEN 'exhausted' THEN {_ONE_OFF} ELSE false END ORDER BY s.fire_at LIMIT $2 * 4) d), "
        "mine AS MATERIALIZED (SELECT tenant_id, debtor_id FROM candidates "
        # Per person, not per debtor: caps and intervals are the person's across creditors, so two replicas
        # must not judge one person at once. A person's debtors in one batch share the (re-entrant) lock.
        "  WHERE pg_try_advisory_xact_lock(hashtextextended(person_id::text, 0)) LIMIT $2) "
        "SELECT s.invoice_id, s.step_key, s.slot, s.channels, s.template, s.tone, s.offset_days, s.fire_at, "
        "  s.tenant_id, s.debtor_id, c.person_id, c.recipient, c.creditor, c.invoice, c.trace_context "
        "FROM mine JOIN case_steps s ON s.tenant_id = mine.tenant_id AND s.debtor_id = mine.debtor_id "
        "JOIN cases c ON c.invoice_id = s.invoice_id "
        f"WHERE s.status = 'pending' AND s.fire_at <= $1 AND {_FIRABLE} "
        # The case rows too, in the same statement: a payment, a pause or a re-segmentation locks the case
        # first and its steps next; holding steps while waiting for their case would deadlock with it. Rows
        # such a writer holds right now are left to it.
        "FOR UPDATE OF s SKIP LOCKED FOR NO KEY UPDATE OF c SKIP LOCKED",
        now, limit,
    )
    return rows


StepKey = tuple[UUID, str, int]


async def mark_fired(conn: asyncpg.Connection, rows: list[tuple[StepKey, str, UUID]], now: datetime) -> None:
    await conn.executemany(
        "UPDATE case_steps SET status = 'fired', channel = $4, message_id = $5, fired_at = $6 "
        "WHERE invoice_id = $1 AND step_key = $2 AND slot = $3",
        [(k[0], k[1], k[2], channel, mid, now) for k, channel, mid in rows],
    )


async def mark_skipped(conn: asyncpg.Connection, rows: list[tuple[StepKey, str]], now: datetime) -> None:
    await conn.executemany(
        "UPDATE case_steps SET status = 'skipped', reason = $4, fired_at = $5 "
        "WHERE invoice_id = $1 AND step_key = $2 AND slot = $3",
        [(k[0], k[1], k[2], reason, now) for k, reason in rows],
    )
    await _log_blocks(conn, [(k, reason, now, None) for k, reason in rows])


async def reschedule(conn: asyncpg.Connection, rows: list[tuple[StepKey, datetime, str]], now: datetime) -> None:
    await conn.executemany(
        "UPDATE case_steps SET fire_at = $4, reason = $5 WHERE invoice_id = $1 AND step_key = $2 AND slot = $3",
        [(k[0], k[1], k[2], retry_at, f"held by {rule}") for k, retry_at, rule in rows],
    )
    await _log_blocks(conn, [(k, rule, now, retry_at) for k, retry_at, rule in rows])


async def _log_blocks(conn: asyncpg.Connection, rows: list[tuple[StepKey, str, datetime, datetime | None]]) -> None:
    await conn.executemany(
        "INSERT INTO gate_blocks (invoice_id, step_key, slot, rule, at, retry_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [(k[0], k[1], k[2], rule, at, retry) for k, rule, at, retry in rows],
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


async def add_answer_step(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, step_key: str,
                          channels: list[str], template: str, now: datetime, today: date,
                          quiet_for: timedelta) -> UUID | None:
    """A one-off step on the debtor's open case that fell due first, due now; the firing path sends it like
    any step (gate, consolidation, idempotency). An exhausted case (every amicable step done) still answers:
    a debtor who asks to negotiate before legal measures is the best outcome. None when no case is active or
    exhausted (paid, paused, stopped) or an answer is already pending or went out within ``quiet_for``
    (repeated requests get one answer)."""
    invoice_id: UUID | None = await conn.fetchval(
        "INSERT INTO case_steps (invoice_id, step_key, slot, tenant_id, debtor_id, channels, template, tone, "
        "offset_days, fire_at, status) "
        "SELECT c.invoice_id, $3, 0, c.tenant_id, c.debtor_id, $4, $5, 'cordial', "
        "  $8::date - c.due_date, $6, 'pending' "
        "FROM cases c WHERE c.tenant_id = $1 AND c.debtor_id = $2 AND c.status IN ('active', 'exhausted') "
        "AND NOT EXISTS (SELECT 1 FROM cases d JOIN case_steps s ON s.invoice_id = d.invoice_id "
        f"  WHERE d.tenant_id = $1 AND d.debtor_id = $2 AND {_ONE_OFF} "
        "  AND (s.status = 'pending' OR s.fired_at > $6::timestamptz - $7::interval)) "
        "ORDER BY c.due_date, c.invoice_id LIMIT 1 "
        "ON CONFLICT DO NOTHING RETURNING invoice_id",
        tenant_id, debtor_id, step_key, channels, template, now, quiet_for, today,
    )
    return invoice_id


async def contact_details(conn: asyncpg.Connection, tenant_id: str, invoice_ids: list[UUID]) -> list[asyncpg.Record]:
    """Recipient, creditor and invoice summary of the tenant's cases, earliest due first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT invoice_id, recipient, creditor, invoice FROM cases WHERE tenant_id = $1 "
        "AND invoice_id = ANY($2::uuid[]) ORDER BY due_date, invoice_id", tenant_id, invoice_ids)
    return rows


async def open_invoices_of(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID) -> list[UUID]:
    """Cases not stopped: a promise holds an exhausted case's legal escalation too."""
    rows = await conn.fetch(
        "SELECT invoice_id FROM cases WHERE tenant_id = $1 AND debtor_id = $2 AND status <> 'stopped'",
        tenant_id, debtor_id,
    )
    return [r["invoice_id"] for r in rows]


async def case_of(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, invoice_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT invoice_id, debtor_id, status, resume_status, stop_reason, ruler_name, ruler_version, segment, "
        "variant, behaviour, score_band, profile_fallback, amount_cents, paid_cents, due_date, opened_at, "
        "closed_at "
        "FROM cases WHERE tenant_id = $1 AND invoice_id = $2", tenant_id, invoice_id,
    )
    return row


async def steps_of(conn: asyncpg.Pool, invoice_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT step_key, slot, channels, channel, status, reason, fire_at, fired_at FROM case_steps "
        "WHERE invoice_id = $1 ORDER BY offset_days, slot", invoice_id,
    )
    return rows


async def performance(conn: asyncpg.Pool, tenant_id: str, ruler: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT c.variant, count(*) AS cases, "
        "  coalesce(sum(f.fired), 0) AS contacts_sent, "
        "  count(*) FILTER (WHERE c.stop_reason = 'paid') AS payments, "
        "  sum(c.paid_cents)::bigint AS recovered_cents, sum(c.amount_cents)::bigint AS amount_cents "
        "FROM cases c LEFT JOIN LATERAL (SELECT count(DISTINCT s.message_id) AS fired FROM case_steps s "
        "  WHERE s.invoice_id = c.invoice_id AND s.status = 'fired') f ON true "
        "WHERE c.tenant_id = $1 AND c.ruler_name = $2 GROUP BY c.variant ORDER BY c.variant",
        tenant_id, ruler,
    )
    return rows


async def counts(conn: asyncpg.Pool) -> dict[str, dict[str, int]]:
    cases = await conn.fetch("SELECT status, count(*) AS n FROM cases GROUP BY status")
    steps = await conn.fetch("SELECT status, count(*) AS n FROM case_steps GROUP BY status")
    return {"cases": {r["status"]: r["n"] for r in cases}, "steps": {r["status"]: r["n"] for r in steps}}


async def due_step_count(conn: asyncpg.Pool, now: datetime) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM case_steps s JOIN cases c USING (invoice_id) WHERE s.status = 'pending' "
        f"AND s.fire_at <= $1 AND {_FIRABLE}", now,
    )
    return count


async def cases_to_migrate(conn: asyncpg.Connection, tenant_id: str, ruler: str, version: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT invoice_id, debtor_id, amount_cents, due_date, recipient, behaviour, score_band, tags FROM cases "
        f"WHERE tenant_id = $1 AND ruler_name = $2 AND ruler_version <> $3 AND {_PLANNED} "
        f"FOR UPDATE", tenant_id, ruler, version,
    )
    return rows


async def replan(conn: asyncpg.Connection, case: asyncpg.Record, version: int, segment: str,
                 steps: list[PlannedStep]) -> None:
    """Cancels what was not sent yet and plans the new version's steps; slots already sent stay as they are."""
    await conn.execute(
        "UPDATE case_steps s SET status = 'cancelled', reason = $2 WHERE invoice_id = $1 AND status = 'pending' "
        f"AND NOT {_ONE_OFF}",  # a pending answer to a request is not the ruler's to replan
        case["invoice_id"], f"migrated to version {version}",
    )
    await conn.executemany(
        "INSERT INTO case_steps (invoice_id, step_key, slot, tenant_id, debtor_id, channels, template, tone, "
        "offset_days, fire_at, status, reason) SELECT $1, $2, $3, tenant_id, debtor_id, $4, $5, $6, $7, $8, $9, $10 "
        "FROM cases WHERE invoice_id = $1 "
        "ON CONFLICT (invoice_id, step_key, slot) DO UPDATE SET channels = $4, template = $5, tone = $6, "
        "offset_days = $7, fire_at = $8, status = $9, reason = $10 WHERE case_steps.status = 'cancelled'",
        [(case["invoice_id"], s.step_key, s.slot, list(s.channels), s.template, s.tone, s.offset_days, s.fire_at,
          s.status, s.reason) for s in steps],
    )
    await conn.execute("UPDATE cases SET ruler_version = $2, segment = $3 WHERE invoice_id = $1",
                       case["invoice_id"], version, segment)


async def person_of(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID) -> asyncpg.Record | None:
    """The person behind a tenant's debtor and their latest recipient details (address, contacts)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT person_id, recipient FROM cases WHERE tenant_id = $1 AND debtor_id = $2 "
        "ORDER BY opened_at DESC, invoice_id LIMIT 1", tenant_id, debtor_id)
    return row
