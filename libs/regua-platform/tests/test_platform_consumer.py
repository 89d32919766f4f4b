"""The consumer wrapper against a real Kafka-protocol broker (Tansu) and real PostgreSQL: no partition stalls
behind one record. A record that must wait is parked and retried aside, a bad or oversized record is
dead-lettered with its reason, and a dead-letter topic can be replayed after a fix."""

import asyncio
import inspect
import json
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY
from pydantic import BaseModel, TypeAdapter

from regua_contracts.topics import dead_letter
from regua_localstack.infra import start_broker
from regua_platform.consumer_lag import measure
from regua_platform.kafka import (
    Delivery,
    Rejection,
    TransientError,
    create_broker,
    ensure_topics,
    parking_lot,
    subscribe,
)
from regua_platform.replay import replay
from regua_platform.settings import Settings


class Note(BaseModel):
    n: int
    text: str = ""


@pytest.fixture(scope="module")
def bootstrap() -> Any:
    process, address = start_broker(Path(tempfile.mkdtemp(prefix="regua-consumer-test-")))
    try:
        yield address
    finally:
        process.stop()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=b"k", headers=[("x-api-key", b"rk_secret"), ("x-test", b"1")])
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        await consumer.topics()
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not parts:
            return []
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[Any] = []
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out += records
        return out
    finally:
        await consumer.stop()


async def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


@pytest.fixture
async def running(bootstrap: str, pool: asyncpg.Pool) -> AsyncIterator[dict[str, Any]]:
    """A subscription like a service's: one partition, a handler that makes records with ``text == "wait"``
    wait while ``ready`` is false, and fails on ``text == "boom"``."""
    topic = f"t-{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=1, consumer_retry_attempts=2,
                        consumer_retry_base_seconds=0.01, kafka_session_timeout_ms=2000,
                        kafka_heartbeat_interval_ms=500, kafka_max_record_bytes=1024 * 1024)
    await ensure_topics(settings, [topic, dead_letter(topic)])
    state: dict[str, Any] = {"handled": [], "ready": False, "topic": topic, "settings": settings}

    async def handler(deliveries: list[Delivery[Note]]) -> list[Rejection]:
        for d in deliveries:
            if d.event.text == "wait" and not state["ready"]:
                raise TransientError(f"note {d.event.n} waits for the fix")
            if d.event.text == "boom" and not state.get("fixed"):
                raise RuntimeError("boom")
        state["handled"] += [d.event.n for d in deliveries]
        return []

    broker = create_broker(settings)
    subscribe(broker, settings, topic=topic, group_id=f"g-{topic}", adapter=TypeAdapter(Note), handler=handler)
    lot = parking_lot(broker)
    lot.pool = pool
    state["lot"] = lot
    await broker.start()
    try:
        yield state
    finally:
        await broker.stop()


async def test_a_waiting_record_is_parked_and_the_partition_goes_on(bootstrap: str, pool: asyncpg.Pool,
                                                                   running: dict[str, Any]) -> None:
    topic = running["topic"]
    await _produce(bootstrap, topic, [json.dumps({"n": 1}).encode(), json.dumps({"n": 2, "text": "wait"}).encode(),
                                      json.dumps({"n": 3}).encode()])
    # 3 is handled although 2, ahead of it on the same partition, cannot be yet.
    assert await _until(lambda: 3 in running["handled"])
    assert running["handled"] == [1, 3]
    parked = await pool.fetch("SELECT record_offset, reason, record_value FROM parked_records")
    assert [(r["record_offset"], r["reason"]) for r in parked] == [(1, "note 2 waits for the fix")]
    assert json.loads(parked[0]["record_value"]) == {"n": 2, "text": "wait"}

    # Still waiting: tried again later, kept; once its precondition holds, handled and gone from the lot.
    await pool.execute("UPDATE parked_records SET next_at = now()")
    assert await running["lot"].retry_due(max_attempts=30) == 1
    assert await pool.fetchval("SELECT attempts FROM parked_records") == 1
    running["ready"] = True
    await pool.execute("UPDATE parked_records SET next_at = now()")
    assert await running["lot"].retry_due(max_attempts=30) == 1
    assert running["handled"] == [1, 3, 2]
    assert await pool.fetchval("SELECT count(*) FROM parked_records") == 0


async def test_a_record_that_waits_too_long_is_dead_lettered_with_the_reason(
        bootstrap: str, pool: asyncpg.Pool, running: dict[str, Any]) -> None:
    topic = running["topic"]
    await _produce(bootstrap, topic, [json.dumps({"n": 7, "text": "wait"}).encode()])
    assert await _until(lambda: pool.fetchval("SELECT count(*) FROM parked_records"))
    for _ in range(3):
        await pool.execute("UPDATE parked_records SET next_at = now()")
        await running["lot"].retry_due(max_attempts=3)
    assert await pool.fetchval("SELECT count(*) FROM parked_records") == 0
    letters = await _until(lambda: _read(bootstrap, dead_letter(topic)))
    headers = {k: v.decode() for k, v in letters[0].headers}
    assert headers["x-dlq-reason"] == "waited 3 times, giving up: note 7 waits for the fix"
    assert "x-api-key" not in headers and headers["x-test"] == "1"


