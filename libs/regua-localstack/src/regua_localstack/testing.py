"""Scratch PostgreSQL for integration tests: one throw-away database per session, one migrated schema per
test. The server comes from REGUA_TEST_POSTGRES_DSN (default 127.0.0.1:5432)."""

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

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
