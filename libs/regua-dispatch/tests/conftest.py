"""Integration fixtures: one throw-away PostgreSQL database per session, one schema per test, holding the
dispatchers' shared tables (migrated as the SMS dispatcher does)."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from regua_localstack.testing import migrated_pool, scratch_database


@pytest.fixture(scope="session")
async def dispatch_dsn() -> AsyncIterator[str]:
    async with scratch_database("regua_dispatch_test") as dsn:
        yield dsn


@pytest.fixture
async def dispatch_pool(dispatch_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A fresh schema with the dispatchers' shared tables, migrated as the SMS dispatcher does."""
    async with migrated_pool(dispatch_dsn, "regua_dispatch_sms", ["regua_dispatch"]) as pool:
        yield pool
