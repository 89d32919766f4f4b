"""Queries of the credit schema: the invoice read model, score models, negotiation policies."""

import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, tzinfo
from uuid import UUID

import asyncpg

from regua_contracts.invoices import InvoiceCancelled, InvoiceRegistered, PaymentRecorded
from regua_credit.domain import InvoiceFact, InvoiceStatus
from regua_credit.offers import DEFAULT_POLICY, NegotiationPolicy
from regua_credit.scoring import LinearModel

log = logging.getLogger(__name__)
_FACT_COLUMNS = ("debtor_id, invoice_id, amount_cents, outstanding_cents, due_date, status, registered_at, settled_at, "
                 "debtor_state")

# --- the read model, fed by regua.invoices.v1 ------------------------------------------------------------


async def insert_invoices(conn: asyncpg.Connection, events: Sequence[InvoiceRegistered]) -> None:
    await conn.executemany(
        "INSERT INTO invoices (invoice_id, tenant_id, debtor_id, amount_cents, outstanding_cents, due_date, "
        "status, registered_at, debtor_state) VALUES ($1, $2, $3, $4, $4, $5, 'open', $6, $7) "
        "ON CONFLICT (invoice_id) DO NOTHING",
        [(e.invoice_id, e.tenant_id, e.debtor_id, e.invoice.amount_cents, e.invoice.due_date, e.occurred_at,
          e.invoice.debtor.state) for e in events],
    )


async def record_payments(conn: asyncpg.Connection, payments: Sequence[PaymentRecorded]) -> set[tuple[UUID, str]]:
    """Applies payments in one statement; returns the (invoice id, tenant) pairs found. Payments of one
    invoice are merged first: the lowest outstanding amount wins, and the payment that settled it (outstanding
    zero; there is at most one) dates the settlement."""
    merged: dict[tuple[UUID, str], tuple[int, datetime | None]] = {}
    for e in payments:
        outstanding, settled = merged.get((e.invoice_id, e.tenant_id), (e.outstanding_cents, None))
        merged[(e.invoice_id, e.tenant_id)] = (min(outstanding, e.outstanding_cents),
                                               e.paid_at if e.outstanding_cents == 0 else settled)
    rows = await conn.fetch(
        "UPDATE invoices i SET outstanding_cents = LEAST(i.outstanding_cents, p.outstanding), "
        "status = CASE WHEN p.outstanding = 0 AND i.status = 'open' THEN 'paid' ELSE i.status END, "
        "settled_at = CASE WHEN p.outstanding = 0 AND i.status = 'open' THEN p.settled_at ELSE i.settled_at END "
        "FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[]) AS p(invoice_id, tenant_id, "
        "outstanding, settled_at) WHERE i.invoice_id = p.invoice_id AND i.tenant_id = p.tenant_id "
        "RETURNING i.invoice_id, i.tenant_id",
        [k[0] for k in merged], [k[1] for k in merged], [v[0] for v in merged.values()],
        [v[1] for v in merged.values()],
    )
    return {(r["invoice_id"], r["tenant_id"]) for r in rows}


async def cancel_invoices(conn: asyncpg.Connection,
                          cancellations: Sequence[InvoiceCancelled]) -> set[tuple[UUID, str]]:
    """Returns the (invoice id, tenant) pairs found; only open invoices change."""
    rows = await conn.fetch(
        "UPDATE invoices i SET status = CASE WHEN i.status = 'open' THEN 'cancelled' ELSE i.status END "
        "FROM unnest($1::uuid[], $2::text[]) AS c(invoice_id, tenant_id) "
        "WHERE i.invoice_id = c.invoice_id AND i.tenant_id = c.tenant_id RETURNING i.invoice_id, i.tenant_id",
        [e.invoice_id for e in cancellations], [e.tenant_id for e in cancellations],
    )
    return {(r["invoice_id"], r["tenant_id"]) for r in rows}


