"""The one migration tool: ordered SQL files per schema, applied once each, under an advisory lock.

A service's files live in ``<package>/migrations/NNN_name.sql``; the platform's own tables (outbox,
processed events) are applied first into every schema, then those of the libraries the service names
(``ServiceSpec.libraries``). Files run with ``search_path`` set to the schema, so they never name it.

``python -m regua_platform.migrations regua_<service>`` migrates that service's schema and exits: the Helm
chart's pre-install/upgrade Job, with the pods started with ``REGUA_MIGRATE_ON_START=false``.
"""

import argparse
import asyncio
import importlib
import logging
from collections.abc import Sequence
from importlib import resources

import asyncpg

from regua_platform.logging import configure_logging
from regua_platform.settings import Settings

log = logging.getLogger(__name__)


def _scripts(package: str) -> list[tuple[str, str]]:
    folder = resources.files(package) / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [(f"{package}:{f.name}", f.read_text(encoding="utf-8")) for f in files]


async def migrate(dsn: str, schema: str, package: str, libraries: Sequence[str] = ()) -> list[str]:
    """Applies pending migrations; returns the names it applied."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"regua-migrate-{schema}")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        applied = []
        scripts = [s for p in ("regua_platform", *libraries, package) for s in _scripts(p)]
        for name, sql in scripts:
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
            log.info("migration applied", extra={"schema": schema, "migration": name})
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"regua-migrate-{schema}")
        await conn.close()


async def migrate_service(module: str, dsn: str) -> list[str]:
    """Migrates the schema of the service whose package is ``module`` (its ``app.SPEC``)."""
    spec = importlib.import_module(f"{module}.app").SPEC
    return await migrate(dsn, spec.schema, spec.package, spec.libraries)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m regua_platform.migrations",
                                     description="Applies a service's pending migrations, then exits.")
    parser.add_argument("module", help="the service's package, e.g. regua_ingestion")
    module = parser.parse_args(argv).module
    settings = Settings()
    configure_logging("migrations", settings.log_level)
    applied = asyncio.run(migrate_service(module, settings.database_url))
    log.info("migrations done", extra={"service": module, "applied": len(applied)})


if __name__ == "__main__":
    main()
