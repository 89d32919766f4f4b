"""Phone use cases: queue a call task per command; give an agent the best call the compliance gate
allows now (call caps, quiet period, hours, opt-out, invalid phone); record the call's outcome."""

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_compliance import ContactPolicy, evaluate
from regua_contracts.contacts import (
    CallOutcome,
    CallOutcomeRecorded,
    ContactAttempted,
    ContactInvalidated,
    OfferSummary,
)
from regua_dispatch import facts, offers
from regua_dispatch.events import contact_fact
from regua_dispatch.formatting import br_date, brl, cnpj
from regua_dispatch_phone import store
from regua_dispatch_phone.domain import after_call, check_outcome, is_conversation
from regua_platform import outbox
from regua_platform.settings import Settings

CALLS = Counter("regua_phone_calls_total", "Calls recorded by agents, by outcome", ["outcome"])
QUEUE = Counter("regua_phone_tasks_total", "Call tasks by what happened to them", ["event"])
CANDIDATES = 50  # tasks examined per fetch before giving up for now
HISTORY = timedelta(days=8)  # the longest call rule looks back 7 days


class NoSuchCall(LookupError):
    pass


class NotYours(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    agent_id: str
    outcome: CallOutcome
    promise_date: date | None = None
    promise_amount_cents: int | None = None
    callback_at: datetime | None = None


async def next_call(pool: asyncpg.Pool, tenant_id: str, agent_id: str, now: datetime, today: date,
                    settings: Settings, policy: ContactPolicy) -> asyncpg.Record | None:
    stale = now - timedelta(minutes=settings.phone_assignment_minutes)
    async with pool.acquire() as conn, conn.transaction():
        rows = await store.candidates(conn, tenant_id, now, today, stale, CANDIDATES)
        if not rows:
            return None
        debtors = list({r["debtor_id"] for r in rows})
        known = await facts.load(conn, [(tenant_id, d) for d in debtors],
                                 {(tenant_id, r["debtor_id"]): json.loads(r["recipient"]).get("state") for r in rows})
        history = await store.calls_of(conn, tenant_id, debtors, now - HISTORY)
        busy = await store.busy_debtors(conn, tenant_id, stale)
        for row in rows:
            if row["debtor_id"] in busy:
                continue
            debtor = replace(known[(tenant_id, row["debtor_id"])], history=history.get(row["debtor_id"], ()))
            decision = evaluate("phone", now, debtor, policy)
            if decision.allowed:
                await store.assign(conn, row["step_id"], agent_id, now)
                QUEUE.labels("assigned").inc()
                return await store.task(conn, tenant_id, row["step_id"])
            if decision.retry_at is not None:
                await store.postpone(conn, row["step_id"], decision.retry_at, decision.rule)
                QUEUE.labels(f"held: {decision.rule}").inc()
            else:
                await store.cancel(conn, row["step_id"], decision.rule)
                await outbox.add(conn, [contact_fact(ContactAttempted(
                    occurred_at=now, tenant_id=tenant_id, step_id=row["step_id"], step_key=row["step_key"],
                    channel="phone", debtor_id=row["debtor_id"], invoice_ids=_invoice_ids(row),
                    outcome="suppressed", reason=f"{decision.rule} (phone)"), row["debtor_id"])])
                QUEUE.labels(f"cancelled: {decision.rule}").inc()
    return None


async def record_outcome(pool: asyncpg.Pool, tenant_id: str, step_id: UUID, call: Outcome, now: datetime,
                         today: date, settings: Settings) -> asyncpg.Record:
    check_outcome(call.outcome, now, today, call.promise_date, call.promise_amount_cents, call.callback_at)
    async with pool.acquire() as conn, conn.transaction():
        row = await store.task(conn, tenant_id, step_id, for_update=True)
        if row is None:
            raise NoSuchCall(str(step_id))
        if row["status"] != "assigned" or row["agent_id"] != call.agent_id:
            raise NotYours(f"call {step_id} is not assigned to agent {call.agent_id!r} (status {row['status']})")
        await store.record_call(conn, row, call.agent_id, call.outcome, is_conversation(call.outcome), now)
        after = after_call(call.outcome, row["calls"] + 1, now, max_calls=settings.phone_max_attempts,
                           retry_after=timedelta(minutes=settings.phone_retry_minutes), callback_at=call.callback_at)
        await store.settle(conn, step_id, after.status, after.not_before, call.outcome)
        debtor_id: UUID = row["debtor_id"]
        found = [contact_fact(CallOutcomeRecorded(
            occurred_at=now, tenant_id=tenant_id, step_id=step_id, debtor_id=debtor_id,
            invoice_ids=_invoice_ids(row), outcome=call.outcome, agent_id=call.agent_id, called_at=now,
            promise_date=call.promise_date, promise_amount_cents=call.promise_amount_cents,
            callback_at=call.callback_at), debtor_id)]
        if call.outcome == "wrong_number" and await facts.record_invalid(conn, tenant_id, debtor_id, "phone",
                                                                         "wrong number (agent)"):
            found.append(contact_fact(ContactInvalidated(occurred_at=now, tenant_id=tenant_id, debtor_id=debtor_id,
                                                         contact="phone", reason="wrong number (agent)"), debtor_id))
        await outbox.add(conn, found)
        CALLS.labels(call.outcome).inc()
        updated = await store.task(conn, tenant_id, step_id)
        assert updated is not None
        return updated


def _invoice_ids(row: asyncpg.Record) -> list[UUID]:
    return [UUID(i["invoice_id"]) for i in json.loads(row["invoices"])]


def view(row: asyncpg.Record, today: date) -> dict[str, Any]:
    """A call as an agent sees it, with the opening that names the creditor (CDC art. 42-A) and, on a
    negotiation call, the offers to state with their deadline and the link to send."""
    recipient, creditor = json.loads(row["recipient"]), json.loads(row["creditor"])
    invoices = json.loads(row["invoices"])
    offered = [OfferSummary.model_validate(o) for o in json.loads(row["offers"])]
    total = brl(row["total_cents"])
    script = (f"Bom dia! Falo com {recipient['name']}? Falo em nome de {creditor['name']}, CNPJ "
              f"{cnpj(creditor['cnpj'])}, {creditor['address']}, sobre {len(invoices)} fatura(s) em aberto, "
              f"total de {total}.")
    if offered:
        ends = offers.deadline(offered)
        script += (f" Podemos oferecer: {offers.describe_all(offered)}; proposta válida até "
                   f"{br_date(ends) if ends else ''}.")
    return {
        "call_id": str(row["step_id"]), "status": row["status"], "debtor_id": str(row["debtor_id"]),
        "name": recipient["name"], "phone": recipient.get("phone"), "state": recipient.get("state"),
        "creditor": creditor, "invoices": invoices, "total_cents": row["total_cents"],
        "days_overdue": max(0, (today - row["oldest_due"]).days), "step": row["step_key"],
        "template": row["template"], "tone": row["tone"], "calls_made": row["calls"], "outcome": row["outcome"],
        "agent_id": row["agent_id"], "not_before": row["not_before"].isoformat(),
        "offers": [o.model_dump(mode="json") for o in offered], "self_service_url": row["self_service_url"],
        "script": script,
    }
