"""PII at rest in ingestion and the data-subject requests it decides (real PostgreSQL): no table holds a CPF,
phone, e-mail or name in clear; views decrypt; correction rewrites the encrypted debtor; erasure is refused
while a debt is open or the legal retention runs, and shreds the person's key when no basis remains."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from regua_contracts.common import NewInvoice
from regua_ingestion import handlers, privacy_handlers, privacy_store, store
from regua_ingestion.domain import InvoiceStatus
from regua_localstack.testing import migrated_pool, scratch_database
from regua_platform.pii import Keyring
from regua_platform.tenants import Tenant, hash_api_key, upsert_tenant

ACME = Tenant("acme", "Acme Energia Ltda", "11222333000181", "Rua A, 1, São Paulo - SP")
BETA = Tenant("beta", "Beta Escola S.A.", "11444777000161", "Rua B, 2, Salvador - BA")
KEYRING = Keyring({"k1": b"k" * 32}, b"index-key")
CPF, PHONE, EMAIL, NAME = "52998224725", "+5511987654321", "maria.souza@example.com", "Maria Aparecida Souza"
CLEAR = (CPF, "529.982.247-25", PHONE, PHONE[3:], EMAIL, "maria.souza", NAME)


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_database("regua_ingestion_privacy") as dsn, migrated_pool(dsn, "regua_ingestion") as p:
        for tenant in (ACME, BETA):
            await upsert_tenant(p, tenant, hash_api_key(f"key-{tenant.id}"))
        yield p


def _invoice(external_id: str, document: str = CPF) -> NewInvoice:
    return NewInvoice.model_validate({
        "external_id": external_id, "amount_cents": 10_000, "due_date": date(2027, 3, 10),
        "debtor": {"document": document, "name": NAME, "phone": PHONE, "email": EMAIL, "state": "SP"}})


async def _register(pool: asyncpg.Pool, tenant: Tenant, *invoices: NewInvoice) -> list[uuid.UUID]:
    async with pool.acquire() as conn, conn.transaction():
        done = await handlers.register_invoices(conn, KEYRING, tenant, list(invoices))
    return [r.invoice_id for r in done]


async def _tables_with_clear_pii(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Every table of the schema as text, but the outbox (rows live there only until published: the invoice
    topic carries the debtor to the services that contact them)."""
    found: dict[str, list[str]] = {}
    tables = await pool.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                              "current_schema() AND table_name <> 'outbox'")
    for t in tables:
        text = await pool.fetchval(f'SELECT coalesce(string_agg(x::text, \'|\'), \'\') FROM "{t["table_name"]}" x')
        hits = [v for v in CLEAR if v in text]
        if hits:
            found[t["table_name"]] = hits
    return found


async def test_no_table_holds_pii_in_clear_and_views_decrypt(pool: asyncpg.Pool) -> None:
    [invoice_id] = await _register(pool, ACME, _invoice("a-1"))
    async with pool.acquire() as conn, conn.transaction():
        view = await store.invoice_view(conn, KEYRING, ACME.id, invoice_id)
        assert await store.claim_idempotency_key(conn, KEYRING, ACME.id, "idem-1", b"f") is None
        await store.store_idempotent_response(conn, KEYRING, ACME.id, "idem-1", 201, view)
    assert view is not None
    assert (view["debtor"]["document"], view["debtor"]["phone"], view["debtor"]["email"]) == (CPF, PHONE, EMAIL)
    assert await _tables_with_clear_pii(pool) == {}
    async with pool.acquire() as conn, conn.transaction():  # the replay reads back the first response
        assert await store.claim_idempotency_key(conn, KEYRING, ACME.id, "idem-1", b"f") == (b"f", 201, view)
    # Lookups by document go through the keyed hash.
    assert await store.person_by_document(pool, KEYRING, CPF) is not None
    assert await store.person_by_document(pool, Keyring({"k1": b"k" * 32}, b"other-index-key"), CPF) is None


async def test_correction_rewrites_the_encrypted_debtor_and_tells_every_service(pool: asyncpg.Pool) -> None:
    ids = await _register(pool, ACME, _invoice("a-1")) + await _register(pool, BETA, _invoice("b-1"))
    async with pool.acquire() as conn, conn.transaction():
        _, corrected = await privacy_handlers.correct_contact(conn, KEYRING, "dpo@agency", CPF,
                                                              {"phone": "+5521912345678"})
    assert corrected == 2
    for tenant, invoice_id in zip((ACME, BETA), ids, strict=True):
        view = await store.invoice_view(pool, KEYRING, tenant.id, invoice_id)
        assert view is not None and view["debtor"]["phone"] == "+5521912345678"
        assert view["debtor"]["email"] == EMAIL
    event = json.loads(await pool.fetchval("SELECT payload FROM outbox WHERE topic = 'regua.privacy.v1'"))
    assert event["type"] == "contact-data.corrected.v1" and event["phone"] == "+5521912345678"
    assert {d["tenant_id"] for d in event["debtors"]} == {"acme", "beta"}
    log = await pool.fetchrow("SELECT actor, action, detail FROM privacy_access_log")
    assert (log["actor"], log["action"], json.loads(log["detail"])) == ("dpo@agency", "contact-corrected",
                                                                         {"fields": ["phone"]})


