"""The outbox relay's cost with retention (published rows moved to outbox_published) against the old DELETE,
on the real PostgreSQL: ``python -m bench.outbox [events]``. The publish step is a no-op, so this measures the
database side only: select a batch, move it (or delete it). Then a re-queue of everything retained."""

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from regua_contracts.invoices import InvoiceCancelled
from regua_platform import outbox
from regua_platform.db import create_pool
from regua_platform.migrations import migrate
from regua_platform.outbox import OutboxMessage, OutboxRelay

DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _fill(pool: asyncpg.Pool, n: int) -> None:
    event = InvoiceCancelled(occurred_at=datetime(2027, 3, 1, tzinfo=UTC), tenant_id="acme",
                             invoice_id=uuid.uuid4(), debtor_id=uuid.uuid4(), reason="bench")
    for start in range(0, n, 1000):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [OutboxMessage("bench", str(i), event) for i in range(start, min(n, start + 1000))])


async def _noop(records: list[tuple[str, bytes | None, bytes, dict[str, str]]]) -> None:
    return None


async def _drain(relay: OutboxRelay) -> float:
    started = time.perf_counter()
    while await relay.relay_once():
        pass
    return time.perf_counter() - started


async def main(n: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    await migrate(DSN, schema, "regua_ingestion")  # any service: the platform tables come first
    pool = await create_pool(DSN, schema, min_size=1, max_size=2)
    try:
        await _fill(pool, n)
        retained = await _drain(OutboxRelay(pool, _noop, batch=1000, poll_seconds=0.05))  # history of n rows
        await _fill(pool, n)
        with_history = await _drain(OutboxRelay(pool, _noop, batch=1000, poll_seconds=0.05))
        await pool.execute("TRUNCATE outbox, outbox_published")
        await _fill(pool, n)
        deleted = await _drain(OutboxRelay(pool, _noop, batch=1000, poll_seconds=0.05, retain=False))
        await _fill(pool, n)
        await _drain(OutboxRelay(pool, _noop, batch=1000, poll_seconds=0.05))
        requeue_started = time.perf_counter()
        requeued = await outbox.requeue(pool)
        requeue_seconds = time.perf_counter() - requeue_started
        for name, seconds in [("move, empty history", retained), (f"move, {n} retained rows", with_history),
                              ("delete (retention 0, as before)", deleted)]:
            print(f"{name:32s} {n} events in {seconds:.3f} s = {n / seconds:,.0f} events/s")
        print(f"re-queue of {requeued} retained events: {requeue_seconds:.3f} s")
    finally:
        await pool.close()
        conn = await asyncpg.connect(DSN)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
