"""Scratch PostgreSQL for integration tests: one throw-away database per session, one migrated schema per
test. The server comes from REGUA_TEST_POSTGRES_DSN (default 127.0.0.1:5432)."""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiohttp import web

from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_localstack.provider_sink import Channel, ProviderSink
from regua_platform.db import create_pool
from regua_platform.migrations import migrate

SERVER_DSN = os.environ.get("REGUA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """Creates a uniquely named database and drops it afterwards; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(SERVER_DSN, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(SERVER_DSN, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def migrated_pool(dsn: str, package: str, extra: Sequence[str] = ()) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema migrated by ``package``'s migrations (and ``extra`` packages')."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    if extra:
        await migrate(dsn, schema, package, list(extra))
    else:
        await migrate(dsn, schema, package)
    pool = await create_pool(dsn, schema, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def provider_double(out: Path, *, dedupe: bool = True) -> AsyncIterator[tuple[ProviderSink, str]]:
    """The SMS gateway / WhatsApp Cloud API double in this process over real HTTP on a free port, without
    webhooks (a test applies statuses itself): (the double, its base URL)."""
    sink = ProviderSink(out, Channel("sms", "local-sms-token", "local-sms-webhook-secret", None, dedupe=dedupe),
                        Channel("whatsapp", "local-whatsapp-token", "local-whatsapp-app-secret", None, dedupe=dedupe),
                        report_every=0.2)
    async with serve(sink.app()) as url:
        yield sink, url


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp application served in this process on a free port: its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def text_dispatch_world(workdir: Path, package: str) -> AsyncIterator[tuple[asyncpg.Pool, ProviderSink, str]]:
    """What a text dispatcher's integration test stands on: a fresh schema migrated by ``package`` (with the
    dispatchers' shared tables) and the provider double NOT deduping: (pool, the double, its base URL)."""
    async with scratch_database("regua_text_dispatch_test") as dsn, \
            migrated_pool(dsn, package, ["regua_dispatch"]) as pool, \
            provider_double(workdir / "providers.jsonl", dedupe=False) as (sink, url):
        yield pool, sink, url


def text_command(channel: str, phone: str, at: datetime, template: str = "notice") -> ContactRequested:
    """A contact command for one debtor with one invoice, due now."""
    return ContactRequested(
        occurred_at=at, tenant_id="acme", step_id=uuid.uuid4(), step_key="D+1", channel=channel, template=template,
        tone="informative", recipient=Recipient(debtor_id=uuid.uuid4(), name="Ana Souza", phone=phone, state="SP"),
        creditor=Creditor(name="Loja Pontual Ltda", cnpj="11222333000181", address="Rua Augusta, 500, São Paulo"),
        invoices=[InvoiceSummary(invoice_id=uuid.uuid4(), external_id="NF-1", amount_cents=15_000,
                                 due_date=at.date())], scheduled_for=at)


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def crash_after_the_call(sink: ProviderSink, channel: str, to: str, reference: str,
                               dispatch: Coroutine[Any, Any, Any]) -> None:
    """Runs ``dispatch``; the provider takes the message to ``to`` but answers late, and the process dies (the
    task is cancelled) before its commit: the attempt is left unconfirmed."""
    sink.channels[channel].holds[to] = 2.0
    task = asyncio.create_task(dispatch)
    await until(lambda: sink.channels[channel].calls[reference] == 1)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def attempt_row(pool: asyncpg.Pool, step_id: uuid.UUID) -> tuple[str, str | None, str | None]:
    """A dispatcher's attempt: (status, provider id, reason)."""
    row = await pool.fetchrow("SELECT status, provider_id, reason FROM dispatch_attempts WHERE step_id = $1", step_id)
    return row["status"], row["provider_id"], row["reason"]


async def attempted_outcomes(pool: asyncpg.Pool) -> list[str]:
    """The outcomes of the contact.attempted events in a dispatcher's outbox, oldest first."""
    found = [json.loads(r["payload"]) for r in await pool.fetch("SELECT payload FROM outbox ORDER BY id")]
    return [e["outcome"] for e in found if e["type"] == "contact.attempted.v1"]
