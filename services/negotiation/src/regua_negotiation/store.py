"""Queries of the ``negotiation`` schema. Every query about a debtor is scoped by tenant."""

import json
from datetime import date, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from regua_contracts.invoices import InvoiceRegistered
from regua_negotiation.domain.agreements import Installment
from regua_negotiation.domain.debt import Debt
from regua_negotiation.domain.offers import OfferMenu
from regua_negotiation.domain.policy import NegotiationPolicy
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
async def add_invoice(conn: Conn, e: InvoiceRegistered) -> None:
    inv = e.invoice
    debtor = {"name": inv.debtor.name, "email": inv.debtor.email, "phone": inv.debtor.phone,
              "state": inv.debtor.state}
    await conn.execute(
        "INSERT INTO invoices (invoice_id, tenant_id, debtor_id, external_id, amount_cents, outstanding_cents, "
        "due_date, status, debtor, creditor) VALUES ($1, $2, $3, $4, $5, $5, $6, 'open', $7, $8) "
        "ON CONFLICT (invoice_id) DO NOTHING",
        e.invoice_id, e.tenant_id, e.debtor_id, inv.external_id, inv.amount_cents, inv.due_date,
        json.dumps(debtor), e.creditor.model_dump_json())


async def known_invoices(conn: Conn, tenant_id: str, invoice_ids: list[UUID]) -> int:
    known: int = await conn.fetchval("SELECT count(*) FROM invoices WHERE tenant_id = $1 "
                                     "AND invoice_id = ANY($2::uuid[])", tenant_id, invoice_ids)
    return known


async def invoices_by_id(conn: Conn, invoice_ids: list[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT invoice_id, external_id, outstanding_cents, due_date FROM invoices "
                                 "WHERE invoice_id = ANY($1::uuid[]) ORDER BY due_date, external_id", invoice_ids))


async def record_payment(conn: Conn, invoice_id: UUID, outstanding: int, paid_on: date) -> None:
    await conn.execute(
        "UPDATE invoices SET outstanding_cents = $2::bigint, "
        "status = CASE WHEN $2::bigint = 0 THEN 'paid' ELSE status END, "
        "paid_late = CASE WHEN $2::bigint = 0 THEN $3::date > due_date ELSE paid_late END WHERE invoice_id = $1",
        invoice_id, outstanding, paid_on)


async def cancel_invoice(conn: Conn, invoice_id: UUID) -> str | None:
    """Marks the invoice cancelled; its external id (None for an invoice never seen)."""
    external_id: str | None = await conn.fetchval(
        "UPDATE invoices SET status = 'cancelled' WHERE invoice_id = $1 RETURNING external_id", invoice_id)
    return external_id


async def open_debts(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[Debt]:
    """Open invoices of the debtor that no active agreement covers."""
    rows = await conn.fetch(
        "SELECT invoice_id, external_id, outstanding_cents, due_date FROM invoices i "
        "WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' AND outstanding_cents > 0 AND NOT EXISTS "
        "(SELECT 1 FROM agreements a WHERE a.tenant_id = $1 AND a.status = 'active' "
        " AND i.invoice_id = ANY(a.invoice_ids)) ORDER BY due_date, external_id", tenant_id, debtor_id)
    return [Debt(str(r["invoice_id"]), r["external_id"], r["outstanding_cents"], r["due_date"]) for r in rows]


async def history(conn: Conn, tenant_id: str, debtor_id: UUID) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE paid_late = false) AS on_time, count(*) FILTER (WHERE paid_late) AS late "
        "FROM invoices WHERE tenant_id = $1 AND debtor_id = $2", tenant_id, debtor_id)
    assert row is not None
    return row["on_time"], row["late"]


async def debtor_and_creditor(conn: Conn, tenant_id: str, debtor_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    row = await conn.fetchrow("SELECT debtor, creditor FROM invoices WHERE tenant_id = $1 AND debtor_id = $2 "
                              "ORDER BY due_date DESC LIMIT 1", tenant_id, debtor_id)
    if row is None:
        return {}, {}
    return json.loads(row["debtor"]), json.loads(row["creditor"])


async def lock_debtor(conn: Conn, tenant_id: str, debtor_id: UUID) -> None:
    """Serializes offer making and acceptance per debtor until the transaction ends (two clicks, two
    agents or a reply and a click never make two agreements or two menus)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"negotiation:{tenant_id}:{debtor_id}")


# --- offers ---------------------------------------------------------------------------------------------
async def open_offers(conn: Conn, tenant_id: str, debtor_id: UUID) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT * FROM offers WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' "
                                 "ORDER BY installments", tenant_id, debtor_id))


async def supersede_offers(conn: Conn, tenant_id: str, debtor_id: UUID) -> None:
    await conn.execute("UPDATE offers SET status = 'superseded' WHERE tenant_id = $1 AND debtor_id = $2 "
                       "AND status = 'open'", tenant_id, debtor_id)


async def add_offers(conn: Conn, tenant_id: str, debtor_id: UUID, invoice_ids: list[UUID], menu: OfferMenu,
                     policy_version: int, now: datetime, ids: list[UUID]) -> None:
    await conn.executemany(
        "INSERT INTO offers (offer_id, tenant_id, debtor_id, invoice_ids, installments, total_cents, amounts, "
        "due_dates, discount_cents, undiscounted_cents, policy_version, expires_on, status, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13)",
        [(offer_id, tenant_id, debtor_id, invoice_ids, o.installments, o.total_cents, o.amounts, o.due_dates,
          o.discount_cents, menu.updated.total_cents, policy_version, menu.expires_on, now)
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
