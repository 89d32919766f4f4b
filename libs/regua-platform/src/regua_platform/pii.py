"""PII at rest: envelope encryption with per-person data keys, keyed hashes for lookups, crypto-shredding.

Each subject (a person, or a debtor of one creditor where a service knows no more) gets a random AES-256-GCM
data key, stored in the schema's ``pii_keys`` table only wrapped by a key-encryption key (KEK) from
``REGUA_PII_KEKS`` (``id:base64,...``; the first is the active one). Rotating the KEK re-wraps the data keys,
never the data: ``python -m regua_platform.pii rotate`` (keep the old KEK listed until it has run).
Deleting a subject's data key (``shred``) leaves every value encrypted under it unreadable. Lookups by
document go through ``Keyring.blind_index`` (HMAC-SHA256 under ``REGUA_PII_INDEX_KEY``), never clear text.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from regua_platform.db import each_schema_holding
from regua_platform.settings import Settings

_VERSION = b"\x01"
_NONCE = 12


class KeyUnavailable(Exception):
    """The subject's data key was shredded, or is wrapped by a KEK this process does not have."""


def parse_keks(spec: str) -> dict[str, bytes]:
    """``id:base64(32 bytes),...`` in order, the active KEK first."""
    keks: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kek_id, _, encoded = item.partition(":")
        key = base64.b64decode(encoded, validate=True)
        if not kek_id or len(key) != 32:
            raise ValueError("REGUA_PII_KEKS: each entry is id:base64 of 32 bytes")
        keks[kek_id] = key
    if not keks:
        raise ValueError("REGUA_PII_KEKS: at least one key-encryption key is needed")
    return keks


