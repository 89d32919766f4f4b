"""Idempotent consumers against the real PostgreSQL (integration)."""

import uuid

import asyncpg
import pytest

from regua_platform.inbox import claim_new


class _Rollback(Exception):
    pass


async def test_claims_only_unseen_ids(pool: asyncpg.Pool) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        async with conn.transaction():
            assert await claim_new(conn, "ruler.invoices", [a, b]) == {a, b}
        async with conn.transaction():
            assert await claim_new(conn, "ruler.invoices", [b, c]) == {c}
        async with conn.transaction():
            assert await claim_new(conn, "ruler.invoices", [a, b, c]) == set()


async def test_consumers_are_independent(pool: asyncpg.Pool) -> None:
    a = uuid.uuid4()
    async with pool.acquire() as conn:
        assert await claim_new(conn, "ruler.invoices", [a]) == {a}
        assert await claim_new(conn, "ruler.contacts", [a]) == {a}


async def test_duplicates_within_one_batch_are_claimed_once(pool: asyncpg.Pool) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        assert await claim_new(conn, "c", [a, a, b, a]) == {a, b}
        assert await pool.fetchval("SELECT count(*) FROM processed_events WHERE consumer = 'c'") == 2


async def test_an_empty_batch_claims_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await claim_new(conn, "c", []) == set()


async def test_the_claim_rolls_back_with_the_transaction(pool: asyncpg.Pool) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        with pytest.raises(_Rollback):
            async with conn.transaction():
                assert await claim_new(conn, "c", [a, b]) == {a, b}
                raise _Rollback  # the handler's effects failed
        async with conn.transaction():
            assert await claim_new(conn, "c", [a]) == {a}  # redelivered: processed this time
        assert await claim_new(conn, "c", [a, b]) == {b}
