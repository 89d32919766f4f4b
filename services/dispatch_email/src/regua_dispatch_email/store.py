"""Queries of the dispatch_email schema: attempts (intent, outcome) and e-mail opt-outs."""

from enum import StrEnum
from uuid import UUID

import asyncpg

from regua_contracts.contacts import ContactRequested


class Claim(StrEnum):
    NEW = "new"              # first time: send
    RETRY = "retry"          # recorded before, never confirmed (a crash or a retryable failure): send
    DONE = "done"            # already sent, failed or suppressed: a redelivery, do nothing
    IN_FLIGHT = "in-flight"  # this process is sending it right now


async def claim_attempt(conn: asyncpg.Connection, command: ContactRequested, instance: UUID,
                        message_id: str) -> Claim:
    row = await conn.fetchrow(
        "INSERT INTO attempts (step_id, tenant_id, debtor_id, step_key, status, claimed_by, message_id) "
        "VALUES ($1, $2, $3, $4, 'sending', $5, $6) "
        "ON CONFLICT (step_id) DO UPDATE SET tries = attempts.tries + 1, claimed_by = $5 "
        "WHERE attempts.status = 'sending' AND attempts.claimed_by <> $5 "
        "RETURNING tries",
        command.step_id, command.tenant_id, command.recipient.debtor_id, command.step_key, instance, message_id,
    )
    if row is not None:
        return Claim.NEW if row["tries"] == 1 else Claim.RETRY
    status = await conn.fetchval("SELECT status FROM attempts WHERE step_id = $1", command.step_id)
    return Claim.IN_FLIGHT if status == "sending" else Claim.DONE


async def finish_attempt(conn: asyncpg.Connection, step_id: UUID, status: str, reason: str | None) -> None:
    await conn.execute(
        "UPDATE attempts SET status = $2, reason = $3, done_at = now() WHERE step_id = $1", step_id, status, reason
    )


async def is_opted_out(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM opt_outs WHERE tenant_id = $1 AND debtor_id = $2", tenant_id, debtor_id
    )
    return bool(found)


async def record_opt_out(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, source: str) -> bool:
    """True when this is a new opt-out."""
    inserted = await conn.fetchval(
        "INSERT INTO opt_outs (tenant_id, debtor_id, source) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING true",
        tenant_id, debtor_id, source,
    )
    return bool(inserted)


async def release_claim(conn: asyncpg.Connection | asyncpg.Pool, step_id: UUID) -> None:
    """After a failure worth retrying: the next delivery may send again."""
    await conn.execute(
        "UPDATE attempts SET claimed_by = '00000000-0000-0000-0000-000000000000' "
        "WHERE step_id = $1 AND status = 'sending'", step_id,
    )
