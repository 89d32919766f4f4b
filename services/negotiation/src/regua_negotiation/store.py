"""Queries of the ``negotiation`` schema. Every query about a debtor is scoped by tenant."""

import json
from datetime import date, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from regua_contracts.invoices import InvoiceRegistered
from regua_contracts.privacy import DebtorRef
from regua_finance import days_late, is_consumer_document
from regua_negotiation.domain.agreements import Installment
from regua_negotiation.domain.debt import Debt
from regua_negotiation.domain.offers import OfferMenu
from regua_negotiation.domain.policy import NegotiationPolicy
from regua_platform import pii
from regua_platform.pii import Keyring
from regua_platform.privacy import debtor_subject
from regua_platform.tenants import Tenant

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


# --- policies -------------------------------------------------------------------------------------------
async def save_policy(conn: Conn, tenant_id: str, policy: NegotiationPolicy) -> int:
    version: int = await conn.fetchval(
        "INSERT INTO policies (tenant_id, version, definition) SELECT $1, coalesce(max(version), 0) + 1, $2 "
        "FROM policies WHERE tenant_id = $1 RETURNING version", tenant_id, policy.model_dump_json())
    return version


async def current_policy(conn: Conn, tenant_id: str) -> tuple[int, NegotiationPolicy, list[dict[str, Any]]]:
    """The newest version (0 and the defaults when the tenant never saved one) and the version list."""
    rows = await conn.fetch("SELECT version, definition, created_at FROM policies WHERE tenant_id = $1 "
                            "ORDER BY version", tenant_id)
    versions = [{"version": r["version"], "created_at": r["created_at"].isoformat()} for r in rows]
    if not rows:
        return 0, NegotiationPolicy(), versions
    return rows[-1]["version"], NegotiationPolicy.model_validate_json(rows[-1]["definition"]), versions


# --- invoices (read model) ------------------------------------------------------------------------------
async def add_invoice(conn: asyncpg.Connection, keyring: Keyring, e: InvoiceRegistered) -> None:
    """The debtor's name and contacts are stored encrypted under the debtor's data key (no document)."""
    inv = e.invoice
    debtor = {"name": inv.debtor.name, "email": inv.debtor.email, "phone": inv.debtor.phone,
              "state": inv.debtor.state}
    key = await pii.data_key(conn, keyring, debtor_subject(DebtorRef(tenant_id=e.tenant_id, debtor_id=e.debtor_id)),
                             create=True)
    await conn.execute(
        "INSERT INTO invoices (invoice_id, tenant_id, debtor_id, external_id, amount_cents, outstanding_cents, "
        "due_date, status, debtor, creditor, consumer, state, debtor_enc) "
        "VALUES ($1, $2, $3, $4, $5, $5, $6, 'open', '{}', $7, $8, $9, $10) ON CONFLICT (invoice_id) DO NOTHING",
        e.invoice_id, e.tenant_id, e.debtor_id, inv.external_id, inv.amount_cents, inv.due_date,
        e.creditor.model_dump_json(), is_consumer_document(inv.debtor.document), inv.debtor.state,
        key.encrypt_json(debtor))


async def known_invoices(conn: Conn, tenant_id: str, invoice_ids: list[UUID]) -> int:
    known: int = await conn.fetchval("SELECT count(*) FROM invoices WHERE tenant_id = $1 "
                                     "AND invoice_id = ANY($2::uuid[])", tenant_id, invoice_ids)
    return known


async def invoices_by_id(conn: Conn, invoice_ids: list[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT invoice_id, external_id, outstanding_cents, due_date FROM invoices "
                                 "WHERE invoice_id = ANY($1::uuid[]) ORDER BY due_date, external_id", invoice_ids))


async def record_payment(conn: Conn, invoice_id: UUID, outstanding: int, paid_on: date) -> None:
    """The invoice's outstanding amount after a payment; settled (paid) at zero, late when paid after its
    effective due date (weekends and holidays move it: regua_finance)."""
    row = await conn.fetchrow("SELECT due_date, state FROM invoices WHERE invoice_id = $1",
                              invoice_id)
    late = row is not None and days_late(row["due_date"], paid_on, row["state"]) > 0
    await conn.execute(
        "UPDATE invoices SET outstanding_cents = $2::bigint, "
        "status = CASE WHEN $2::bigint = 0 THEN 'paid' ELSE status END, "
        "paid_late = CASE WHEN $2::bigint = 0 THEN $3::boolean ELSE paid_late END WHERE invoice_id = $1",
        invoice_id, outstanding, late)


