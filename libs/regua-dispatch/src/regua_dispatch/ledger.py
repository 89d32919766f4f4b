"""The attempts ledger: one row per contact step (the step id is the idempotency key end to end).

The intent ('sending', our reference = the step id) is committed before the provider is called and the outcome
after it. A command redelivered after a crash finds its intent unconfirmed (RETRY): the provider may or may not
have it, and not every provider honours the idempotency key, so the pipeline asks before sending again
(pipeline.Dispatcher._resolve): a receipt or status that named the step (``note_provider_ids``), the provider's
lookup by reference, or a bounded wait for a status. A confirmed one is never sent again."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg

NOBODY = UUID(int=0)


class Claim(StrEnum):
    NEW = "new"              # first time: send
    RETRY = "retry"          # recorded before, never confirmed (a crash or a failure): ask the provider first
    DONE = "done"            # already sent, failed, suppressed or held: a redelivery, do nothing
    IN_FLIGHT = "in-flight"  # this process is sending it right now


@dataclass(frozen=True)
class Intent:
    step_id: UUID
    tenant_id: str
    debtor_id: UUID
    channel: str
    step_key: str
    address_key: str | None


@dataclass(frozen=True)
class Outcome:
    step_id: UUID
    status: str  # sent, failed, suppressed
    reason: str | None = None
    provider_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


async def claim(conn: asyncpg.Connection, intents: Sequence[Intent], instance: UUID) -> dict[UUID, Claim]:
    """Records the intents (step ids must be distinct) and says, per step, whether to send."""
    if not intents:
        return {}
    rows = await conn.fetch(
        "INSERT INTO dispatch_attempts (step_id, tenant_id, debtor_id, channel, step_key, address_key, status, "
        "claimed_by) SELECT s, t, d, c, k, a, 'sending', $7 "
        "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[]) AS u(s, t, d, c, k, a) "
        "ON CONFLICT (step_id) DO UPDATE SET tries = dispatch_attempts.tries + 1, claimed_by = EXCLUDED.claimed_by "
        "WHERE dispatch_attempts.status = 'sending' AND dispatch_attempts.claimed_by <> EXCLUDED.claimed_by "
        "RETURNING step_id, tries",
        [i.step_id for i in intents], [i.tenant_id for i in intents], [i.debtor_id for i in intents],
        [i.channel for i in intents], [i.step_key for i in intents], [i.address_key for i in intents], instance,
    )
    claims = {r["step_id"]: Claim.NEW if r["tries"] == 1 else Claim.RETRY for r in rows}
    others = [i.step_id for i in intents if i.step_id not in claims]
    if others:
        for r in await conn.fetch("SELECT step_id, status FROM dispatch_attempts WHERE step_id = ANY($1::uuid[])",
                                  others):
            claims[r["step_id"]] = Claim.IN_FLIGHT if r["status"] == "sending" else Claim.DONE
    return claims


async def finish(conn: asyncpg.Connection, outcomes: Sequence[Outcome], at: datetime | None = None) -> set[UUID]:
    """Records outcomes of steps still unconfirmed (being sent, or held); returns those it recorded. A step
    another process confirmed first (both sent it after a rebalance; the provider accepted it once) is left
    alone, so its events are emitted once. ``at``: the moment on the service's clock (channel intervals count
    from it). A held message's command is forgotten with its outcome."""
    if not outcomes:
        return set()
    rows = await conn.fetch(
        "UPDATE dispatch_attempts a SET status = u.status, reason = u.reason, done_at = now(), finished_at = $6, "
        "provider_id = coalesce(u.provider_id, a.provider_id), detail = a.detail || u.detail "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) "
        "AS u(step_id, status, reason, provider_id, detail) WHERE a.step_id = u.step_id "
        "AND a.status IN ('sending', 'held') RETURNING a.step_id",
        [o.step_id for o in outcomes], [o.status for o in outcomes], [o.reason for o in outcomes],
        [o.provider_id for o in outcomes], [json.dumps(o.detail) for o in outcomes], at,
    )
    recorded = {r["step_id"] for r in rows}
    if recorded:
        await conn.execute("DELETE FROM held_messages WHERE step_id = ANY($1::uuid[])", list(recorded))
    return recorded


async def reclaim(conn: asyncpg.Connection, step_ids: Sequence[UUID], instance: UUID) -> dict[UUID, Claim]:
    """Held steps whose moment came (NEW: never sent), or a release that died midway (RETRY: it may have
    been): this process takes them now."""
    if not step_ids:
        return {}
    rows = await conn.fetch(
        "UPDATE dispatch_attempts a SET status = 'sending', claimed_by = $2, tries = a.tries + 1 "
        "FROM (SELECT step_id, status FROM dispatch_attempts WHERE step_id = ANY($1::uuid[]) "
        "AND (status = 'held' OR (status = 'sending' AND claimed_by <> $2)) FOR UPDATE) was "
        "WHERE a.step_id = was.step_id RETURNING a.step_id, was.status", list(step_ids), instance)
    return {r["step_id"]: Claim.NEW if r["status"] == "held" else Claim.RETRY for r in rows}