class Keyring:
    """The KEKs this process holds and the blind-index key. Pure: no I/O."""

    def __init__(self, keks: dict[str, bytes], index_key: bytes) -> None:
        self._keks = dict(keks)
        self.active = next(iter(keks))
        self._index_key = index_key

    @classmethod
    def from_settings(cls, settings: Settings) -> "Keyring":
        return cls(parse_keks(settings.pii_keks), settings.pii_index_key.encode())

    def blind_index(self, value: str) -> bytes:
        """A keyed hash for equality lookups (a document), useless without the index key."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).digest()

    def wrap(self, subject: str, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE)
        aad = f"{self.active}|{subject}".encode()
        return self.active, nonce + AESGCM(self._keks[self.active]).encrypt(nonce, data_key, aad)

    def unwrap(self, subject: str, kek_id: str, wrapped: bytes) -> bytes:
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyUnavailable(f"KEK {kek_id!r} is not configured")
        return AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], f"{kek_id}|{subject}".encode())


@dataclass(frozen=True)
class DataKey:
    subject: str
    key: bytes

    def encrypt(self, value: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + AESGCM(self.key).encrypt(nonce, value.encode(), self.subject.encode())

    def decrypt(self, blob: bytes) -> str:
        blob = bytes(blob)
        if blob[:1] != _VERSION:
            raise ValueError("unknown PII ciphertext version")
        try:
            plain = AESGCM(self.key).decrypt(blob[1:1 + _NONCE], blob[1 + _NONCE:], self.subject.encode())
        except InvalidTag as exc:
            raise KeyUnavailable("ciphertext does not belong to this subject's key") from exc
        return plain.decode()

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, ensure_ascii=False))

    def decrypt_json(self, blob: bytes) -> Any:
        return json.loads(self.decrypt(blob))


async def data_keys(conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring, subjects: Iterable[str], *,
                    create: bool = False) -> dict[str, DataKey]:
    """The data keys of ``subjects`` (made on first use when ``create``); shredded ones are absent."""
    wanted = sorted(set(subjects))
    found = await _load(conn, keyring, wanted)
    missing = [s for s in wanted if s not in found]
    if create and missing:
        made = [(s, *keyring.wrap(s, AESGCM.generate_key(bit_length=256))) for s in missing]
        await conn.execute(
            "INSERT INTO pii_keys (subject, kek_id, wrapped_key) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) ON CONFLICT (subject) DO NOTHING",
            [m[0] for m in made], [m[1] for m in made], [m[2] for m in made])
        found.update(await _load(conn, keyring, missing))  # a concurrent writer's key wins
    return found


async def _load(conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring, subjects: list[str]) -> dict[str, DataKey]:
    rows = await conn.fetch("SELECT subject, kek_id, wrapped_key FROM pii_keys WHERE subject = ANY($1::text[])",
                            subjects)
    return {r["subject"]: DataKey(r["subject"], keyring.unwrap(r["subject"], r["kek_id"], bytes(r["wrapped_key"])))
            for r in rows}


async def data_key(conn: asyncpg.Connection | asyncpg.Pool, keyring: Keyring, subject: str, *,
                   create: bool = False) -> DataKey:
    found = await data_keys(conn, keyring, [subject], create=create)
    if subject not in found:
        raise KeyUnavailable("the subject's data key was shredded")
    return found[subject]


async def encrypt_in_place(pool: asyncpg.Pool, keyring: Keyring, *, select: str, update: str,
                           subject: Callable[[asyncpg.Record], str], batch: int = 1000) -> int:
    """Encrypts rows written before a column was encrypted, a batch per transaction: ``select`` returns at most
    $1 rows still in clear as (id, clear text) locked FOR UPDATE SKIP LOCKED, plus what ``subject`` needs;
    ``update`` gets $1 = id, $2 = ciphertext. Returns how many rows it encrypted."""
    changed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(select, batch)
            keys = await data_keys(conn, keyring, {subject(r) for r in rows}, create=True)
            await conn.executemany(update, [(r[0], keys[subject(r)].encrypt(r[1])) for r in rows])
        changed += len(rows)
        if len(rows) < batch:
            return changed


async def shred(conn: asyncpg.Connection, subjects: Iterable[str]) -> int:
    """Crypto-shredding: deletes the data keys; what was encrypted under them can never be read again."""
    deleted = await conn.fetch("DELETE FROM pii_keys WHERE subject = ANY($1::text[]) RETURNING subject",
                               sorted(set(subjects)))
    return len(deleted)


async def rotate(conn: asyncpg.Connection, keyring: Keyring, *, batch: int = 1000) -> int:
    """Re-wraps every data key not under the active KEK with it; the data is not touched. Returns how many."""
    done = 0
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT subject, kek_id, wrapped_key FROM pii_keys WHERE kek_id <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
                keyring.active, batch)
            if not rows:
                return done
            rewrapped = [(r["subject"], *keyring.wrap(
                r["subject"], keyring.unwrap(r["subject"], r["kek_id"], bytes(r["wrapped_key"])))) for r in rows]
            await conn.execute(
                "UPDATE pii_keys k SET kek_id = t.kek_id, wrapped_key = t.wrapped, rewrapped_at = now() "
                "FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(subject, kek_id, wrapped) "
                "WHERE k.subject = t.subject",
                [r[0] for r in rewrapped], [r[1] for r in rewrapped], [r[2] for r in rewrapped])
            done += len(rows)


async def _rotate_all(settings: Settings, schemas: list[str]) -> dict[str, int]:
    keyring = Keyring.from_settings(settings)
    return await each_schema_holding(settings.database_url, "pii_keys", schemas, lambda conn: rotate(conn, keyring))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regua_platform.pii", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rotate_cmd = commands.add_parser("rotate", help="re-wrap every data key with the active KEK (the first of "
                                                    "REGUA_PII_KEKS)")
    rotate_cmd.add_argument("--schema", action="append", default=[],
                            help="a service schema (repeatable); default: every schema holding pii_keys")
    args = parser.parse_args(argv)
    counts = asyncio.run(_rotate_all(Settings(), args.schema))
    for schema, count in counts.items():
        print(f"{schema}: {count} data keys re-wrapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
