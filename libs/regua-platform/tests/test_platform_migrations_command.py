"""`python -m regua_platform.migrations <module>` (the chart's pre-install/upgrade Job) migrates one service's
schema in a real PostgreSQL and exits; run again it applies nothing."""

import os
import subprocess
import sys
import uuid
from dataclasses import replace

import asyncpg

from regua_contact_history.app import SPEC as CONTACT_HISTORY
from regua_platform.migrations import migrate_service
from regua_platform.service import prepare_schema
from regua_platform.settings import Settings


def _run(module: str, dsn: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGUA_DATABASE_URL": dsn, "REGUA_ENVIRONMENT": "local"}
    return subprocess.run([sys.executable, "-m", "regua_platform.migrations", module], env=env,
                          capture_output=True, text=True, timeout=120)


async def _recorded(dsn: str, schema: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(f'SELECT name FROM "{schema}".schema_migrations ORDER BY name')
        return [r["name"] for r in rows]
    finally:
        await conn.close()


async def test_the_command_migrates_the_services_schema_with_its_libraries(database_dsn: str) -> None:
    first = _run("regua_dispatch_sms", database_dsn)
    assert first.returncode == 0, first.stderr
    recorded = await _recorded(database_dsn, "dispatch_sms")
    assert "regua_platform:000_platform.sql" in recorded
    assert any(n.startswith("regua_dispatch:") for n in recorded)  # ServiceSpec.libraries applied too
    assert any(n.startswith("regua_dispatch_sms:") for n in recorded)

    again = _run("regua_dispatch_sms", database_dsn)
    assert again.returncode == 0, again.stderr
    assert await _recorded(database_dsn, "dispatch_sms") == recorded
    assert await migrate_service("regua_dispatch_sms", database_dsn) == []


def test_an_unknown_service_fails() -> None:
    result = _run("regua_nope", "postgresql://postgres@127.0.0.1:5432/postgres")
    assert result.returncode != 0 and "regua_nope" in result.stderr


async def _schema_exists(dsn: str, schema: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1",
                                        schema))
    finally:
        await conn.close()


async def test_a_service_skips_migrating_at_start_when_a_job_does_it(database_dsn: str) -> None:
    schema = f"s_{uuid.uuid4().hex[:12]}"
    spec = replace(CONTACT_HISTORY, schema=schema)
    skipped = Settings(database_url=database_dsn, migrate_on_start=False)
    assert await prepare_schema(spec, skipped) == []
    assert not await _schema_exists(database_dsn, schema)  # start-up left the database alone

    applied = await prepare_schema(spec, Settings(database_url=database_dsn))  # the local default
    assert "regua_platform:000_platform.sql" in applied and any(n.startswith("regua_contact_history:") for n in applied)
    assert await _schema_exists(database_dsn, schema)
