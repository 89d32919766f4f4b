"""Integration fixtures: one throw-away PostgreSQL database per session, a fresh credit schema per test."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from regua_localstack.testing import migrated_pool, scratch_database


@pytest.fixture(scope="session")
async def credit_database() -> AsyncIterator[str]:
    async with scratch_database("regua_credit_test") as dsn:
        yield dsn


@pytest.fixture
async def credit_pool(credit_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema migrated by the credit service's own migrations."""
    async with migrated_pool(credit_database, "regua_credit") as pool:
        yield pool
