"""Idempotent consumers: the ids a consumer has processed are kept in the same transaction as its effects."""

from collections.abc import Iterable
from uuid import UUID

import asyncpg


async def claim_new(conn: asyncpg.Connection, consumer: str, event_ids: Iterable[UUID]) -> set[UUID]:
    """Records the ids and returns those not seen before. Call inside the handler's transaction:
    if the transaction rolls back, the claim rolls back with it."""
    rows = await conn.fetch(
        "INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        list(event_ids),
    )
    return {r["event_id"] for r in rows}