async def test_bad_and_oversized_records_are_dead_lettered_and_replayed_after_a_fix(
        bootstrap: str, running: dict[str, Any]) -> None:
    topic = running["topic"]
    huge = json.dumps({"n": 9, "text": "x" * (2 * 1024 * 1024)}).encode()
    await _produce(bootstrap, topic, [b"{not json", huge, json.dumps({"n": 4, "text": "boom"}).encode(),
                                      json.dumps({"n": 5}).encode()])
    assert await _until(lambda: 5 in running["handled"])

    async def three_letters() -> list[Any]:
        found = await _read(bootstrap, dead_letter(topic))
        return found if len(found) >= 3 else []

    letters = await _until(three_letters)
    reasons = [{k: v.decode() for k, v in r.headers}["x-dlq-reason"] for r in letters]
    assert reasons[0].startswith("(body): Invalid JSON")
    assert reasons[1] == f"record of {len(huge)} bytes is over the 1048576-byte limit"
    assert letters[1].value == b"" and {k: v.decode() for k, v in letters[1].headers}["x-dlq-original-bytes"] == \
        str(len(huge))
    assert reasons[2] == "handler error: RuntimeError('boom')"

    # After a fix (here: the handler no longer fails on "boom"), the dead letters go back to their topic.
    running["fixed"] = True
    report = await replay(bootstrap, dead_letter(topic), group=f"replay-{topic}", reason_contains="handler error",
                          idle_seconds=1.0)
    assert report.replayed == 1
    assert len(report.skipped) == 1 and f"the original is at {topic}:0:1" in report.skipped[0]
    assert await _until(lambda: 4 in running["handled"])
    # A replay is remembered per group: running it again sends nothing twice.
    assert (await replay(bootstrap, dead_letter(topic), group=f"replay-{topic}", idle_seconds=1.0)).replayed == 0



async def test_a_record_to_park_while_the_database_is_away_waits_for_it_and_is_not_lost(
        bootstrap: str, pool: asyncpg.Pool, database_dsn: str, running: dict[str, Any]) -> None:
    topic = running["topic"]
    lot = running["lot"]
    away = await asyncpg.create_pool(database_dsn, min_size=0, max_size=1)
    await away.close()  # what the lot holds while the database is away: every call fails (InterfaceError)
    lot.pool = away
    try:
        await _produce(bootstrap, topic, [json.dumps({"n": 8, "text": "wait"}).encode()])
        await asyncio.sleep(3)  # parking fails meanwhile: the batch must not be committed past the record
    finally:
        lot.pool = pool
    await _produce(bootstrap, topic, [json.dumps({"n": 9}).encode()])
    assert await _until(lambda: 9 in running["handled"])
    assert await _until(lambda: pool.fetchval("SELECT count(*) FROM parked_records"))
    parked = await pool.fetch("SELECT record_value FROM parked_records")
    assert [json.loads(r["record_value"]) for r in parked] == [{"n": 8, "text": "wait"}]


async def test_consumer_lag_is_measured_per_group_and_partition_and_falls_to_zero(bootstrap: str) -> None:
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    group = f"g-{topic}"
    settings = Settings(kafka_bootstrap_servers=bootstrap, kafka_partitions=2, kafka_session_timeout_ms=2000,
                        kafka_heartbeat_interval_ms=500)
    await ensure_topics(settings, [topic, dead_letter(topic)])
    release, handled = asyncio.Event(), []

    async def handler(deliveries: list[Delivery[Note]]) -> list[Rejection]:
        await release.wait()  # nothing is committed until the test lets the handler finish
        handled.extend(d.event.n for d in deliveries)
        return []

    broker = create_broker(settings)
    subscribe(broker, settings, topic=topic, group_id=group, adapter=TypeAdapter(Note), handler=handler)
    await broker.start()
    try:
        consumers = parking_lot(broker).consumers
        assert await _until(lambda: consumers[0].client is not None and len(consumers[0].client.assignment()) == 2)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for partition, count in ((0, 3), (1, 5)):
                for n in range(count):
                    await producer.send_and_wait(topic, json.dumps({"n": n}).encode(), partition=partition)
        finally:
            await producer.stop()

        lags = await measure(consumers)
        assert lags == {(group, topic, "0"): 3, (group, topic, "1"): 5}
        labels = {"group": group, "topic": topic, "partition": "1"}
        assert REGISTRY.get_sample_value("regua_kafka_consumer_lag", labels) == 5

        release.set()
        assert await _until(lambda: len(handled) == 8)
        assert await _until(lambda: _all_zero(consumers), timeout=30)
    finally:
        await broker.stop()
    # A stopped subscription holds no partition: its series go rather than freeze at the last value.
    assert await measure(consumers) == {}
    labels = {"group": group, "topic": topic, "partition": "1"}
    assert REGISTRY.get_sample_value("regua_kafka_consumer_lag", labels) is None


async def _all_zero(consumers: list[Any]) -> bool:
    lags = await measure(consumers)
    return bool(lags) and set(lags.values()) == {0}
