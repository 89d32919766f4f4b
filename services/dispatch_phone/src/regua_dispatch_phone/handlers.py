"""Phone use cases: queue a call task per command; give an agent the best call the compliance gate
allows now (call caps, quiet period, hours, opt-out, invalid phone); record the call's outcome."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_compliance import ContactPolicy, evaluate
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import (
    CallOutcome,
    CallOutcomeRecorded,
    ContactAttempted,
    ContactInvalidated,
    OfferSummary,
    Recipient,
)
from regua_dispatch import cases, facts
from regua_dispatch.events import contact_fact
from regua_dispatch_phone import store
from regua_dispatch_phone.domain import after_call, check_outcome, is_conversation
from regua_dispatch_phone.script import call_script
from regua_platform import audit, outbox
from regua_platform.settings import Settings
from regua_platform.staff import Actor

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


async def next_call(pool: asyncpg.Pool, agent: Actor, now: datetime, today: date,
                    settings: Settings, policy: ContactPolicy) -> asyncpg.Record | None:
    """The best call allowed now. Before a task is offered: the invoices whose case is stopped or paused are
    dropped from it (a task left with none is withdrawn, suppressed with the reason), and the compliance gate
    runs with the calls made to the person for any creditor (caps, quiet period), their hours and zone,
    opt-outs and invalid phones (for any creditor: the number itself). The assignment is audited."""
    tenant_id, agent_id = agent.tenant.id, agent.id
    stale = now - timedelta(minutes=settings.phone_assignment_minutes)
    async with pool.acquire() as conn, conn.transaction():
        rows = await store.candidates(conn, tenant_id, now, today, stale, CANDIDATES)
        if not rows:
            return None
        recipients = {(tenant_id, r["debtor_id"]): Recipient.model_validate_json(r["recipient"]) for r in rows}
        known = await facts.load(conn, list(recipients), recipients)
        history = await store.calls_of(conn, rows, now - HISTORY)
        busy = await store.busy_debtors(conn, tenant_id, stale)
        states = await cases.load(conn, [i for r in rows for i in r["invoice_ids"]])
        for row in rows:
            if row["debtor_id"] in busy:
                continue
            if not await _screened(conn, row, states, now):
                continue
            debtor = replace(known[(tenant_id, row["debtor_id"])], history=history.get(row["step_id"], ()))
            decision = evaluate("phone", now, debtor, policy)
            if decision.allowed:
                await store.assign(conn, row["step_id"], agent_id, now)
                await audit.record(conn, agent, "call.assigned", row["step_id"], row["debtor_id"])
                QUEUE.labels("assigned").inc()
                return await store.task(conn, tenant_id, row["step_id"])
            if decision.retry_at is not None:
                await store.postpone(conn, row["step_id"], decision.retry_at, decision.rule)
                QUEUE.labels(f"held: {decision.rule}").inc()
            else:
                await _withdraw(conn, row, f"{decision.rule} (phone)", now)
                QUEUE.labels(f"cancelled: {decision.rule}").inc()
    return None


def _invoices(row: asyncpg.Record) -> list[InvoiceSummary]:
    return [InvoiceSummary.model_validate(i) for i in json.loads(row["invoices"])]


async def _screened(conn: asyncpg.Connection, row: asyncpg.Record, states: dict[UUID, cases.CaseState],
                    now: datetime) -> bool:
    """Drops the task's invoices whose case is stopped or paused; False when none is left (withdrawn)."""
    invoices = _invoices(row)
    kept = [i for i in invoices
            if (state := states.get(i.invoice_id)) is None or state.blocks(_emitted_at(row, i.invoice_id)) is None]
    if len(kept) == len(invoices):
        return True
    if kept:
        await store.narrow(conn, row["step_id"], kept)
        return True
    reasons = sorted({why for i in invoices if (why := states[i.invoice_id].blocks(_emitted_at(row, i.invoice_id)))})
    await _withdraw(conn, row, "; ".join(reasons), now)
    QUEUE.labels("withdrawn: case").inc()
    return False


