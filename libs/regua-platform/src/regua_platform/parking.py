"""Parked records: records whose handler asks them to wait (TransientError: a provider down, an event of
another topic not read yet, a clock behind the record's time). Waiting in place would stall the partition
behind one record, so the consumer writes the record here (before committing its offset) and goes on; this
loop retries it alone with a growing backoff and dead-letters it after ``consumer_park_attempts`` tries.

A parked record may be handled after records that came behind it on its partition: handlers are idempotent
and decide on the state they find, and the records that wait are those whose precondition is not met yet.
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from prometheus_client import Counter, Gauge

from regua_platform.db import RETRYABLE
from regua_platform.kafka import RETRYABLE_INFRA, Consumer, Parked, Rejection

log = logging.getLogger(__name__)
PARKED = Counter("regua_parked_records_total", "Records moved aside because they must wait", ["topic"])
UNPARKED = Counter("regua_unparked_records_total", "Parked records that left the lot", ["topic", "outcome"])
WAITING = Gauge("regua_parked_records_waiting", "Records waiting in the parking lot at the last poll")
#: The longest pause between two tries of a parked record.
MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)


@dataclass
class ParkingLot:
    consumers: list[Consumer[Any]] = field(default_factory=list)
    pool: asyncpg.Pool | None = None

    async def park(self, consumer: Consumer[Any], parked: list[Parked]) -> None:
        if self.pool is None:  # not running inside a service (a bare broker in a test): nowhere to wait
            await consumer.dead_letter_all([Rejection(p.record, f"could not wait: {p.reason}") for p in parked])
            return
        await self.pool.executemany(
            "INSERT INTO parked_records (consumer, topic, partition, record_offset, record_key, record_value, "
            "headers, timestamp_ms, reason, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + $10) "
            "ON CONFLICT (consumer, topic, partition, record_offset) DO NOTHING",
            [(consumer.group_id, p.record.topic, p.record.partition, p.record.offset, p.record.key,
              p.record.value or b"", json.dumps([[k, v.decode("latin-1")] for k, v in (p.record.headers or ())]),
              p.record.timestamp, p.reason[:2000], backoff(0)) for p in parked],
        )
        for p in parked:
            log.warning("parked", extra={"topic": p.record.topic, "offset": p.record.offset, "reason": p.reason})
            PARKED.labels(p.record.topic).inc()

    async def run(self, poll_seconds: float, max_attempts: int) -> None:
        while True:
            try:
                if not await self.retry_due(max_attempts):
                    await asyncio.sleep(poll_seconds)
            except RETRYABLE:
                await asyncio.sleep(poll_seconds)

    async def retry_due(self, max_attempts: int, limit: int = 50) -> int:
        """Tries each due parked record once; returns how many it tried."""
        assert self.pool is not None
        by_group = {c.group_id: c for c in self.consumers}
        WAITING.set(await self.pool.fetchval("SELECT count(*) FROM parked_records"))
        # Claimed by pushing next_at ahead, so another replica does not try the same record meanwhile.
        rows = await self.pool.fetch(
            "UPDATE parked_records SET next_at = now() + interval '5 minutes', attempts = attempts + 1 "
            "WHERE id IN (SELECT id FROM parked_records WHERE next_at <= now() AND consumer = ANY($1::text[]) "
            "ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *", list(by_group), limit)
        for row in rows:
            await self._retry(by_group[row["consumer"]], row, max_attempts)
        return len(rows)

    async def _retry(self, consumer: Consumer[Any], row: asyncpg.Record, max_attempts: int) -> None:
        assert self.pool is not None
        record = _record(row)
        try:
            rejected, parked = await consumer.consume_one(record)
        except RETRYABLE_INFRA:
            return  # the database or the broker is away: the claim lapses and the record is tried again
        if parked and row["attempts"] < max_attempts:
            await self.pool.execute("UPDATE parked_records SET next_at = now() + $2, reason = $3 WHERE id = $1",
                                    row["id"], backoff(row["attempts"]), parked[0].reason[:2000])
            return
        if parked:
            rejected = [Rejection(record, f"waited {row['attempts']} times, giving up: {parked[0].reason}")]
        await consumer.dead_letter_all(rejected)
        await self.pool.execute("DELETE FROM parked_records WHERE id = $1", row["id"])
        UNPARKED.labels(consumer.topic, "dead-lettered" if rejected else "handled").inc()


def _record(row: asyncpg.Record) -> ConsumerRecord[bytes, bytes]:
    headers = [(k, v.encode("latin-1")) for k, v in json.loads(row["headers"])]
    value = bytes(row["record_value"])
    key = None if row["record_key"] is None else bytes(row["record_key"])
    return ConsumerRecord(row["topic"], row["partition"], row["record_offset"], row["timestamp_ms"], 0, key, value,
                          None, len(key or b""), len(value), headers)
