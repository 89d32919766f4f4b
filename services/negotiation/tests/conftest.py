"""Integration fixtures: one throw-away PostgreSQL database per session, a fresh negotiation schema per test."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from regua_localstack.testing import migrated_pool, scratch_database


@pytest.fixture(scope="session")
async def negotiation_database() -> AsyncIterator[str]:
    async with scratch_database("regua_negotiation_test") as dsn:
        yield dsn


@pytest.fixture
async def negotiation_pool(negotiation_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema migrated by the negotiation service's own migrations."""
    async with migrated_pool(negotiation_database, "regua_negotiation") as pool:
        yield pool
