"""Raw asyncpg COPY into tables shaped like ingestion.invoices, alone and fed by a plain Kafka consumer."""

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import asyncpg

from bench import kafka

COLUMNS = ("id", "tenant_id", "external_id", "debtor_id", "amount_cents", "due_date", "details")
_DEBTOR_NS = uuid.UUID("6f1c7a52-4a4e-4d0b-9a52-3b0c1d2e9f10")
Row = tuple[Any, ...]


async def scratch_table(conn: asyncpg.Connection, name: str) -> None:
    """Same columns, defaults, checks and indexes as ingestion.invoices (LIKE copies no foreign key)."""
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
    await conn.execute(f"DROP TABLE IF EXISTS bench.{name}")
    await conn.execute(f"CREATE TABLE bench.{name} (LIKE ingestion.invoices INCLUDING ALL)")


def row(tenant_id: str, value: bytes) -> Row:
    """The minimum decoding a consumer needs to fill the columns: parse JSON, no validation."""
    inv = json.loads(value)["invoice"]
    return (uuid.uuid4(), tenant_id, inv["external_id"],
            uuid.uuid5(_DEBTOR_NS, f"{tenant_id}:{inv['debtor']['document']}"),
            inv["amount_cents"], date.fromisoformat(inv["due_date"]), json.dumps(inv))


def rows(tenant_id: str, values: Iterable[bytes]) -> list[Row]:
    return [row(tenant_id, v) for v in values]


async def copy(conn: asyncpg.Connection, table: str, batch: Sequence[Row]) -> None:
    await conn.copy_records_to_table(table, schema_name="bench", records=batch, columns=COLUMNS)


async def copy_all(conn: asyncpg.Connection, decoded: Sequence[Row], batch_size: int) -> float:
    """COPY of rows decoded beforehand, ``batch_size`` rows per COPY; returns the seconds of the COPYs."""
    await scratch_table(conn, "invoices_copy")
    started = time.perf_counter()
    for i in range(0, len(decoded), batch_size):
        await copy(conn, "invoices_copy", decoded[i:i + batch_size])
    return time.perf_counter() - started


async def kafka_to_postgres(conn: asyncpg.Connection, bootstrap: str, topic: str, tenant_id: str, total: int,
                            batch_size: int) -> float:
    """The physical limit of ingestion here: fetch a batch, decode it, COPY it; until ``total`` rows are in."""
    await scratch_table(conn, "invoices_pipeline")
    async with kafka.reader(bootstrap, topic) as consumer:
        started = time.perf_counter()
        async for batch in kafka.batches(consumer, total, batch_size):
            await copy(conn, "invoices_pipeline", rows(tenant_id, (r.value or b"" for r in batch)))
        return time.perf_counter() - started
