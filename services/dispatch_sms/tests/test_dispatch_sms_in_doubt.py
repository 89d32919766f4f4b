"""Each SMS once with a gateway that does NOT dedupe on Idempotency-Key (integration: real PostgreSQL, the
provider double over real HTTP): a step whose call may have gone through is looked up by reference before
any second send, after a crash between the call and its commit and after a timeout the gateway took."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from regua_dispatch import ledger
from regua_dispatch.ledger import Intent
from regua_dispatch.pipeline import Dispatcher
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch_sms.adapter import SmsAdapter, check_length
from regua_localstack.provider_sink import ProviderSink
from regua_localstack.testing import (
    attempt_row,
    attempted_outcomes,
    crash_after_the_call,
    text_command,
    text_dispatch_world,
)
from regua_platform.clock import SimulatedClock
from regua_platform.ratelimit import TokenBucket

NOW = datetime(2027, 3, 9, 13, 0, tzinfo=UTC)  # a Tuesday, 10:00 in São Paulo
PHONE = "+5511987650001"
World = tuple[asyncpg.Pool, ProviderSink, str]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with text_dispatch_world(tmp_path, "regua_dispatch_sms") as found:
        yield found


def dispatcher(pool: asyncpg.Pool, url: str, clients: list[ProviderClient], timeout: float = 5) -> Dispatcher:
    client = ProviderClient("sms", f"{url}/sms", "local-sms-token", bucket=TokenBucket(0),
                            retry=RetryPolicy(3, 0.05), timeout_seconds=timeout, connections=8)
    clients.append(client)
    registry = TemplateRegistry("sms", load_defaults("regua_dispatch_sms", "sms", check_length), check_length)
    return Dispatcher(pool, SmsAdapter(client, registry, "REGUA"), SimulatedClock(NOW), 8)


@pytest.fixture
async def clients() -> AsyncIterator[list[ProviderClient]]:
    made: list[ProviderClient] = []
    yield made
    for c in made:
        await c.close()


async def started(d: Dispatcher) -> Dispatcher:
    assert isinstance(d.adapter, SmsAdapter)
    await d.adapter.client.start()
    return d


async def test_a_step_sent_before_a_crash_is_found_by_the_lookup_and_not_sent_again(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("sms", PHONE, NOW)
    await crash_after_the_call(sink, "sms", PHONE, str(c.step_id),
                               (await started(dispatcher(pool, url, clients))).dispatch([c]))
    assert (await attempt_row(pool, c.step_id))[0] == "sending"

    assert await (await started(dispatcher(pool, url, clients))).dispatch([c]) == []  # the redelivery
    (message,) = sink.channels["sms"].sent[str(c.step_id)]
    assert sink.channels["sms"].calls[str(c.step_id)] == 1  # the gateway was called once for the step
    assert sink.channels["sms"].lookups[str(c.step_id)] == 1
    assert await attempt_row(pool, c.step_id) == ("sent", message["id"], None)
    assert await attempted_outcomes(pool) == ["sent"]


async def test_a_step_whose_process_died_before_calling_is_sent_once(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("sms", PHONE, NOW)
    async with pool.acquire() as conn:  # a process recorded the intent, then died before calling
        await ledger.claim(conn, [Intent(c.step_id, c.tenant_id, c.recipient.debtor_id, "sms", c.step_key,
                                         "11987650001")], uuid.uuid4())

    assert await (await started(dispatcher(pool, url, clients))).dispatch([c]) == []
    assert sink.channels["sms"].lookups[str(c.step_id)] == 0  # never called (called_at empty): nothing to ask
    assert sink.channels["sms"].calls[str(c.step_id)] == 1
    (message,) = sink.channels["sms"].sent[str(c.step_id)]
    assert await attempt_row(pool, c.step_id) == ("sent", message["id"], None)
    assert await attempted_outcomes(pool) == ["sent"]


async def test_a_timeout_the_gateway_took_is_looked_up_not_sent_again(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("sms", PHONE, NOW)
    sink.channels["sms"].holds[PHONE] = 1.5  # taken at once, answered after the client's timeout
    d = await started(dispatcher(pool, url, clients, timeout=0.5))

    assert await d.dispatch([c]) == []
    assert sink.channels["sms"].calls[str(c.step_id)] == 1
    assert sink.channels["sms"].lookups[str(c.step_id)] == 1
    (message,) = sink.channels["sms"].sent[str(c.step_id)]
    assert await attempt_row(pool, c.step_id) == ("sent", message["id"], None)


async def test_when_the_lookup_cannot_answer_the_step_is_not_sent_but_left_to_the_next_delivery(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("sms", PHONE, NOW)
    await crash_after_the_call(sink, "sms", PHONE, str(c.step_id),
                               (await started(dispatcher(pool, url, clients))).dispatch([c]))
    gone = await started(dispatcher(pool, url.replace(url.rsplit(":", 1)[1], "1"), clients))  # unreachable

    unavailable = await gone.dispatch([c])
    assert [x.step_id for x, _ in unavailable] == [c.step_id]
    assert (await attempt_row(pool, c.step_id))[0] == "sending" and sink.channels["sms"].calls[str(c.step_id)] == 1
    assert await (await started(dispatcher(pool, url, clients))).dispatch([c]) == []  # the dead letter replayed
    assert (await attempt_row(pool, c.step_id))[0] == "sent" and sink.channels["sms"].calls[str(c.step_id)] == 1
