"""What negotiation holds about a debtor, for LGPD requests (regua_platform.privacy): its rows exported (the
debtor decrypted), contact corrections applied to the encrypted debtor, everything erased with the data key.
Rows written before the debtor was encrypted are encrypted at start-up."""

import json
from typing import Any

import asyncpg

from regua_contracts.privacy import ContactDataCorrected, DebtorRef
from regua_platform import pii
from regua_platform.pii import Keyring
from regua_platform.privacy import PersonalData, PersonalTable, debtor_subject


def _refs(debtors: list[DebtorRef]) -> tuple[list[str], list[Any]]:
    return [d.tenant_id for d in debtors], [d.debtor_id for d in debtors]


async def _invoices(conn: asyncpg.Connection, debtors: list[DebtorRef], lock: str = "") -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT i.invoice_id, i.tenant_id, i.debtor_id, i.debtor, i.debtor_enc, "
        "to_jsonb(i) - 'debtor' - 'debtor_enc' AS row FROM invoices i "
        "JOIN unnest($1::text[], $2::uuid[]) AS d(t, id) ON i.tenant_id = d.t "
        f"AND i.debtor_id = d.id ORDER BY i.due_date{lock}", *_refs(debtors)))


def _subject(row: asyncpg.Record) -> str:
    return debtor_subject(DebtorRef(tenant_id=row["tenant_id"], debtor_id=row["debtor_id"]))


async def export_invoices(conn: asyncpg.Connection, keyring: Keyring,
                          debtors: list[DebtorRef]) -> dict[str, list[dict[str, Any]]]:
    rows = await _invoices(conn, debtors)
    keys = await pii.data_keys(conn, keyring, {_subject(r) for r in rows})
    out = []
    for r in rows:
        row = json.loads(r["row"])
        key = keys.get(_subject(r))
        row["debtor"] = (key.decrypt_json(r["debtor_enc"]) if key and r["debtor_enc"] is not None
                         else json.loads(r["debtor"]))
        out.append(row)
    return {"invoices": out}


async def correct_invoices(conn: asyncpg.Connection, keyring: Keyring, event: ContactDataCorrected) -> None:
    changes = {k: v for k, v in event.changes().items() if k in ("email", "phone", "state")}
    rows = [r for r in await _invoices(conn, event.debtors, " FOR UPDATE OF i") if r["debtor_enc"] is not None]
    keys = await pii.data_keys(conn, keyring, {_subject(r) for r in rows})
    await conn.executemany(
        "UPDATE invoices SET debtor_enc = $2, state = coalesce($3, state) WHERE invoice_id = $1",
        [(r["invoice_id"], keys[_subject(r)].encrypt_json({**keys[_subject(r)].decrypt_json(r["debtor_enc"]),
                                                            **changes}), changes.get("state"))
         for r in rows if _subject(r) in keys])


async def encrypt_legacy(pool: asyncpg.Pool, keyring: Keyring) -> int:
    """Encrypts the debtor of invoices written before it was encrypted; returns how many."""
    return await pii.encrypt_in_place(
        pool, keyring, subject=_subject,
        select="SELECT invoice_id, debtor::text, tenant_id, debtor_id FROM invoices WHERE debtor_enc IS NULL "
               "LIMIT $1 FOR UPDATE SKIP LOCKED",
        update="UPDATE invoices SET debtor = '{}', debtor_enc = $2 WHERE invoice_id = $1")


#: Children before parents.
PERSONAL_DATA = PersonalData(
    "negotiation",
    (PersonalTable("installments", parent=("agreements", "agreement_id")), PersonalTable("agreements"),
     PersonalTable("offers"), PersonalTable("disputes"),
     PersonalTable("promised_invoices", parent=("invoices", "invoice_id")), PersonalTable("invoices", export=False)),
    exporters=(export_invoices,), correctors=(correct_invoices,))
