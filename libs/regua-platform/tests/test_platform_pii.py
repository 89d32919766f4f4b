"""Envelope encryption of PII against real PostgreSQL: the clear value is never in a table, a rotated KEK keeps
the data readable without re-encrypting it, and a shredded data key makes it unreadable for good."""

import asyncio
import base64
import os

import asyncpg
import pytest

from regua_platform import pii
from regua_platform.pii import DataKey, Keyring, KeyUnavailable

CPF = "52998224725"
PHONE = "+5511987654321"


def _kek() -> bytes:
    return os.urandom(32)


def _spec(keks: dict[str, bytes]) -> str:
    return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in keks.items())


async def _store(conn: asyncpg.Connection, key: DataKey) -> None:
    await conn.execute("CREATE TABLE IF NOT EXISTS people (subject text PRIMARY KEY, document_hash bytea, "
                       "contact bytea)")
    await conn.execute("INSERT INTO people VALUES ($1, $2, $3)", key.subject, b"", key.encrypt_json(
        {"document": CPF, "phone": PHONE, "email": "ana.souza@example.com"}))


async def _clear_text_anywhere(conn: asyncpg.Connection) -> list[str]:
    """Every table of the schema, each row as text: where a clear value would show."""
    rows = await conn.fetch(
        "SELECT t.table_name FROM information_schema.tables t WHERE t.table_schema = current_schema()")
    found = []
    for r in rows:
        text = await conn.fetchval(f'SELECT string_agg(x::text, \'|\') FROM "{r["table_name"]}" x')
        if text and any(v in text for v in (CPF, PHONE[3:], "ana.souza")):
            found.append(r["table_name"])
    return found


async def test_the_clear_value_is_in_no_table_and_reads_back(pool: asyncpg.Pool) -> None:
    keyring = Keyring({"k1": _kek()}, b"index-key")
    async with pool.acquire() as conn:
        key = await pii.data_key(conn, keyring, "person-1", create=True)
        await _store(conn, key)
        assert await _clear_text_anywhere(conn) == []
        wrapped = await conn.fetchval("SELECT wrapped_key FROM pii_keys WHERE subject = 'person-1'")
        assert key.key not in bytes(wrapped)  # only the wrapped data key is stored
        blob = await conn.fetchval("SELECT contact FROM people WHERE subject = 'person-1'")
        again = await pii.data_key(conn, keyring, "person-1")
        assert again.decrypt_json(blob)["phone"] == PHONE


async def test_rotation_rewraps_data_keys_and_keeps_data_readable(pool: asyncpg.Pool) -> None:
    old, new = _kek(), _kek()
    async with pool.acquire() as conn:
        key = await pii.data_key(conn, Keyring({"old": old}, b"i"), "person-2", create=True)
        await _store(conn, key)
        blob_before = await conn.fetchval("SELECT contact FROM people")
        rotated = Keyring({"new": new, "old": old}, b"i")
        assert await pii.rotate(conn, rotated) == 1
        assert await pii.rotate(conn, rotated) == 0  # nothing left under the old KEK
        assert await conn.fetchval("SELECT kek_id FROM pii_keys WHERE subject = 'person-2'") == "new"
        # The data was not re-encrypted, and the old KEK is no longer needed to read it.
        assert await conn.fetchval("SELECT contact FROM people") == blob_before
        only_new = Keyring({"new": new}, b"i")
        assert (await pii.data_key(conn, only_new, "person-2")).decrypt_json(blob_before)["document"] == CPF
        with pytest.raises(KeyUnavailable):
            await pii.data_key(conn, Keyring({"old": old}, b"i"), "person-2")


async def test_a_shredded_key_makes_the_data_unreadable(pool: asyncpg.Pool) -> None:
    keyring = Keyring({"k1": _kek()}, b"i")
    async with pool.acquire() as conn:
        key = await pii.data_key(conn, keyring, "person-3", create=True)
        await _store(conn, key)
        other = await pii.data_key(conn, keyring, "person-4", create=True)
        assert await pii.shred(conn, ["person-3"]) == 1
        with pytest.raises(KeyUnavailable):
            await pii.data_key(conn, keyring, "person-3")
        # A new key for the same subject cannot read what the shredded one encrypted.
        fresh = await pii.data_key(conn, keyring, "person-3", create=True)
        with pytest.raises(KeyUnavailable):
            fresh.decrypt(await conn.fetchval("SELECT contact FROM people WHERE subject = 'person-3'"))
        assert (await pii.data_keys(conn, keyring, ["person-4"]))["person-4"] == other


async def test_the_rotate_command_rewraps_every_schema(pool: asyncpg.Pool, database_dsn: str, schema_name: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _kek(), _kek()
    async with pool.acquire() as conn:
        key = await pii.data_key(conn, Keyring({"old": old}, b"i"), "person-5", create=True)
        await _store(conn, key)
    monkeypatch.setenv("REGUA_DATABASE_URL", database_dsn)
    monkeypatch.setenv("REGUA_PII_KEKS", _spec({"new": new, "old": old}))
    assert await asyncio.to_thread(pii.main, ["rotate", "--schema", schema_name]) == 0
    assert f"{schema_name}: 1 data keys re-wrapped" in capsys.readouterr().out
    async with pool.acquire() as conn:
        blob = await conn.fetchval("SELECT contact FROM people")
        assert (await pii.data_key(conn, Keyring({"new": new}, b"i"), "person-5")).decrypt_json(blob)["email"]


def test_blind_index_is_keyed_and_stable() -> None:
    a, b = Keyring({"k": _kek()}, b"index-a"), Keyring({"k": _kek()}, b"index-b")
    assert a.blind_index(CPF) == a.blind_index(CPF)
    assert a.blind_index(CPF) != b.blind_index(CPF)
    assert CPF.encode() not in a.blind_index(CPF)


def test_keks_are_parsed_active_first() -> None:
    spec = _spec({"2026-12": _kek(), "2026-01": _kek()})
    assert list(pii.parse_keks(spec)) == ["2026-12", "2026-01"]
    with pytest.raises(ValueError):
        pii.parse_keks("short:" + base64.b64encode(b"x" * 16).decode())
