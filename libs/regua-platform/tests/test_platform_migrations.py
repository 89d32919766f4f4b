"""The migration tool against the real PostgreSQL (integration)."""

import asyncio
import uuid
from importlib.resources import files

import asyncpg

from regua_platform.migrations import migrate


def _shipped(*packages: str) -> list[str]:
    """The migration files each package ships, in the order the tool applies them (platform first)."""
    names = [f"{p}:{f.name}" for p in ("regua_platform", *packages)
             for f in files(p).joinpath("migrations").iterdir() if f.name.endswith(".sql")]
    return sorted(names, key=lambda n: (("regua_platform", *packages).index(n.split(":")[0]), n))


def _schema() -> str:
    return f"m_{uuid.uuid4().hex[:12]}"


async def _tables(dsn: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()


async def test_applies_the_platform_tables_then_the_package_once(database_dsn: str) -> None:
    schema = _schema()
    applied = await migrate(database_dsn, schema, "regua_ruler")
    assert applied[0] == "regua_platform:000_platform.sql" and "regua_ruler:001_ruler.sql" in applied
    assert applied == _shipped("regua_ruler")
    assert {"outbox", "processed_events", "schema_migrations", "rulers", "cases", "case_steps"} <= await _tables(
        database_dsn, schema)

    assert await migrate(database_dsn, schema, "regua_ruler") == []


async def test_the_recorded_names_match_what_was_applied(database_dsn: str) -> None:
    schema = _schema()
    applied = await migrate(database_dsn, schema, "regua_dispatch_email", ["regua_dispatch"])
    conn = await asyncpg.connect(database_dsn)
    try:
        recorded = [r["name"] for r in await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations ORDER BY name')]
    finally:
        await conn.close()
    # The platform first, then the shared library's files, then the service's own, each in file order.
    assert applied == _shipped("regua_dispatch", "regua_dispatch_email")
    library, own = "regua_dispatch:001_dispatch.sql", "regua_dispatch_email:001_dispatch_email.sql"
    assert applied.index(library) < applied.index(own)
    assert recorded == sorted(applied)


async def test_each_schema_gets_its_own_tables(database_dsn: str) -> None:
    ruler, ingestion = _schema(), _schema()
    await migrate(database_dsn, ruler, "regua_ruler")
    await migrate(database_dsn, ingestion, "regua_ingestion")
    ruler_tables, ingestion_tables = await _tables(database_dsn, ruler), await _tables(database_dsn, ingestion)
    assert {"outbox", "processed_events"} <= ruler_tables & ingestion_tables
    assert "cases" in ruler_tables and "cases" not in ingestion_tables
    assert "invoices" in ingestion_tables and "invoices" not in ruler_tables
    # Nothing leaked into the default schema.
    assert "outbox" not in await _tables(database_dsn, "public")


async def test_concurrent_runs_apply_each_file_once(database_dsn: str) -> None:
    schema = _schema()
    results = await asyncio.gather(*(migrate(database_dsn, schema, "regua_ruler") for _ in range(4)))
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(_shipped("regua_ruler"))
    assert sorted(len(r) for r in results) == [0, 0, 0, len(_shipped("regua_ruler"))]
