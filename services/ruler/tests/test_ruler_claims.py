"""Claiming due steps against a real PostgreSQL: paused cases never starve the others, an exhausted case
still answers a request for offers, and a case a writer holds is left to it."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from regua_contracts.common import Creditor
from regua_contracts.contacts import Recipient
from regua_localstack.testing import migrated_pool, scratch_database
from regua_ruler.domain.planning import PlannedStep
from regua_ruler.store import cases

NOW = datetime(2027, 3, 10, 13, tzinfo=UTC)
TENANT = "t-claims"
RECIPIENT = Recipient(debtor_id=uuid.uuid4(), name="Ana Souza", email="ana@example.com")
CREDITOR = Creditor(name="Loja Exemplo Ltda", cnpj="11222333000181", address="Rua A, 1")


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_database("regua_ruler_claims_test") as dsn, migrated_pool(dsn, "regua_ruler") as migrated:
        yield migrated


async def open_case(conn: asyncpg.Connection, steps: int, status: str = "active") -> uuid.UUID:
    invoice_id = uuid.uuid4()
    planned = [PlannedStep(f"D+{n}", 0, ("email",), "notice", "informative", n, NOW - timedelta(hours=steps - n),
                           "pending") for n in range(steps)]
    await cases.insert_case(conn, cases.NewCase(
        invoice_id=invoice_id, tenant_id=TENANT, debtor_id=uuid.uuid4(), ruler="default", version=1,
        segment="all", variant="champion", behaviour="unknown", score_band="unknown", profile_fallback=False,
        amount_cents=10_000, due_date=date(2027, 3, 1), recipient=RECIPIENT.model_dump_json(),
        creditor=CREDITOR.model_dump_json(), invoice="{}", tags=[], opened_at=NOW - timedelta(days=30)), planned)
    if status == "paused":
        await cases.pause_cases(conn, [invoice_id], "agreement", None, NOW)
    elif status == "exhausted":
        await conn.execute("UPDATE cases SET status = 'exhausted' WHERE invoice_id = $1", invoice_id)
    return invoice_id


async def claimed(pool: asyncpg.Pool, limit: int) -> set[uuid.UUID]:
    async with pool.acquire() as conn, conn.transaction():
        return {r["invoice_id"] for r in await cases.claim_due(conn, NOW, limit)}


async def test_paused_cases_full_of_due_steps_do_not_starve_the_others(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for _ in range(5):  # 5 x 10 due steps, older than any other, all held by agreements
            await open_case(conn, 10, "paused")
        waiting = await open_case(conn, 1)
    assert await claimed(pool, 1) == {waiting}  # a window of 4 steps per debtor would hold only paused ones


async def test_an_exhausted_case_fires_only_its_answer(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        exhausted = await open_case(conn, 1, "exhausted")
        assert await claimed(pool, 10) == set()
        debtor_id = await conn.fetchval("SELECT debtor_id FROM cases WHERE invoice_id = $1", exhausted)
        added = await cases.add_answer_step(conn, TENANT, debtor_id, "answer:0123456789ab", ["whatsapp"],
                                            "negotiation", NOW, NOW.date(), timedelta(hours=1))
        assert added == exhausted
        again = await cases.add_answer_step(conn, TENANT, debtor_id, "answer:ba9876543210", ["whatsapp"],
                                            "negotiation", NOW, NOW.date(), timedelta(hours=1))
        assert again is None  # one answer pending is enough
    async with pool.acquire() as conn, conn.transaction():
        rows = await cases.claim_due(conn, NOW, 10)
    assert [(r["invoice_id"], r["step_key"]) for r in rows] == [(exhausted, "answer:0123456789ab")]


async def test_a_case_a_writer_holds_is_left_to_it(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        held = await open_case(conn, 2)
        free = await open_case(conn, 2)
    async with pool.acquire() as writer, writer.transaction():
        await writer.execute("SELECT 1 FROM cases WHERE invoice_id = $1 FOR UPDATE", held)  # e.g. a payment
        assert await claimed(pool, 10) == {free}
