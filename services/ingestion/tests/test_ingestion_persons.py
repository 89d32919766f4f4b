"""The person behind a debtor: one id per CPF/CNPJ across every creditor (real PostgreSQL)."""

import json
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from regua_contracts.common import NewInvoice
from regua_ingestion import handlers
from regua_localstack.testing import migrated_pool, scratch_database
from regua_platform.pii import Keyring
from regua_platform.tenants import Tenant, hash_api_key, upsert_tenant

ACME = Tenant("acme", "Acme Energia Ltda", "11222333000181", "Rua A, 1, São Paulo - SP")
BETA = Tenant("beta", "Beta Escola S.A.", "11444777000161", "Rua B, 2, Salvador - BA")
KEYRING = Keyring({"k1": b"k" * 32}, b"index-key")


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_database("regua_ingestion_test") as dsn, migrated_pool(dsn, "regua_ingestion") as p:
        yield p


def _invoice(external_id: str, document: str) -> NewInvoice:
    return NewInvoice.model_validate({
        "external_id": external_id, "amount_cents": 10_000, "due_date": date(2027, 3, 10),
        "debtor": {"document": document, "name": "Maria Souza", "phone": "+55 11 98765-4321"}})


async def _registered(pool: asyncpg.Pool) -> dict[tuple[str, str], dict[str, str]]:
    rows = await pool.fetch("SELECT payload FROM outbox")
    events = [json.loads(r["payload"]) for r in rows]
    return {(e["tenant_id"], e["invoice"]["external_id"]): e for e in events if e["type"] == "invoice.registered.v1"}


async def test_one_person_across_creditors_and_a_new_person_per_document(pool: asyncpg.Pool) -> None:
    for tenant in (ACME, BETA):
        await upsert_tenant(pool, tenant, hash_api_key(f"key-{tenant.id}"))
    async with pool.acquire() as conn, conn.transaction():
        await handlers.register_invoices(conn, KEYRING, ACME,
                                         [_invoice("a-1", "52998224725"), _invoice("a-2", "11144477735")])
    async with pool.acquire() as conn, conn.transaction():
        await handlers.register_invoices(conn, KEYRING, BETA, [_invoice("b-1", "529.982.247-25")])
    events = await _registered(pool)
    maria_at_acme, other_at_acme, maria_at_beta = events["acme", "a-1"], events["acme", "a-2"], events["beta", "b-1"]
    assert maria_at_acme["person_id"] == maria_at_beta["person_id"]
    assert maria_at_acme["debtor_id"] != maria_at_beta["debtor_id"]  # a debtor is still per creditor
    assert other_at_acme["person_id"] not in (None, maria_at_acme["person_id"])
    # The id is random, not derived from the document: nothing outside ingestion can turn it back into a CPF.
    assert "52998224725" not in maria_at_acme["person_id"].replace("-", "")
    assert await pool.fetchval("SELECT count(*) FROM persons") == 2
