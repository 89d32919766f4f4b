"""Transactional outbox: an event is stored in the same transaction as the state change that caused it;
the relay publishes stored events to Kafka and moves them to ``outbox_published`` only once the broker
acknowledged them.

Published events are kept for ``outbox_retention_hours`` (then pruned): PostgreSQL is the system of record,
and when the broker loses its state (an in-memory broker restarted) ``requeue`` moves them back, under their own
ids, so the relay publishes them again in their original order, ahead of newer events. Delivery is
at-least-once (a crash between publish and move, or a rebuild, republishes); consumers dedupe on event_id
(regua_platform.inbox).
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from opentelemetry import propagate
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

from regua_platform.settings import Settings

log = logging.getLogger(__name__)

PUBLISHED = Counter("regua_outbox_published_total", "Outbox events published to Kafka", ["topic"])
PENDING = Gauge("regua_outbox_pending", "Outbox events waiting at the last relay poll")
OLDEST_AGE = Gauge("regua_outbox_oldest_unpublished_age_seconds",
                   "Age of the oldest event still waiting in the outbox (0 when none waits)")


class _Oldest:
    """When the oldest waiting event was stored, as of the last relay poll. The gauge reads its age at scrape
    time, so it keeps growing while the relay is stuck (broker gone, database down) instead of freezing."""

    created: float | None = None

    @classmethod
    def age(cls) -> float:
        return 0.0 if cls.created is None else max(0.0, time.time() - cls.created)


OLDEST_AGE.set_function(_Oldest.age)

#: Publishes (topic, key, value, headers) records and returns once the broker acknowledged all of them.
Publish = Callable[[list[tuple[str, bytes | None, bytes, dict[str, str]]]], Awaitable[None]]


@dataclass(frozen=True)
class OutboxMessage:
    topic: str
    key: str
    event: BaseModel
    #: The trace the event continues (traceparent, tracestate); None: the current context's. Set by writers that
    #: act later on behalf of an earlier trace (the ruler's ticker firing a case's steps).
    trace: Mapping[str, str] | None = None


def _headers(message: OutboxMessage) -> dict[str, str]:
    headers = {"content-type": "application/json", "x-event-type": str(getattr(message.event, "type", ""))}
    if message.trace is None:
        propagate.inject(headers)  # the trace that caused the event continues when it is published
    else:
        headers.update(message.trace)
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
        [json.dumps(_headers(m)) for m in messages],
    )


_RETAIN = ("WITH moved AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) "
           "RETURNING id, topic, key, payload, headers, created_at) "
           "INSERT INTO outbox_published (id, topic, key, payload, headers, created_at) SELECT * FROM moved")
_DELETE = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publish: Publish, *, batch: int, poll_seconds: float,
                 gate: asyncio.Event | None = None, retain: bool = True,
                 confirm: Callable[[], Awaitable[None]] | None = None) -> None:
        self._pool = pool
        self._confirm = confirm  # raises when the broker lost its state (broker_watch), before each publish
        self._retain = retain  # keep published events for a rebuild (off: a durable broker, no rebuild)
        self._gate = gate  # set while the broker is known to hold its state (broker_watch)
        self._publish = publish
        self._batch = batch
        self._poll = poll_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Relays until stopped. A database or broker outage raises: the service's supervisor (service.py)
        logs it, backs off and runs the relay again."""
        while not self._stopping.is_set():
            if self._gate is not None:
                await self._gate.wait()
            sent = await self.relay_once()
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
            if rows:
                if self._confirm is not None:
                    await self._confirm()
                # The stored headers carry the trace context of the transaction that wrote each event.
                await self._publish([(r["topic"], r["key"], r["payload"], json.loads(r["headers"])) for r in rows])
                await conn.execute(_RETAIN if self._retain else _DELETE, [r["id"] for r in rows])
            # What is left after this batch (rows other replicas hold included); the relay goes in id order,
            # so the first id is the oldest waiting, found on the primary key instead of scanning created_at.
            oldest: datetime | None = await conn.fetchval("SELECT created_at FROM outbox ORDER BY id LIMIT 1")
            _Oldest.created = None if oldest is None else oldest.timestamp()
        for r in rows:
            PUBLISHED.labels(r["topic"]).inc()
        return len(rows)


async def requeue(conn: asyncpg.Connection | asyncpg.Pool, since: datetime | None = None) -> int:
    """Moves the retained published events (those published at or after ``since``; all when None) back into
    the outbox under their own ids, so the relay re-publishes them first, in their original order. Returns how
    many."""
    result: str = await conn.execute(
        "WITH back AS (DELETE FROM outbox_published WHERE published_at >= $1 "
        "RETURNING id, topic, key, payload, headers, created_at) "
        "INSERT INTO outbox (id, topic, key, payload, headers, created_at) SELECT * FROM back",
        since or datetime.min.replace(tzinfo=UTC))
    return int(result.split()[-1])


async def prune(conn: asyncpg.Connection | asyncpg.Pool, retention: timedelta, batch: int = 10_000) -> int:
    """Deletes published events older than ``retention``, a batch at a time; returns how many."""
    total = 0
    while True:
        result: str = await conn.execute(
            "DELETE FROM outbox_published WHERE ctid = ANY(ARRAY(SELECT ctid FROM outbox_published "
            "WHERE published_at < now() - $1::interval LIMIT $2))", retention, batch)
        deleted = int(result.split()[-1])
        total += deleted
        if deleted < batch:
            return total


async def prune_loop(pool: asyncpg.Pool, settings: Settings) -> None:
    retention = timedelta(hours=settings.outbox_retention_hours)
    if not settings.outbox_retention_hours:
        return  # nothing is retained
    while True:
        pruned = await prune(pool, retention)
        if pruned:
            log.info("outbox pruned", extra={"deleted": pruned})
        await asyncio.sleep(settings.outbox_prune_seconds)
