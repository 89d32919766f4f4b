"""What the API and the self-service page show: offers, agreements and debts as plain dicts."""

import secrets
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from regua_negotiation import store
from regua_negotiation.domain.debt import Debt, update
from regua_negotiation.domain.offers import stated
from regua_negotiation.domain.policy import NegotiationPolicy
from regua_negotiation.legal import ceilings
from regua_platform import links
from regua_platform.clock import Clock, SimulatedClock
from regua_platform.service import Runtime


def today_and_now(runtime: Runtime) -> tuple[date, datetime]:
    """Today in the agency's calendar (days late count in it) and the instant."""
    clock: Clock = runtime.extras["clock"]
    now = clock.now()
    return now.astimezone(ZoneInfo(runtime.settings.timezone)).date(), now


async def follow(runtime: Runtime, conn: asyncpg.Connection, instant: datetime) -> None:
    """A simulated clock (tests, demo) catches up with the ruler's time carried by a command, so offers made
    for a message count days late as of the moment the message goes out; the wall clock needs nothing."""
    clock: Clock = runtime.extras["clock"]
    if isinstance(clock, SimulatedClock) and instant > clock.now():
        clock.set(instant)
        await store.save_simulated_clock(conn, instant)


def offer_view(row: asyncpg.Record) -> dict[str, Any]:
    """``first_installment_cents`` (0 when every installment is equal) and ``installment_cents`` state the
    installments exactly: total = first + (n - 1) x installment, or n x installment."""
    first, each = stated(list(row["amounts"]))
    return {"offer_id": str(row["offer_id"]), "installments": row["installments"],
            "total_cents": row["total_cents"], "installment_amounts": list(row["amounts"]),
            "first_installment_cents": first, "installment_cents": each,
            "due_dates": [d.isoformat() for d in row["due_dates"]], "discount_cents": row["discount_cents"],
            "updated_debt_cents": row["undiscounted_cents"],
            "updated_debt": {"principal_cents": row["principal_cents"], "fine_cents": row["fine_cents"],
                             "interest_cents": row["interest_cents"], "total_cents": row["undiscounted_cents"],
                             "as_of": row["as_of"].isoformat() if row["as_of"] else None},
            "expires_on": row["expires_on"].isoformat(),
            "invoice_ids": [str(i) for i in row["invoice_ids"]], "policy_version": row["policy_version"]}


async def agreement_view(conn: asyncpg.Connection | asyncpg.Pool, row: asyncpg.Record) -> dict[str, Any]:
    installments = await store.installments(conn, row["agreement_id"])
    return {"agreement_id": str(row["agreement_id"]), "debtor_id": str(row["debtor_id"]),
            "offer_id": str(row["offer_id"]), "status": row["status"], "accepted_via": row["accepted_via"],
            "invoice_ids": [str(i) for i in row["invoice_ids"]], "total_cents": row["total_cents"],
            "reason": row["reason"], "balance_cents": row["balance_cents"],
            "paid_after_close_cents": row["paid_after_close_cents"],
            "installments": [{"number": i["number"], "amount_cents": i["amount_cents"],
                              "due_date": i["due_date"].isoformat(), "paid_cents": i["paid_cents"],
                              "payment_reference": i["txid"], "pix_copia_e_cola": i["pix_payload"]}
                             for i in installments]}


def debts_view(debts: list[Debt], today: date, policy: NegotiationPolicy) -> list[dict[str, Any]]:
    views = []
    for d in debts:
        u = update(d, today, policy, ceilings())
        views.append({"invoice_id": d.invoice_id, "external_id": d.external_id, "due_date": d.due_date.isoformat(),
                      "principal_cents": u.principal_cents, "fine_cents": u.fine_cents,
                      "interest_cents": u.interest_cents, "total_cents": u.total_cents,
                      "days_overdue": u.days_overdue})
    return views


def self_service_link(runtime: Runtime, tenant_id: str, debtor_id: UUID, now: datetime,
                      validity_days: int) -> dict[str, str]:
    expires_at = now + timedelta(days=validity_days)
    token = links.sign(links.SELF_SERVICE, {"t": tenant_id, "d": str(debtor_id)}, runtime.settings.link_secret,
                       expires_at)
    path = f"/s/{token}"
    return {"url": public_url(runtime, path), "path": path, "expires_at": expires_at.isoformat()}


async def short_self_service_link(runtime: Runtime, conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID,
                                  now: datetime, validity_days: int) -> str:
    """The link as messages carry it: a random code (72 bits) standing for the signed link, so an SMS spends
    about 40 characters on it instead of 190. The code expires with the link it stands for."""
    link = self_service_link(runtime, tenant_id, debtor_id, now, validity_days)
    code = secrets.token_urlsafe(9)
    await store.add_short_link(conn, code, link["path"].removeprefix("/s/"), datetime.fromisoformat(link["expires_at"]),
                               now)
    return public_url(runtime, f"/p/{code}")


def public_url(runtime: Runtime, path: str) -> str:
    return runtime.settings.negotiation_public_base_url.rstrip("/") + path
