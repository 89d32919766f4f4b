"""Negotiation's copy of the debtor at rest (real PostgreSQL): name and contacts encrypted under the debtor's
data key, read back for the self-service page and the access export, corrected in place, unreadable once
shredded; rows written before encryption are encrypted at start-up."""

import json
import uuid
from datetime import UTC, date, datetime

import asyncpg

from regua_contracts.common import Debtor, NewInvoice
from regua_contracts.invoices import InvoiceRegistered
from regua_contracts.privacy import AGENCY, ContactDataCorrected, DebtorRef
from regua_negotiation import privacy, store
from regua_platform import pii
from regua_platform.privacy import debtor_subject

from .test_negotiation_store import KEYRING, TENANT

NAME, EMAIL, PHONE = "Ana Beatriz Souza", "ana.souza@example.com", "+5511987654321"


async def _add(conn: asyncpg.Connection, debtor: DebtorRef) -> None:
    await store.add_invoice(conn, KEYRING, InvoiceRegistered(
        occurred_at=datetime.now(UTC), tenant_id=debtor.tenant_id, invoice_id=uuid.uuid4(), debtor_id=debtor.debtor_id,
        creditor=TENANT.creditor, invoice=NewInvoice(
            external_id="NF-1", amount_cents=10_000, due_date=date(2027, 3, 10),
            debtor=Debtor(document="52998224725", name=NAME, email=EMAIL, phone=PHONE, state="RJ"))))


async def _clear(pool: asyncpg.Pool) -> list[str]:
    dump: str = await pool.fetchval("SELECT coalesce(string_agg(i::text, '|'), '') FROM invoices i")
    return [v for v in (NAME, EMAIL, PHONE[3:], "52998224725") if v in dump]


async def test_the_debtor_is_encrypted_read_corrected_and_shredded(negotiation_pool: asyncpg.Pool) -> None:
    ana = DebtorRef(tenant_id=TENANT.id, debtor_id=uuid.uuid4())
    async with negotiation_pool.acquire() as conn:
        await _add(conn, ana)
        assert await _clear(negotiation_pool) == []
        debtor, creditor = await store.debtor_and_creditor(conn, KEYRING, ana.tenant_id, ana.debtor_id)
        assert (debtor["name"], debtor["phone"], creditor["cnpj"]) == (NAME, PHONE, TENANT.cnpj)
        assert await conn.fetchval("SELECT state FROM invoices") == "RJ"  # holidays and days late still work
        await privacy.correct_invoices(conn, KEYRING, ContactDataCorrected(
            occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=uuid.uuid4(), person_id=uuid.uuid4(),
            debtors=[ana], phone="+55 21 91234-5678", state="SP"))
        [invoice] = (await privacy.export_invoices(conn, KEYRING, [ana]))["invoices"]
        assert invoice["debtor"] == {"name": NAME, "email": EMAIL, "phone": "+5521912345678", "state": "SP"}
        assert invoice["state"] == "SP" and "debtor_enc" not in invoice
        await pii.shred(conn, [debtor_subject(ana)])
        debtor, _ = await store.debtor_and_creditor(conn, KEYRING, ana.tenant_id, ana.debtor_id)
        assert debtor == {"erased": True}


async def test_debtors_written_before_encryption_are_encrypted(negotiation_pool: asyncpg.Pool) -> None:
    ana = DebtorRef(tenant_id=TENANT.id, debtor_id=uuid.uuid4())
    async with negotiation_pool.acquire() as conn:
        await _add(conn, ana)
        await conn.execute("UPDATE invoices SET debtor = $1::jsonb, debtor_enc = NULL",
                           json.dumps({"name": NAME, "email": EMAIL, "phone": PHONE, "state": "RJ"}))
    assert await _clear(negotiation_pool) == [NAME, EMAIL, PHONE[3:]]
    assert await privacy.encrypt_legacy(negotiation_pool, KEYRING) == 1
    assert await _clear(negotiation_pool) == []
    debtor, _ = await store.debtor_and_creditor(negotiation_pool, KEYRING, ana.tenant_id, ana.debtor_id)
    assert debtor["email"] == EMAIL
