"""The service under test: RegisterInvoice commands produced to CLIENT_COMMANDS until every invoice is a row
of ingestion.invoices, then until the relay has published every InvoiceRegistered from the outbox."""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import httpx

from bench import kafka
from bench.workload import Record
from regua_contracts import topics
from regua_localstack.stack import ADMIN_TOKEN, LocalStack


@dataclass(frozen=True)
class ServiceRun:
    produce_seconds: float  # first send to last acknowledgement
    ingest_seconds: float  # first send until every invoice is a row
    drain_seconds: float  # first send until the outbox is empty


def new_tenant(stack: LocalStack) -> tuple[str, str]:
    r = httpx.post(f"{stack.url('ingestion')}/admin/tenants", headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=10,
                   json={"name": "Bench Comércio Ltda", "cnpj": "11222333000181",
                         "address": "Av. Paulista, 1000, São Paulo - SP"})
    r.raise_for_status()
    body = r.json()
    return body["tenant_id"], body["api_key"]


async def _wait_for(conn: asyncpg.Connection, sql: str, done: int, started: float, timeout: float) -> float:
    """Polls ``sql`` (a count) until it returns ``done``; returns the seconds since ``started``."""
    while (count := await conn.fetchval(sql)) != done:
        elapsed = time.perf_counter() - started
        if elapsed > timeout:
            raise TimeoutError(f"{sql!r} is {count}, not {done}, after {timeout:.0f}s; see the ingestion log")
        # A count over a growing table costs PostgreSQL CPU the service needs: poll less as time goes by,
        # staying within about 1 % of the elapsed time.
        await asyncio.sleep(min(1.0, 0.05 + elapsed / 100))
    return time.perf_counter() - started


async def run(conn: asyncpg.Connection, bootstrap: str, api_key: str, records: Sequence[Record],
              timeout: float) -> ServiceRun:
    started = time.perf_counter()
    ingested = asyncio.create_task(
        _wait_for(conn, "SELECT count(*) FROM ingestion.invoices", len(records), started, timeout))
    produce_seconds = await kafka.produce(bootstrap, topics.CLIENT_COMMANDS, records,
                                          headers=[("x-api-key", api_key.encode())])
    ingest_seconds = await ingested
    drain_seconds = await _wait_for(conn, "SELECT count(*) FROM ingestion.outbox", 0, started, timeout)
    return ServiceRun(produce_seconds, ingest_seconds, drain_seconds)
