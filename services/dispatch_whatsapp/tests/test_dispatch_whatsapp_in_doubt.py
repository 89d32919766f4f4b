"""Each WhatsApp message once, with the Cloud API that does NOT dedupe and has no lookup by our reference
(integration: real PostgreSQL, the provider double over real HTTP). A step whose call may have gone through is
never sent again: a status webhook naming it (biz_opaque_callback_data) confirms it, even one that arrives
while the redelivery waits; without one it is left unconfirmed after the bounded wait."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from regua_contracts.contacts import ContactRequested
from regua_dispatch import inbound, ledger
from regua_dispatch.inbound import Receipt
from regua_dispatch.ledger import Intent
from regua_dispatch.pipeline import Dispatcher
from regua_dispatch.provider import ProviderClient, RetryPolicy
from regua_dispatch.registry import TemplateRegistry, load_defaults
from regua_dispatch_whatsapp.adapter import WhatsAppAdapter, check_template
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
PHONE = "+5511987650002"
World = tuple[asyncpg.Pool, ProviderSink, str]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with text_dispatch_world(tmp_path, "regua_dispatch_whatsapp") as found:
        yield found


@pytest.fixture
async def clients() -> AsyncIterator[list[ProviderClient]]:
    made: list[ProviderClient] = []
    yield made
    for c in made:
        await c.close()


async def dispatcher(pool: asyncpg.Pool, url: str, clients: list[ProviderClient], *, wait: float,
                     timeout: float = 5) -> Dispatcher:
    client = ProviderClient("whatsapp", f"{url}/whatsapp", "local-whatsapp-token", bucket=TokenBucket(0),
                            retry=RetryPolicy(3, 0.05), timeout_seconds=timeout, connections=8)
    await client.start()
    clients.append(client)
    registry = TemplateRegistry("whatsapp", load_defaults("regua_dispatch_whatsapp", "whatsapp", check_template),
                                check_template)
    adapter = WhatsAppAdapter(client, registry, "/v21.0/100000000000001/messages")
    return Dispatcher(pool, adapter, SimulatedClock(NOW), 8, status_wait_seconds=wait)


async def status_webhook(pool: asyncpg.Pool, sink: ProviderSink, c: ContactRequested, status: str = "sent") -> str:
    """The Cloud API's status for the step's message, as the webhook applies it (api.notify): its wamid."""
    (message,) = sink.channels["whatsapp"].sent[str(c.step_id)]
    async with pool.acquire() as conn, conn.transaction():
        await inbound.apply_receipts(conn, "whatsapp", [Receipt(message["id"], status, step_id=c.step_id)], NOW)
    return str(message["id"])


async def test_a_status_that_named_the_step_confirms_it_after_a_crash(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("whatsapp", PHONE, NOW)
    first = await dispatcher(pool, url, clients, wait=5)
    await crash_after_the_call(sink, "whatsapp", PHONE.lstrip("+"), str(c.step_id), first.dispatch([c]))
    wamid = await status_webhook(pool, sink, c)  # delivered while the dispatcher was down (or came back)

    assert await (await dispatcher(pool, url, clients, wait=5)).dispatch([c]) == []
    assert sink.channels["whatsapp"].calls[str(c.step_id)] == 1
    assert await attempt_row(pool, c.step_id) == ("sent", wamid, None)
    assert await attempted_outcomes(pool) == ["sent"]


async def test_the_redelivery_waits_for_a_status_that_comes_late(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("whatsapp", PHONE, NOW)
    await crash_after_the_call(sink, "whatsapp", PHONE.lstrip("+"), str(c.step_id),
                               (await dispatcher(pool, url, clients, wait=5)).dispatch([c]))
    again = asyncio.create_task((await dispatcher(pool, url, clients, wait=30)).dispatch([c]))
    await asyncio.sleep(0.6)
    assert not again.done()  # waiting for the provider to tell
    wamid = await status_webhook(pool, sink, c, "delivered")

    assert await asyncio.wait_for(again, 10) == []
    assert sink.channels["whatsapp"].calls[str(c.step_id)] == 1
    assert await attempt_row(pool, c.step_id) == ("sent", wamid, None)


async def test_without_any_status_the_step_is_left_unconfirmed_and_not_sent_again(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("whatsapp", PHONE, NOW)
    await crash_after_the_call(sink, "whatsapp", PHONE.lstrip("+"), str(c.step_id),
                               (await dispatcher(pool, url, clients, wait=5)).dispatch([c]))

    assert await (await dispatcher(pool, url, clients, wait=0.5)).dispatch([c]) == []
    assert sink.channels["whatsapp"].calls[str(c.step_id)] == 1
    status, provider_id, reason = await attempt_row(pool, c.step_id)
    assert (status, provider_id) == ("failed", None) and reason is not None and reason.startswith("unconfirmed")
    assert await attempted_outcomes(pool) == ["failed"]
    await status_webhook(pool, sink, c, "delivered")  # a status after the wait still tells what became of it
    assert (await attempt_row(pool, c.step_id))[1] == sink.channels["whatsapp"].sent[str(c.step_id)][0]["id"]


async def test_a_call_that_timed_out_is_not_repeated(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("whatsapp", PHONE, NOW)
    sink.channels["whatsapp"].holds[PHONE.lstrip("+")] = 1.5  # taken at once, answered after the timeout
    d = await dispatcher(pool, url, clients, wait=5, timeout=0.5)
    task = asyncio.create_task(d.dispatch([c]))
    await asyncio.sleep(1.0)
    wamid = await status_webhook(pool, sink, c)  # its status names the step

    assert await asyncio.wait_for(task, 10) == []
    assert sink.channels["whatsapp"].calls[str(c.step_id)] == 1
    assert await attempt_row(pool, c.step_id) == ("sent", wamid, None)


async def test_a_step_whose_process_died_before_calling_is_sent_without_waiting(
        world: World, clients: list[ProviderClient]) -> None:
    pool, sink, url = world
    c = text_command("whatsapp", PHONE, NOW)
    async with pool.acquire() as conn:  # a process recorded the intent, then died before calling
        await ledger.claim(conn, [Intent(c.step_id, c.tenant_id, c.recipient.debtor_id, "whatsapp", c.step_key,
                                         "11987650002")], uuid.uuid4())

    assert await (await dispatcher(pool, url, clients, wait=30)).dispatch([c]) == []  # no 30 s wait either
    assert sink.channels["whatsapp"].calls[str(c.step_id)] == 1
    (message,) = sink.channels["whatsapp"].sent[str(c.step_id)]
    assert await attempt_row(pool, c.step_id) == ("sent", message["id"], None)
