"""Transactional outbox and its relay against the real PostgreSQL (integration).

The publish function is the adapter boundary to Kafka; here it records what it is given."""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from regua_contracts.invoices import InvoiceCancelled
from regua_platform import outbox
from regua_platform.outbox import OutboxMessage, OutboxRelay
from regua_platform.rebuild import rebuild


class BrokerDown(Exception):
    pass


class _Rollback(Exception):
    pass


@dataclass
class Published:
    payload: bytes
    topic: str
    key: bytes | None
    headers: dict[str, str]


@dataclass
class RecordingPublish:
    calls: list[Published] = field(default_factory=list)
    fail_on: set[int] = field(default_factory=set)  # 0-based index of calls that raise
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
        first = len(self.calls)
        self.calls += [Published(payload, topic, key, headers) for topic, key, payload, headers in records]
        self.called.set()
        await asyncio.sleep(0)
        if self.fail_on & set(range(first, len(self.calls))):
            raise BrokerDown("broker unavailable")


def _message(reason: str, topic: str = "invoices.v1") -> OutboxMessage:
    event = InvoiceCancelled(occurred_at=datetime(2027, 3, 1, 12, tzinfo=UTC), tenant_id="acme",
                             invoice_id=uuid.uuid4(), debtor_id=uuid.uuid4(), reason=reason)
    return OutboxMessage(topic, str(event.debtor_id), event)


async def _add(pool: asyncpg.Pool, messages: list[OutboxMessage]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, messages)


async def _pending(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM outbox")
    return count


def _relay(pool: asyncpg.Pool, publish: RecordingPublish, batch: int = 100) -> OutboxRelay:
    return OutboxRelay(pool, publish, batch=batch, poll_seconds=0.01)


async def test_relays_in_id_order_then_moves_them_to_the_published(pool: asyncpg.Pool) -> None:
    messages = [_message(f"r{i}", topic=f"topic-{i % 2}") for i in range(5)]
    await _add(pool, messages[:2])
    await _add(pool, messages[2:])
    publish = RecordingPublish()

    assert await _relay(pool, publish).relay_once() == 5

    assert [json.loads(c.payload)["reason"] for c in publish.calls] == ["r0", "r1", "r2", "r3", "r4"]
    for call, message in zip(publish.calls, messages, strict=True):
        assert call.topic == message.topic
        assert call.key == message.key.encode()
        assert InvoiceCancelled.model_validate_json(call.payload) == message.event
        assert call.headers["content-type"] == "application/json"
        assert call.headers["x-event-type"] == "invoice.cancelled.v1"
    assert await _pending(pool) == 0
    assert await _relay(pool, publish).relay_once() == 0
    assert len(publish.calls) == 5


async def test_nothing_is_stored_when_the_transaction_rolls_back(pool: asyncpg.Pool) -> None:
    with pytest.raises(_Rollback):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [_message("lost")])
            raise _Rollback
    assert await _pending(pool) == 0


async def test_adding_nothing_is_a_no_op(pool: asyncpg.Pool) -> None:
    await _add(pool, [])
    assert await _pending(pool) == 0


async def test_rows_stay_when_publish_raises(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message(f"r{i}") for i in range(3)])
    failing = RecordingPublish(fail_on={1})

    with pytest.raises(BrokerDown):
        await _relay(pool, failing).relay_once()
    assert await _pending(pool) == 3  # not even the ones that went out: at-least-once, consumers dedupe

    working = RecordingPublish()
    assert await _relay(pool, working).relay_once() == 3
    assert [json.loads(c.payload)["reason"] for c in working.calls] == ["r0", "r1", "r2"]
    assert await _pending(pool) == 0