async def note_provider_ids(conn: asyncpg.Connection, channel: str, found: Sequence[tuple[UUID, str]]) -> None:
    """A receipt or status that names a step (our reference echoed) proves the provider has its message: its
    id is kept even while the attempt is unconfirmed, so a redelivery after a crash knows not to send again."""
    if found:
        await conn.execute(
            "UPDATE dispatch_attempts a SET provider_id = u.p FROM unnest($2::uuid[], $3::text[]) AS u(s, p) "
            "WHERE a.step_id = u.s AND a.channel = $1 AND a.provider_id IS NULL",
            channel, [f[0] for f in found], [f[1] for f in found])


async def mark_called(pool: asyncpg.Pool, step_ids: Sequence[UUID]) -> None:
    """Committed just before the steps' first provider requests leave: from now on the provider may have them."""
    await pool.execute("UPDATE dispatch_attempts SET called_at = now() WHERE step_id = ANY($1::uuid[]) "
                       "AND called_at IS NULL", list(step_ids))


async def never_called(conn: asyncpg.Connection | asyncpg.Pool, step_ids: Sequence[UUID]) -> set[UUID]:
    """The steps no provider request was ever made for (a process died before calling)."""
    rows = await conn.fetch("SELECT step_id FROM dispatch_attempts WHERE step_id = ANY($1::uuid[]) "
                            "AND called_at IS NULL", list(step_ids))
    return {r["step_id"] for r in rows}


async def provider_ids(conn: asyncpg.Connection | asyncpg.Pool, step_ids: Sequence[UUID]) -> dict[UUID, str]:
    """The provider's message ids known for these steps (from its answer, a receipt or a status)."""
    rows = await conn.fetch("SELECT step_id, provider_id FROM dispatch_attempts WHERE step_id = ANY($1::uuid[]) "
                            "AND provider_id IS NOT NULL", list(step_ids))
    return {r["step_id"]: r["provider_id"] for r in rows}


async def last_sent(conn: asyncpg.Connection, channel: str,
                    keys: Sequence[tuple[str, UUID]]) -> dict[tuple[str, UUID], datetime]:
    """When each debtor's last message on this channel went out (the service's clock)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT a.tenant_id, a.debtor_id, max(a.finished_at) AS at FROM dispatch_attempts a "
        "JOIN unnest($2::text[], $3::uuid[]) AS k(t, d) ON a.tenant_id = k.t AND a.debtor_id = k.d "
        "WHERE a.channel = $1 AND a.status = 'sent' AND a.finished_at IS NOT NULL "
        "GROUP BY a.tenant_id, a.debtor_id", channel, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["tenant_id"], r["debtor_id"]): r["at"] for r in rows}


async def release(conn: asyncpg.Connection | asyncpg.Pool, step_ids: Sequence[UUID]) -> None:
    """After a failure worth retrying: the next delivery of these steps may send again."""
    await conn.execute("UPDATE dispatch_attempts SET claimed_by = $2 WHERE step_id = ANY($1::uuid[]) "
                       "AND status = 'sending'", list(step_ids), NOBODY)


async def by_provider_id(conn: asyncpg.Connection, channel: str, provider_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT step_id, tenant_id, debtor_id, step_key FROM dispatch_attempts "
        "WHERE provider_id = $1 AND channel = $2", provider_id, channel,
    )
    return row


async def by_provider_ids(conn: asyncpg.Connection, channel: str, provider_ids: Sequence[str]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT provider_id, step_id, tenant_id, debtor_id, step_key FROM dispatch_attempts "
        "WHERE provider_id = ANY($1::text[]) AND channel = $2", list(provider_ids), channel,
    )
    return rows


async def by_step_ids(conn: asyncpg.Connection, channel: str, step_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT provider_id, step_id, tenant_id, debtor_id, step_key FROM dispatch_attempts "
        "WHERE step_id = ANY($1::uuid[]) AND channel = $2", list(step_ids), channel,
    )
    return rows


async def latest_to(conn: asyncpg.Connection, channel: str, address_key: str) -> asyncpg.Record | None:
    """Whom the last message to this address was about: a reply answers it."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT step_id, tenant_id, debtor_id, step_key FROM dispatch_attempts WHERE channel = $1 "
        "AND address_key = $2 AND status = 'sent' ORDER BY created_at DESC LIMIT 1", channel, address_key,
    )
    return row