def _fact(row: asyncpg.Record, tz: tzinfo) -> InvoiceFact:
    settled: datetime | None = row["settled_at"]
    return InvoiceFact(
        invoice_id=row["invoice_id"], amount_cents=row["amount_cents"], outstanding_cents=row["outstanding_cents"],
        due_date=row["due_date"], status=InvoiceStatus(row["status"]),
        registered_on=row["registered_at"].astimezone(tz).date(),
        settled_on=settled.astimezone(tz).date() if settled is not None else None, state=row["debtor_state"],
    )


async def debtor_facts(pool: asyncpg.Pool, tenant_id: str, debtor_ids: Sequence[UUID],
                       tz: tzinfo) -> dict[UUID, list[InvoiceFact]]:
    """Each known debtor's invoices; debtors the tenant does not have are absent."""
    if len(debtor_ids) == 1:  # the common case gets the plain equality plan
        rows = await pool.fetch(f"SELECT {_FACT_COLUMNS} FROM invoices WHERE tenant_id = $1 AND debtor_id = $2",
                                tenant_id, debtor_ids[0])
    else:
        rows = await pool.fetch(f"SELECT {_FACT_COLUMNS} FROM invoices WHERE tenant_id = $1 "
                                "AND debtor_id = ANY($2::uuid[])", tenant_id, list(debtor_ids))
    facts: dict[UUID, list[InvoiceFact]] = defaultdict(list)
    for row in rows:
        facts[row["debtor_id"]].append(_fact(row, tz))
    return facts


async def every_debtor(conn: asyncpg.Connection, tz: tzinfo) -> AsyncIterator[list[InvoiceFact]]:
    """Every debtor's invoices, one debtor at a time (training). Must run inside a transaction."""
    current: tuple[str, UUID] | None = None
    facts: list[InvoiceFact] = []
    async for row in conn.cursor(f"SELECT tenant_id, {_FACT_COLUMNS} FROM invoices ORDER BY tenant_id, debtor_id",
                                 prefetch=5000):
        key = (row["tenant_id"], row["debtor_id"])
        if key != current and facts:
            yield facts
            facts = []
        current = key
        facts.append(_fact(row, tz))
    if facts:
        yield facts


# --- score models --------------------------------------------------------------------------------------------


async def newest_model_version(pool: asyncpg.Pool) -> str | None:
    version: str | None = await pool.fetchval("SELECT version FROM score_models ORDER BY trained_at DESC LIMIT 1")
    return version


async def newest_model(pool: asyncpg.Pool) -> LinearModel | None:
    """The newest model, or None when there is none or it no longer fits the features and their signs (a
    model fitted before the features were made monotone): the rules then score until the next training."""
    model = await pool.fetchval("SELECT model FROM score_models ORDER BY trained_at DESC LIMIT 1")
    if model is None:
        return None
    try:
        return LinearModel.from_json(json.loads(model))
    except ValueError:
        log.warning("newest score model is not usable; scoring with the rules until the next training")
        return None


async def save_model(pool: asyncpg.Pool, model: LinearModel, trained_at: datetime) -> None:
    await pool.execute("INSERT INTO score_models (version, trained_at, model) VALUES ($1, $2, $3)",
                       model.version, trained_at, json.dumps(model.to_json()))


# --- negotiation policies ------------------------------------------------------------------------------------


async def policy(pool: asyncpg.Pool, tenant_id: str) -> tuple[NegotiationPolicy, int]:
    row = await pool.fetchrow("SELECT version, policy FROM negotiation_policies WHERE tenant_id = $1", tenant_id)
    if row is None:
        return DEFAULT_POLICY, 0
    return NegotiationPolicy.model_validate_json(row["policy"]), row["version"]


async def save_policy(pool: asyncpg.Pool, tenant_id: str, new: NegotiationPolicy) -> int:
    """Stores the tenant's policy as its next version; returns that version."""
    version: int = await pool.fetchval(
        "INSERT INTO negotiation_policies (tenant_id, version, policy) VALUES ($1, 1, $2) "
        "ON CONFLICT (tenant_id) DO UPDATE SET version = negotiation_policies.version + 1, policy = $2, "
        "updated_at = now() RETURNING version",
        tenant_id, new.model_dump_json(),
    )
    return version