async def _erase(pool: asyncpg.Pool, retention_days: int) -> str | None:
    async with pool.acquire() as conn, conn.transaction():
        _, refusal = await privacy_handlers.request_erasure(conn, KEYRING, "dpo@agency", CPF, retention_days)
    return refusal


async def test_erasure_refused_while_a_debt_is_open_or_retained_then_shredded(pool: asyncpg.Pool) -> None:
    [invoice_id] = await _register(pool, ACME, _invoice("a-1"))
    [other_person] = await _register(pool, ACME, _invoice("a-2", "11144477735"))
    refusal = await _erase(pool, 1826)
    assert refusal is not None and refusal.startswith("open debt: 1 invoice(s)")
    async with pool.acquire() as conn, conn.transaction():
        invoice = await store.load_invoice(conn, ACME.id, invoice_id=invoice_id, for_update=True)
        assert invoice is not None
        await handlers.cancel_invoice(conn, ACME, invoice, "paid elsewhere")
    refusal = await _erase(pool, 1826)
    assert refusal is not None and refusal.startswith("legal retention until") and "CDC art. 27" in refusal
    assert await pool.fetchval("SELECT count(*) FROM pii_keys") == 2  # one data key per person

    assert await _erase(pool, 0) is None
    assert await store.invoice_view(pool, KEYRING, ACME.id, invoice_id) is None
    assert await store.person_by_document(pool, KEYRING, CPF) is None
    assert await pool.fetchval("SELECT count(*) FROM pii_keys WHERE subject LIKE 'person:%'") == 1
    other = await store.invoice_view(pool, KEYRING, ACME.id, other_person)
    assert other is not None and other["status"] == InvoiceStatus.OPEN and other["debtor"]["document"] == "11144477735"
    erased = json.loads(await pool.fetchval("SELECT payload FROM outbox WHERE topic = 'regua.privacy.v1'"))
    assert erased["type"] == "person-erasure.requested.v1" and len(erased["debtors"]) == 1
    statuses = await pool.fetch("SELECT status, reason FROM privacy_requests ORDER BY requested_at")
    assert [r["status"] for r in statuses] == ["refused", "refused", "done"]
    assert [r["action"] for r in await pool.fetch("SELECT action FROM privacy_access_log ORDER BY id")] == [
        "erasure-requested"] * 3


async def test_rows_written_before_encryption_are_encrypted_at_start(pool: asyncpg.Pool) -> None:
    person, invoice_id = uuid.uuid4(), uuid.uuid4()
    debtor = {"document": CPF, "name": NAME, "email": EMAIL, "phone": PHONE}
    await pool.execute("INSERT INTO persons (document, person_id) VALUES ($1, $2)", CPF, person)
    await pool.execute(
        "INSERT INTO invoices (id, tenant_id, external_id, debtor_id, amount_cents, due_date, details) "
        "VALUES ($1, 'acme', 'old-1', $2, 500, '2027-01-10', $3::jsonb)", invoice_id, uuid.uuid4(),
        json.dumps({"external_id": "old-1", "debtor": debtor, "description": "", "tags": []}))
    await pool.execute("INSERT INTO idempotency_keys (tenant_id, key, fingerprint, status_code, body) "
                       "VALUES ('acme', 'k', '\\x00', 201, $1::jsonb)", json.dumps({"debtor": debtor}))
    assert set(await _tables_with_clear_pii(pool)) == {"persons", "invoices", "idempotency_keys"}

    assert await privacy_store.encrypt_legacy(pool, KEYRING) == 3
    assert await _tables_with_clear_pii(pool) == {}
    view = await store.invoice_view(pool, KEYRING, "acme", invoice_id)
    assert view is not None and view["debtor"] == debtor
    assert await store.person_by_document(pool, KEYRING, CPF) == person
    [again] = await _register(pool, ACME, _invoice("new-1"))  # the same person is found by its hash
    new_view = await store.invoice_view(pool, KEYRING, "acme", again)
    assert new_view is not None
    assert await pool.fetchval("SELECT person_id FROM invoices WHERE id = $1", again) == person