def _emitted_at(row: asyncpg.Record, invoice_id: UUID) -> datetime | None:
    """When the ruler fired the task's step for this invoice (regua_dispatch.cases.CaseState.blocks); None for
    an invoice negotiation added to a negotiation call."""
    fired = row["fired_invoice_ids"]
    emitted: datetime | None = row["emitted_at"] if fired is None or invoice_id in fired else None
    return emitted


async def _withdraw(conn: asyncpg.Connection, row: asyncpg.Record, reason: str, now: datetime) -> None:
    await store.cancel(conn, row["step_id"], reason)
    await outbox.add(conn, [contact_fact(ContactAttempted(
        occurred_at=now, tenant_id=row["tenant_id"], step_id=row["step_id"], step_key=row["step_key"],
        channel="phone", debtor_id=row["debtor_id"], invoice_ids=_invoice_ids(row),
        outcome="suppressed", reason=reason), row["debtor_id"])])


async def withdraw_queued(conn: asyncpg.Connection, invoice_ids: Sequence[UUID], now: datetime) -> int:
    """Cases stopped or paused: the calls still waiting for an agent about them alone are withdrawn at once,
    each recorded as suppressed with the reason; a task with other invoices loses these. A call an agent has
    taken is the agent's to finish."""
    rows = await store.queued_about(conn, invoice_ids)
    states = await cases.load(conn, [i for r in rows for i in r["invoice_ids"]])
    withdrawn = 0
    for row in rows:
        withdrawn += not await _screened(conn, row, states, now)
    return withdrawn


async def record_outcome(pool: asyncpg.Pool, agent: Actor, step_id: UUID, call: Outcome, now: datetime,
                         today: date, settings: Settings) -> asyncpg.Record:
    """The agent is the staff member of the token (``call.agent_id`` is set from it); audited."""
    tenant_id = agent.tenant.id
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
        phone = json.loads(row["recipient"]).get("phone")
        if call.outcome == "wrong_number" and await facts.record_invalid(conn, tenant_id, debtor_id, "phone",
                                                                         "wrong number (agent)", phone):
            found.append(contact_fact(ContactInvalidated(occurred_at=now, tenant_id=tenant_id, debtor_id=debtor_id,
                                                         contact="phone", reason="wrong number (agent)"), debtor_id))
        await outbox.add(conn, found)
        await audit.record(conn, agent, "call.outcome", step_id, debtor_id, {"outcome": call.outcome})
        CALLS.labels(call.outcome).inc()
        updated = await store.task(conn, tenant_id, step_id)
        assert updated is not None
        return updated


def _invoice_ids(row: asyncpg.Record) -> list[UUID]:
    return [UUID(i["invoice_id"]) for i in json.loads(row["invoices"])]


def view(row: asyncpg.Record, today: date, now: datetime) -> dict[str, Any]:
    """A call as an agent sees it, with the script (regua_dispatch_phone.script): who answered is confirmed
    before the creditor (CDC art. 42-A), the invoices or any amount is named (CDC art. 42); on a negotiation
    call, the offers to state with their deadline and the link to send."""
    recipient, creditor = json.loads(row["recipient"]), json.loads(row["creditor"])
    invoices = json.loads(row["invoices"])
    offered = [OfferSummary.model_validate(o) for o in json.loads(row["offers"])]
    script = call_script(Recipient.model_validate(recipient), Creditor.model_validate(creditor),
                         [InvoiceSummary.model_validate(i) for i in invoices], offered, now,
                         self_service_url=row["self_service_url"])
    return {
        "call_id": str(row["step_id"]), "status": row["status"], "debtor_id": str(row["debtor_id"]),
        "name": recipient["name"], "phone": recipient.get("phone"), "state": recipient.get("state"),
        "creditor": creditor, "invoices": invoices, "total_cents": row["total_cents"],
        "days_overdue": max(0, (today - row["oldest_due"]).days), "step": row["step_key"],
        "template": row["template"], "tone": row["tone"], "calls_made": row["calls"], "outcome": row["outcome"],
        "agent_id": row["agent_id"], "not_before": row["not_before"].isoformat(),
        "offers": [o.model_dump(mode="json") for o in offered], "self_service_url": row["self_service_url"],
        "script": script.text,
        "script_parts": {"opening": script.opening, "not_the_debtor": script.not_the_debtor,
                         "confirmed": script.confirmed},
    }
