"""`python -m regua_platform.migrations <module>` (the chart's pre-install/upgrade Job) migrates one service's
schema in a real PostgreSQL and exits; run again it applies nothing."""

import os
import subprocess
import sys

import asyncpg

from regua_platform.migrations import migrate_service


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