async def test_batches_follow_id_order(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message(f"r{i}") for i in range(5)])
    publish = RecordingPublish()
    relay = _relay(pool, publish, batch=2)
    assert [await relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    assert [json.loads(c.payload)["reason"] for c in publish.calls] == ["r0", "r1", "r2", "r3", "r4"]


async def test_a_second_relay_skips_rows_being_published(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message("only")])
    publishing, release = asyncio.Event(), asyncio.Event()

    async def slow_publish(records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
        publishing.set()
        await release.wait()

    first = asyncio.create_task(OutboxRelay(pool, slow_publish, batch=10, poll_seconds=0.01).relay_once())
    async with asyncio.timeout(5):
        await publishing.wait()
    second = RecordingPublish()
    assert await _relay(pool, second).relay_once() == 0  # the row is locked by the first relay
    release.set()
    assert await first == 1
    assert second.calls == []
    assert await _pending(pool) == 0


async def test_run_relays_until_stopped(pool: asyncpg.Pool) -> None:
    publish = RecordingPublish()
    relay = _relay(pool, publish)
    task = asyncio.create_task(relay.run())
    await _add(pool, [_message("late")])
    async with asyncio.timeout(5):
        await publish.called.wait()
    relay.stop()
    async with asyncio.timeout(5):
        await task
    assert [json.loads(c.payload)["reason"] for c in publish.calls] == ["late"]


async def test_published_events_are_kept_and_a_requeue_publishes_them_again_in_order(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message(f"r{i}") for i in range(3)])
    first = RecordingPublish()
    assert await _relay(pool, first).relay_once() == 3
    assert await pool.fetchval("SELECT count(*) FROM outbox_published") == 3  # kept for a rebuild of the broker
    await _add(pool, [_message("r3")])

    assert await outbox.requeue(pool) == 3  # the three published ones, back ahead of r3 (pending already)

    again = RecordingPublish()
    assert await _relay(pool, again).relay_once() == 4
    assert [json.loads(c.payload)["reason"] for c in again.calls] == ["r0", "r1", "r2", "r3"]
    assert [c.payload for c in again.calls[:3]] == [c.payload for c in first.calls]  # same events, same ids


async def test_prune_deletes_only_published_events_past_their_retention(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message(f"r{i}") for i in range(3)])
    assert await _relay(pool, RecordingPublish()).relay_once() == 3
    await pool.execute("UPDATE outbox_published SET published_at = now() - interval '8 days' "
                       "WHERE id = (SELECT min(id) FROM outbox_published)")
    await _add(pool, [_message("pending")])
    await pool.execute("UPDATE outbox SET created_at = now() - interval '30 days'")

    assert await outbox.prune(pool, timedelta(days=7)) == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox_published") == 2
    assert await _pending(pool) == 1  # an unpublished event is never pruned, however old


async def test_the_relay_waits_while_its_gate_is_closed(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message("r0")])
    gate = asyncio.Event()
    publish = RecordingPublish()
    relay = OutboxRelay(pool, publish, batch=10, poll_seconds=0.01, gate=gate)
    task = asyncio.create_task(relay.run())
    await asyncio.sleep(0.3)
    assert publish.calls == []  # the broker is not known to hold its state: nothing goes out
    gate.set()
    async with asyncio.timeout(10):
        await publish.called.wait()
    relay.stop()
    await task
    assert [json.loads(c.payload)["reason"] for c in publish.calls] == ["r0"]


async def test_the_rebuild_command_requeues_a_schema_from_a_point_in_time(
        pool: asyncpg.Pool, database_dsn: str, schema_name: str) -> None:
    await _add(pool, [_message(f"r{i}") for i in range(3)])
    assert await _relay(pool, RecordingPublish()).relay_once() == 3
    await pool.execute("UPDATE outbox_published SET published_at = now() - interval '2 days' "
                       "WHERE id = (SELECT min(id) FROM outbox_published)")

    counts = await rebuild(database_dsn, [schema_name], since=datetime.now(UTC) - timedelta(days=1))

    assert counts == {schema_name: 2}
    again = RecordingPublish()
    assert await _relay(pool, again).relay_once() == 2
    assert [json.loads(c.payload)["reason"] for c in again.calls] == ["r1", "r2"]


def _oldest_age() -> float:
    age = REGISTRY.get_sample_value("regua_outbox_oldest_unpublished_age_seconds")
    assert age is not None
    return age


async def test_the_oldest_unpublished_age_is_that_of_the_first_event_left_waiting(pool: asyncpg.Pool) -> None:
    await _add(pool, [_message("old"), _message("newer")])
    await pool.execute("UPDATE outbox SET created_at = now() - interval '1 hour' "
                       "WHERE id = (SELECT min(id) FROM outbox)")
    await pool.execute("UPDATE outbox SET created_at = now() - interval '10 minutes' "
                       "WHERE id = (SELECT max(id) FROM outbox)")
    relay = _relay(pool, RecordingPublish(), batch=1)

    await relay.relay_once()  # publishes the hour-old event; the ten-minute-old one waits
    assert 600 <= _oldest_age() < 3600

    await relay.relay_once()
    assert _oldest_age() == 0
