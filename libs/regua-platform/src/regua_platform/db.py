"""The one asyncpg pool helper: every connection of a service lives in that service's own schema."""

from collections.abc import Awaitable, Callable

import asyncpg

#: Database failures a background loop or a consumer outlives: the server or the network away, the server
#: starting up or shutting down ("the database system is starting up"), or a lock conflict PostgreSQL broke by
#: rolling one transaction back whole, or asyncpg's pool caught mid-outage (InternalClientError, seen when the
#: server stopped under load). No record is to blame: retry the whole unit of work.
RETRYABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.DeadlockDetectedError,
             asyncpg.SerializationError, asyncpg.exceptions.OperatorInterventionError,
             asyncpg.exceptions.InternalClientError)


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"regua-{schema}"},
    )
    assert pool is not None
    return pool


async def ensure_database(dsn: str) -> None:
    """Creates the database named in ``dsn`` when missing (local runs, tests)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    name = parts.path.lstrip("/") or "postgres"
    admin = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def each_schema_holding(dsn: str, table: str, schemas: list[str],
                              work: Callable[[asyncpg.Connection], Awaitable[int]]) -> dict[str, int]:
    """Runs ``work`` with the search path on each named schema, or on every schema holding ``table`` (operator
    commands that act on all services' tables at once: PII key rotation, the broker rebuild); its count per
    schema."""
    conn = await asyncpg.connect(dsn)
    try:
        if not schemas:
            schemas = [r["table_schema"] for r in await conn.fetch(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = $1 ORDER BY 1", table)]
        counts = {}
        for schema in schemas:
            await conn.execute(f'SET search_path TO "{schema}"')
            counts[schema] = await work(conn)
        return counts
    finally:
        await conn.close()
