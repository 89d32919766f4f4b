"""The broker watch against a real Tansu broker that the test kills and replaces with an empty one on the same
port, and a real PostgreSQL outbox (integration)."""

import asyncio
import json
import signal
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import BaseModel, TypeAdapter

from regua_contracts.invoices import InvoiceCancelled
from regua_localstack.infra import start_broker
from regua_platform import outbox
from regua_platform.broker_watch import BrokerStateLost, BrokerWatch, marker_topic
from regua_platform.kafka import Delivery, Rejection, create_broker, ensure_topics, rewind, subscribe
from regua_platform.outbox import OutboxMessage, OutboxRelay
from regua_platform.settings import Settings


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def _noop(records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
    return None


async def test_a_broker_that_lost_its_state_gets_the_topics_and_the_retained_events_back(pool: asyncpg.Pool) -> None:
    logs = Path(tempfile.mkdtemp(prefix="regua-watch-test-"))
    broker, bootstrap = start_broker(logs)
    port = int(bootstrap.rsplit(":", 1)[1])
    name = f"svc-{uuid.uuid4().hex[:6]}"
    settings = Settings(service_name=name, kafka_bootstrap_servers=bootstrap, kafka_partitions=2)
    watch = BrokerWatch(settings, ["regua.watch-test.v1"], pool)
    try:
        assert await watch.check() == 0  # a new broker, an empty outbox: topics and marker created
        assert {"regua.watch-test.v1", marker_topic(name)} <= await _topics(bootstrap)
        assert watch.verified.is_set()
        event = InvoiceCancelled(occurred_at=datetime(2027, 3, 1, tzinfo=UTC), tenant_id="acme",
                                 invoice_id=uuid.uuid4(), debtor_id=uuid.uuid4(), reason="r")
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [OutboxMessage("regua.watch-test.v1", "k", event)] * 3)
        assert await OutboxRelay(pool, _noop, batch=10, poll_seconds=0.01).relay_once() == 3
        assert await watch.check() == 0  # the broker still holds its state: nothing re-queued

        broker.kill(signal.SIGKILL)
        with pytest.raises((KafkaError, OSError)):
            await watch.check()
        assert not watch.verified.is_set()  # readiness false, the relay waits
        broker, _ = start_broker(logs, port)  # an empty broker on the same port

        assert await watch.check() == 3  # the three published events are back in the outbox, in order
        assert watch.verified.is_set()
        assert {"regua.watch-test.v1", marker_topic(name)} <= await _topics(bootstrap)
        assert await pool.fetchval("SELECT count(*) FROM outbox") == 3
        assert await watch.check() == 0  # once only
    finally:
        await watch.close()
        broker.stop()


@dataclass
class Recording:
    published: list[str] = field(default_factory=list)

    async def __call__(self, records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
        self.published += [json.loads(value)["reason"] for _, _, value, _ in records]


async def test_the_relay_publishes_nothing_new_to_a_broker_that_came_back_empty_before_the_requeue(
        pool: asyncpg.Pool) -> None:
    """An invoice registered, then paid: a broker that lost the registration between two checks must not get
    the payment first."""
    logs = Path(tempfile.mkdtemp(prefix="regua-watch-test-"))
    broker, bootstrap = start_broker(logs)
    port = int(bootstrap.rsplit(":", 1)[1])
    settings = Settings(service_name=f"svc-{uuid.uuid4().hex[:6]}", kafka_bootstrap_servers=bootstrap)
    watch = BrokerWatch(settings, ["regua.watch-test.v1"], pool)
    sent = Recording()
    relay = OutboxRelay(pool, sent, batch=10, poll_seconds=0.01, confirm=watch.confirm)
    try:
        await watch.check()
        await _add(pool, "registered")
        assert await relay.relay_once() == 1
        broker.kill(signal.SIGKILL)
        broker, _ = start_broker(logs, port)  # empty, and no check ran in between
        await _add(pool, "paid")

        with pytest.raises(BrokerStateLost):
            await relay.relay_once()
        assert sent.published == ["registered"]  # the payment did not go out ahead
        assert not watch.verified.is_set()

        assert await watch.check() == 1
        assert await relay.relay_once() == 2
        assert sent.published == ["registered", "registered", "paid"]  # in their order
    finally:
        await watch.close()
        broker.stop()


async def _add(pool: asyncpg.Pool, reason: str) -> None:
    event = InvoiceCancelled(occurred_at=datetime(2027, 3, 1, tzinfo=UTC), tenant_id="acme",
                             invoice_id=uuid.uuid4(), debtor_id=uuid.uuid4(), reason=reason)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [OutboxMessage("regua.watch-test.v1", "k", event)])


class Note(BaseModel):
    n: int


async def _standalone_commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    """What a commit held back by the outage sends once its consumer reset its generation to rejoin: no member
    and no generation, which the new broker takes as a standalone commit of the old broker's position."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): offset})
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, topic: str, ns: range) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in ns:
            await producer.send_and_wait(topic, Note(n=n).model_dump_json().encode())
    finally:
        await producer.stop()


async def _until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if check() or asyncio.get_running_loop().time() > deadline:
            return check()
        await asyncio.sleep(0.1)


async def test_consumers_read_a_rebuilt_broker_from_the_beginning_whatever_offsets_it_was_given(
        pool: asyncpg.Pool) -> None:
    """The old broker's position committed into the new one (a commit held back by the outage) must not make the
    group skip the re-queued records below it."""
    logs = Path(tempfile.mkdtemp(prefix="regua-watch-test-"))
    kafka, bootstrap = start_broker(logs)
    port = int(bootstrap.rsplit(":", 1)[1])
    topic, group = f"regua.rewind-{uuid.uuid4().hex[:6]}.v1", f"g-{uuid.uuid4().hex[:6]}"
    settings = Settings(service_name=f"svc-{uuid.uuid4().hex[:6]}", kafka_bootstrap_servers=bootstrap,
                        kafka_partitions=1, kafka_session_timeout_ms=2000, kafka_heartbeat_interval_ms=500)
    handled: list[int] = []

    async def handler(deliveries: list[Delivery[Note]]) -> list[Rejection]:
        handled.extend(d.event.n for d in deliveries)
        return []

    broker = create_broker(settings)
    watch = BrokerWatch(settings, [topic], pool, rewind=lambda: rewind(broker))
    subscribe(broker, settings, topic=topic, group_id=group, adapter=TypeAdapter(Note), handler=handler)
    try:
        await watch.check()
        await broker.start()
        await _produce(bootstrap, topic, range(5))
        assert await _until(lambda: sorted(handled) == list(range(5)))

        await broker.stop()  # the group is away while the stale commit lands (in a service: rejoining)
        kafka.kill(signal.SIGKILL)
        kafka, _ = start_broker(logs, port)  # empty
        await ensure_topics(settings, [topic])
        await _standalone_commit(bootstrap, group, topic, 5)
        await _produce(bootstrap, topic, range(8))  # the five re-queued, and three more
        handled.clear()
        assert await watch.check() == 0  # the outbox is empty here; the consumers are rewound
        await broker.start()

        assert await _until(lambda: set(handled) >= set(range(8))), sorted(handled)
    finally:
        await broker.stop()
        await watch.close()
        kafka.stop()
