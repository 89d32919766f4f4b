"""A debtor's own words at rest (real PostgreSQL): an entry's detail is stored encrypted under the debtor's data
key, read back in the history and the access export, unreadable once the key is shredded; entries written
before encryption are encrypted at start-up."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from regua_contact_history import store
from regua_contact_history.domain import entry
from regua_contracts.contacts import DebtorReplied
from regua_contracts.privacy import DebtorRef
from regua_localstack.testing import migrated_pool, scratch_database
from regua_platform import pii
from regua_platform.pii import Keyring
from regua_platform.privacy import debtor_subject

KEYRING = Keyring({"k": b"k" * 32}, b"i")
TEXT = "Meu CPF é 529.982.247-25, liguem no 11 98765-4321"
DEBTOR = DebtorRef(tenant_id="acme", debtor_id=uuid.uuid4())


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_database("regua_contact_history_pii") as dsn, \
            migrated_pool(dsn, "regua_contact_history") as p:
        yield p


def _reply() -> DebtorReplied:
    return DebtorReplied(occurred_at=datetime.now(UTC), tenant_id=DEBTOR.tenant_id, debtor_id=DEBTOR.debtor_id,
                         channel="sms", text=TEXT, received_at=datetime.now(UTC))


async def _dump(pool: asyncpg.Pool) -> str:
    text: str = await pool.fetchval("SELECT coalesce(string_agg(c::text, '|'), '') FROM contacts c")
    return text


async def test_a_reply_is_encrypted_read_back_and_shredded(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.add_entries(conn, KEYRING, [entry(_reply())])
    assert "529.982.247-25" not in await _dump(pool) and "Meu CPF" not in await _dump(pool)
    [shown] = await store.page(pool, KEYRING, DEBTOR.tenant_id, DEBTOR.debtor_id, None, 10)
    assert shown["detail"] == {"text": TEXT}
    async with pool.acquire() as conn:
        export = await store.export_contacts(conn, KEYRING, [DEBTOR])
        assert [c["detail"] for c in export["contacts"]] == [{"text": TEXT}]
        await pii.shred(conn, [debtor_subject(DEBTOR)])
    [shown] = await store.page(pool, KEYRING, DEBTOR.tenant_id, DEBTOR.debtor_id, None, 10)
    assert shown["detail"] == {}


async def test_entries_written_before_encryption_are_encrypted(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO contacts (event_id, tenant_id, debtor_id, at, kind, channel, outcome, detail) "
                       "VALUES ($1, $2, $3, now(), 'reply', 'sms', 'replied', $4::jsonb)", uuid.uuid4(),
                       DEBTOR.tenant_id, DEBTOR.debtor_id, json.dumps({"text": TEXT}))
    assert "Meu CPF" in await _dump(pool)
    assert await store.encrypt_legacy(pool, KEYRING) == 1
    assert "Meu CPF" not in await _dump(pool)
    [shown] = await store.page(pool, KEYRING, DEBTOR.tenant_id, DEBTOR.debtor_id, None, 10)
    assert shown["detail"] == {"text": TEXT}
