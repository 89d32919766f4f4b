"""Transactional outbox: an event is stored in the same transaction as the state change that caused it;
the relay publishes stored events to Kafka and deletes them only once the broker acknowledged them.

Delivery is at-least-once (a crash between publish and delete republishes); consumers dedupe on event_id.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from opentelemetry import propagate
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

log = logging.getLogger(__name__)

PUBLISHED = Counter("regua_outbox_published_total", "Outbox events published to Kafka", ["topic"])
PENDING = Gauge("regua_outbox_pending", "Outbox events waiting at the last relay poll")

#: Publishes (topic, key, value, headers) records and returns once the broker acknowledged all of them.
Publish = Callable[[list[tuple[str, bytes | None, bytes, dict[str, str]]]], Awaitable[None]]


@dataclass(frozen=True)
class OutboxMessage:
    topic: str
    key: str
    event: BaseModel


def _headers(event: BaseModel) -> dict[str, str]:
    headers = {"content-type": "application/json", "x-event-type": str(getattr(event, "type", ""))}
    propagate.inject(headers)  # the trace that caused the event continues when it is published
    return headers


async def add(conn: asyncpg.Connection, messages: Sequence[OutboxMessage]) -> None:
    """Stores events for publishing. Must run inside the caller's transaction."""
    if not messages:
        return
    await conn.execute(
        "INSERT INTO outbox (topic, key, payload, headers) "
        "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::jsonb[])",
        [m.topic for m in messages],
        [m.key.encode() for m in messages],
        [m.event.model_dump_json().encode() for m in messages],
        [json.dumps(_headers(m.event)) for m in messages],
    )


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publish: Publish, *, batch: int, poll_seconds: float) -> None:
        self._pool = pool
        self._publish = publish
        self._batch = batch
        self._poll = poll_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = await self.relay_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.exception("outbox relay failed; retrying")
                sent = 0
                await asyncio.sleep(1)
            if sent < self._batch:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._poll)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stopping.set()

    async def relay_once(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            # SKIP LOCKED lets several replicas relay without publishing the same row concurrently.
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1 "
                "FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            PENDING.set(len(rows))
            if not rows:
                return 0
            # The stored headers carry the trace context of the transaction that wrote each event.
            await self._publish([(r["topic"], r["key"], r["payload"], json.loads(r["headers"])) for r in rows])
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        for r in rows:
            PUBLISHED.labels(r["topic"]).inc()
        return len(rows)
