"""The broker watch against a real Tansu broker that the test kills and replaces with an empty one on the same
port, and a real PostgreSQL outbox (integration)."""

import json
import signal
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from regua_contracts.invoices import InvoiceCancelled
from regua_localstack.infra import start_broker
from regua_platform import outbox
from regua_platform.broker_watch import BrokerStateLost, BrokerWatch, marker_topic
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
