"""Messages held by the send-time gate until the debtor's next allowed moment.

A command that reaches a dispatcher when it may not go out (outside the debtor's hours, on a Sunday or a
holiday, within the channel's interval) is held, not dropped: its attempt is marked 'held' and the command is
kept in ``held_messages`` in the same transaction. A background loop releases it at ``release_at`` (the
service's clock: wall time, or in simulated mode the ruler's time as regua.clock.v1 reports it) through the same
pipeline, which runs every check again. A release leases the row (wall clock) and the row is deleted only with
the outcome (``ledger.finish``), so a process that dies while releasing leaves it to be taken over once the
lease ends. When a case stops or pauses, the held messages about it alone are withdrawn (suppressed, with the
reason); one that still has other invoices goes out at its moment without them (the screen drops them)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_contracts.contacts import ContactRequested, step_label
from regua_dispatch import cases, events, ledger
from regua_dispatch.ledger import Outcome
from regua_platform import outbox
from regua_platform.clock import Clock
from regua_platform.db import RETRYABLE
from regua_platform.service import Runtime
from regua_platform.supervise import Throttled

log = logging.getLogger(__name__)
HOLDS = Counter("regua_dispatch_holds_total", "Messages held until an allowed moment, released or withdrawn",
                ["channel", "event"])
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Hold:
    command: ContactRequested
    rule: str
    release_at: datetime


async def hold(conn: asyncpg.Connection, channel: str, holds: Sequence[Hold], at: datetime) -> None:
    """Marks the steps 'held' (from 'sending': the caller claimed them) and keeps their commands. A step held
    again after a release keeps its row with the new moment."""
    if not holds:
        return
    steps = [h.command.step_id for h in holds]
    await conn.execute("UPDATE dispatch_attempts SET status = 'held', reason = u.rule FROM unnest($1::uuid[], "
                       "$2::text[]) AS u(step_id, rule) WHERE dispatch_attempts.step_id = u.step_id "
                       "AND dispatch_attempts.status IN ('sending', 'held')", steps, [h.rule for h in holds])
    await conn.execute(
        "INSERT INTO held_messages (step_id, tenant_id, debtor_id, invoice_ids, command, rule, release_at, held_at) "
        "SELECT s, t, d, ARRAY(SELECT jsonb_array_elements_text(i)::uuid), c, r, a, $8 "
        "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[], $5::jsonb[], $6::text[], $7::timestamptz[]) "
        "AS u(s, t, d, i, c, r, a) "
        "ON CONFLICT (step_id) DO UPDATE SET rule = EXCLUDED.rule, release_at = EXCLUDED.release_at, "
        "leased_until = NULL",
        steps, [h.command.tenant_id for h in holds], [h.command.recipient.debtor_id for h in holds],
        [_json_ids(h.command) for h in holds], [h.command.model_dump_json() for h in holds],
        [h.rule for h in holds], [h.release_at for h in holds], at)
    HOLDS.labels(channel, "held").inc(len(holds))


def _json_ids(command: ContactRequested) -> str:
    return "[" + ",".join(f'"{i.invoice_id}"' for i in command.invoices) + "]"


async def lease_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[ContactRequested]:
    """Held commands whose moment has come (on the service's clock), leased to this release."""
    rows = await conn.fetch(
        "WITH due AS (SELECT step_id FROM held_messages WHERE release_at <= $1 "
        "AND (leased_until IS NULL OR leased_until < now()) ORDER BY release_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "UPDATE held_messages h SET leased_until = now() + $3::interval FROM due WHERE h.step_id = due.step_id "
        "RETURNING h.command", now, limit, LEASE)
    return [ContactRequested.model_validate_json(r["command"]) for r in rows]


async def unlease(conn: asyncpg.Connection | asyncpg.Pool, step_ids: Sequence[UUID]) -> None:
    """A release that could not finish (the provider down): the next round tries again."""
    await conn.execute("UPDATE held_messages SET leased_until = NULL WHERE step_id = ANY($1::uuid[])", list(step_ids))


async def pending(conn: asyncpg.Connection | asyncpg.Pool, step_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT step_id, rule, release_at, held_at FROM held_messages WHERE step_id = $1", step_id)
    return row


async def withdraw(conn: asyncpg.Connection, channel: str, invoice_ids: Sequence[UUID],
                   at: datetime) -> list[tuple[ContactRequested, str]]:
    """The held messages about these invoices that have nothing left to say (every invoice's case stopped or
    paused; thank-you and agreement confirmations excepted) are suppressed with the reason, with their
    contact.attempted events. A message being released right now is left to its release, whose screen runs
    just before the provider call."""
    rows = await conn.fetch(
        "SELECT h.step_id, h.command FROM held_messages h JOIN dispatch_attempts a ON a.step_id = h.step_id "
        "WHERE h.invoice_ids && $1::uuid[] AND a.status = 'held' "
        "AND (h.leased_until IS NULL OR h.leased_until < now()) FOR UPDATE OF h SKIP LOCKED", list(invoice_ids))
    commands = [ContactRequested.model_validate_json(r["command"]) for r in rows]
    screened = await cases.screen_all(conn, commands)
    gone = [(c, s.reason or "") for c in commands if (s := screened[c.step_id]).suppressed]
    recorded = await ledger.finish(conn, [Outcome(c.step_id, "suppressed", why) for c, why in gone], at)
    mine = [(c, why) for c, why in gone if c.step_id in recorded]
    await outbox.add(conn, [events.attempted(c, "suppressed", why, at) for c, why in mine])
    for c, _ in mine:
        HOLDS.labels(channel, "withdrawn").inc()
        log.info("held message withdrawn", extra={"channel": channel, "step_id": str(c.step_id),
                                                  "step": step_label(c.step_key)})
    return mine


Release = Callable[[list[ContactRequested]], Awaitable[None]]


async def release_loop(pool: asyncpg.Pool, clock: Clock, channel: str, release: Release, *,
                       poll_seconds: float = 0.25, batch: int = 200) -> None:
    """Forever: hands the due held commands to ``release`` (the pipeline that sends them), ``batch`` at a
    time. Database failures are outlived; anything else ends the process (crash-only)."""
    failures = Throttled(f"{channel} release of held messages")
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                due = await lease_due(conn, clock.now(), batch)
            failures.recovered()
            if due:
                HOLDS.labels(channel, "released").inc(len(due))
                await release(due)
                if len(due) == batch:
                    continue
        except RETRYABLE as exc:
            failures.failed(exc)
        await asyncio.sleep(poll_seconds)


def release_job(channel: str) -> Callable[[Runtime], Coroutine[Any, Any, None]]:
    """A ServiceSpec background job: the release loop of the dispatcher in ``runtime.extras["release"]``."""

    async def release_held_messages(runtime: Runtime) -> None:
        await release_loop(runtime.pool, runtime.extras["clock"], channel, runtime.extras["release"],
                           poll_seconds=runtime.settings.outbox_poll_seconds * 5)

    return release_held_messages
