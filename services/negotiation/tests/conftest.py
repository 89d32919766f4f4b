"""Integration fixtures: one throw-away PostgreSQL database per session, a fresh negotiation schema per test."""

import os
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from regua_platform.db import create_pool
from regua_platform.migrations import migrate

SERVER_DSN = os.environ.get("REGUA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def negotiation_database() -> AsyncIterator[str]:
    name = f"regua_negotiation_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_with_database(SERVER_DSN, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(SERVER_DSN, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def negotiation_pool(negotiation_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema migrated by the negotiation service's own migrations."""
    schema = f"n_{uuid.uuid4().hex[:12]}"
    await migrate(negotiation_database, schema, "regua_negotiation")
    pool = await create_pool(negotiation_database, schema, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()