async def cancel_invoice(conn: Conn, invoice_id: UUID) -> str | None:
    """Marks the invoice cancelled; its external id (None for an invoice never seen)."""
    external_id: str | None = await conn.fetchval(
        "UPDATE invoices SET status = 'cancelled' WHERE invoice_id = $1 RETURNING external_id", invoice_id)
    return external_id


async def open_debts(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[Debt]:
    """Open invoices of the debtor that no active agreement covers, not under dispute and not waiting for a
    promise to pay (collection of it is paused: no message may name it)."""
    rows = await conn.fetch(
        "SELECT invoice_id, external_id, outstanding_cents, due_date, consumer, state "
        "FROM invoices i "
        "WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' AND outstanding_cents > 0 AND NOT EXISTS "
        "(SELECT 1 FROM agreements a WHERE a.tenant_id = $1 AND a.status = 'active' "
        " AND i.invoice_id = ANY(a.invoice_ids)) "
        "AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.invoice_id = i.invoice_id) "
        "AND NOT EXISTS (SELECT 1 FROM promised_invoices p WHERE p.invoice_id = i.invoice_id) "
        "ORDER BY due_date, external_id", tenant_id, debtor_id)
    return [Debt(str(r["invoice_id"]), r["external_id"], r["outstanding_cents"], r["due_date"], r["consumer"],
                 r["state"]) for r in rows]


async def history(conn: Conn, tenant_id: str, debtor_id: UUID, today: date) -> tuple[int, int]:
    """(on time, late) as regua_finance judges them: invoices paid by their effective due date; invoices paid
    after it or open and past it today. Cancelled invoices and open ones not yet due are not judged."""
    rows = await conn.fetch("SELECT status, paid_late, due_date, state FROM invoices "
                            "WHERE tenant_id = $1 AND debtor_id = $2 AND status <> 'cancelled'", tenant_id, debtor_id)
    on_time = late = 0
    for r in rows:
        if r["status"] == "paid":
            late += bool(r["paid_late"])
            on_time += not r["paid_late"]
        elif days_late(r["due_date"], today, r["state"]) > 0:
            late += 1
    return on_time, late


async def debtor_and_creditor(conn: Conn, keyring: Keyring, tenant_id: str,
                              debtor_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    row = await conn.fetchrow("SELECT debtor, debtor_enc, creditor FROM invoices WHERE tenant_id = $1 "
                              "AND debtor_id = $2 ORDER BY due_date DESC LIMIT 1", tenant_id, debtor_id)
    if row is None:
        return {}, {}
    return await _debtor(conn, keyring, tenant_id, debtor_id, row), json.loads(row["creditor"])


async def _debtor(conn: Conn, keyring: Keyring, tenant_id: str, debtor_id: UUID,
                  row: asyncpg.Record) -> dict[str, Any]:
    if row["debtor_enc"] is None:  # written before encryption, until start-up encrypts it
        debtor: dict[str, Any] = json.loads(row["debtor"])
        return debtor
    subject = debtor_subject(DebtorRef(tenant_id=tenant_id, debtor_id=debtor_id))
    key = (await pii.data_keys(conn, keyring, [subject])).get(subject)
    return key.decrypt_json(row["debtor_enc"]) if key else {"erased": True}


async def lock_debtor(conn: Conn, tenant_id: str, debtor_id: UUID) -> None:
    """Serializes offer making and acceptance per debtor until the transaction ends (two clicks, two
    agents or a reply and a click never make two agreements or two menus)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"negotiation:{tenant_id}:{debtor_id}")


# --- offers ---------------------------------------------------------------------------------------------
async def open_offers(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM offers WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' "
                                 "ORDER BY installments", tenant_id, debtor_id))


async def last_offers(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[asyncpg.Record]:
    """The debtor's most recently made menu, whatever its status now."""
    return list(await conn.fetch(
        "SELECT * FROM offers WHERE tenant_id = $1 AND debtor_id = $2 AND created_at = "
        "(SELECT max(created_at) FROM offers WHERE tenant_id = $1 AND debtor_id = $2) ORDER BY installments",
        tenant_id, debtor_id))


async def supersede_offers(conn: Conn, tenant_id: str, debtor_id: UUID) -> None:
    await conn.execute("UPDATE offers SET status = 'superseded' WHERE tenant_id = $1 AND debtor_id = $2 "
                       "AND status = 'open'", tenant_id, debtor_id)


async def add_offers(conn: Conn, tenant_id: str, debtor_id: UUID, invoice_ids: list[UUID], menu: OfferMenu,
                     policy_version: int, now: datetime, ids: list[UUID], today: date) -> None:
    u = menu.updated
    await conn.executemany(
        "INSERT INTO offers (offer_id, tenant_id, debtor_id, invoice_ids, installments, total_cents, amounts, "
        "due_dates, discount_cents, undiscounted_cents, policy_version, expires_on, status, created_at, "
        "principal_cents, fine_cents, interest_cents, as_of) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15, $16, $17)",
        [(offer_id, tenant_id, debtor_id, invoice_ids, o.installments, o.total_cents, o.amounts, o.due_dates,
          o.discount_cents, u.total_cents, policy_version, menu.expires_on, now, u.principal_cents, u.fine_cents,
          u.interest_cents, today)
         for offer_id, o in zip(ids, menu.options, strict=True)])


async def offer(conn: Conn, tenant_id: str, offer_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM offers WHERE tenant_id = $1 AND offer_id = $2" + (" FOR UPDATE" if for_update else ""),
        tenant_id, offer_id)
    return row


async def mark_accepted(conn: Conn, offer: asyncpg.Record) -> None:
    await supersede_offers(conn, offer["tenant_id"], offer["debtor_id"])
    await conn.execute("UPDATE offers SET status = 'accepted' WHERE offer_id = $1", offer["offer_id"])


# --- agreements -----------------------------------------------------------------------------------------
async def add_agreement(conn: Conn, agreement_id: UUID, offer: asyncpg.Record, policy: NegotiationPolicy, via: str,
                        now: datetime, installments: list[tuple[Installment, str, str]]) -> None:
    await conn.execute(
        "INSERT INTO agreements (agreement_id, tenant_id, debtor_id, offer_id, invoice_ids, total_cents, "
        "undiscounted_cents, tolerance_days, revoke_on_break, accepted_via, status, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11)",
        agreement_id, offer["tenant_id"], offer["debtor_id"], offer["offer_id"], offer["invoice_ids"],
        offer["total_cents"], offer["undiscounted_cents"], policy.break_tolerance_days,
        policy.revoke_discounts_on_break, via, now)
    await conn.executemany(
        "INSERT INTO installments (agreement_id, number, amount_cents, due_date, txid, pix_payload) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(agreement_id, i.number, i.amount_cents, i.due_date, txid, pix) for i, txid, pix in installments])


async def agreement(conn: Conn, tenant_id: str, agreement_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM agreements WHERE tenant_id = $1 AND agreement_id = $2", tenant_id, agreement_id)
    return row


async def agreements_of(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM agreements WHERE tenant_id = $1 AND debtor_id = $2 "
                                 "ORDER BY created_at DESC", tenant_id, debtor_id))


async def active_agreement_of_invoice(conn: Conn, invoice_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM agreements WHERE status = 'active' AND $1 = ANY(invoice_ids) FOR UPDATE", invoice_id)
    return row


async def installments(conn: Conn, agreement_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM installments WHERE agreement_id = $1 ORDER BY number",
                                 agreement_id))


async def save_paid(conn: Conn, agreement_id: UUID, plan: list[Installment]) -> None:
    await conn.executemany("UPDATE installments SET paid_cents = $3 WHERE agreement_id = $1 AND number = $2",
                           [(agreement_id, i.number, i.paid_cents) for i in plan])


async def close_agreement(conn: Conn, agreement_id: UUID, status: str, now: datetime, reason: str | None = None,
                          balance_cents: int | None = None) -> None:
    await conn.execute("UPDATE agreements SET status = $2, closed_at = $3, reason = $4, balance_cents = $5 "
                       "WHERE agreement_id = $1", agreement_id, status, now, reason, balance_cents)


async def late_candidates(conn: Conn, today: date) -> list[asyncpg.Record]:
    """Active agreements with an unpaid installment past due beyond their tolerance, locked, skipping others'."""
    return list(await conn.fetch(
        "SELECT a.* FROM agreements a WHERE a.status = 'active' AND EXISTS (SELECT 1 FROM installments i "
        "WHERE i.agreement_id = a.agreement_id AND i.paid_cents < i.amount_cents "
        "AND i.due_date + a.tolerance_days < $1) LIMIT 500 FOR UPDATE SKIP LOCKED", today))


async def supersede_offers_of_invoice(conn: Conn, invoice_id: UUID) -> None:
    """Withdraws the open offers that cover an invoice (its amount or standing changed): they are made afresh."""
    await conn.execute("UPDATE offers SET status = 'superseded' WHERE status = 'open' AND $1 = ANY(invoice_ids)",
                       invoice_id)


async def latest_closed_agreement_of_invoice(conn: Conn, invoice_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM agreements WHERE status IN ('broken', 'cancelled') AND $1 = ANY(invoice_ids) "
        "ORDER BY closed_at DESC NULLS LAST LIMIT 1 FOR UPDATE", invoice_id)
    return row


async def record_paid_after_close(conn: Conn, agreement_id: UUID, amount_cents: int, plan: list[Installment],
                                  balance_cents: int | None) -> None:
    await save_paid(conn, agreement_id, plan)
    await conn.execute("UPDATE agreements SET paid_after_close_cents = paid_after_close_cents + $2, "
                       "balance_cents = $3 WHERE agreement_id = $1", agreement_id, amount_cents, balance_cents)


# --- promises to pay (read model of regua.cases.v1) -----------------------------------------------------
async def set_promised(conn: Conn, invoice_id: UUID, promised: bool, since: datetime) -> None:
    if promised:
        await conn.execute("INSERT INTO promised_invoices (invoice_id, since) VALUES ($1, $2) "
                           "ON CONFLICT (invoice_id) DO NOTHING", invoice_id, since)
    else:
        await conn.execute("DELETE FROM promised_invoices WHERE invoice_id = $1", invoice_id)


# --- disputes (read model of regua.cases.v1) -------------------------------------------------------------
async def open_dispute(conn: Conn, tenant_id: str, invoice_id: UUID, debtor_id: UUID, since: datetime) -> None:
    await conn.execute("INSERT INTO disputes (invoice_id, tenant_id, debtor_id, since) VALUES ($1, $2, $3, $4) "
                       "ON CONFLICT (invoice_id) DO NOTHING", invoice_id, tenant_id, debtor_id, since)
    await supersede_offers_of_invoice(conn, invoice_id)


async def uphold_dispute(conn: Conn, tenant_id: str, invoice_id: UUID, debtor_id: UUID, since: datetime) -> None:
    await conn.execute("INSERT INTO disputes (invoice_id, tenant_id, debtor_id, since, upheld) "
                       "VALUES ($1, $2, $3, $4, true) ON CONFLICT (invoice_id) DO UPDATE SET upheld = true",
                       invoice_id, tenant_id, debtor_id, since)
    await supersede_offers_of_invoice(conn, invoice_id)


async def lift_dispute(conn: Conn, invoice_id: UUID) -> None:
    """Ends a dispute still open (an upheld one stays)."""
    await conn.execute("DELETE FROM disputes WHERE invoice_id = $1 AND NOT upheld", invoice_id)


async def disputed(conn: Conn, tenant_id: str, invoice_ids: list[UUID]) -> list[asyncpg.Record]:
    """Which of these invoices are under dispute, with their external ids."""
    return list(await conn.fetch(
        "SELECT d.invoice_id, i.external_id, d.upheld FROM disputes d LEFT JOIN invoices i USING (invoice_id) "
        "WHERE d.tenant_id = $1 AND d.invoice_id = ANY($2::uuid[]) ORDER BY i.external_id", tenant_id, invoice_ids))


async def disputed_of_debtor(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT d.invoice_id, i.external_id, d.upheld FROM disputes d JOIN invoices i USING (invoice_id) "
        "WHERE d.tenant_id = $1 AND d.debtor_id = $2 AND i.status = 'open' ORDER BY i.external_id",
        tenant_id, debtor_id))


# --- short links ----------------------------------------------------------------------------------------
async def add_short_link(conn: Conn, code: str, token: str, expires_at: datetime, now: datetime) -> None:
    await conn.execute("INSERT INTO short_links (code, token, expires_at, created_at) VALUES ($1, $2, $3, $4)",
                       code, token, expires_at, now)


async def short_link(conn: Conn, code: str) -> str | None:
    token: str | None = await conn.fetchval("SELECT token FROM short_links WHERE code = $1", code)
    return token


async def prune_short_links(conn: Conn, before: datetime) -> int:
    result: str = await conn.execute("DELETE FROM short_links WHERE expires_at < $1", before)
    return int(result.split()[-1])


# --- simulated clock ------------------------------------------------------------------------------------
async def load_simulated_clock(conn: Conn) -> datetime | None:
    value: datetime | None = await conn.fetchval("SELECT now FROM simulated_clock")
    return value


async def save_simulated_clock(conn: Conn, now: datetime) -> None:
    await conn.execute("INSERT INTO simulated_clock (id, now) VALUES (true, $1) "
                       "ON CONFLICT (id) DO UPDATE SET now = greatest(simulated_clock.now, $1)", now)


async def tenant(conn: Conn, tenant_id: str) -> Tenant | None:
    row = await conn.fetchrow("SELECT id, name, cnpj, address FROM known_tenants WHERE id = $1", tenant_id)
    return Tenant(**dict(row)) if row else None
