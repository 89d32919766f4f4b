"""The state of the cases a dispatcher may act on, kept in its own schema from regua.cases.v1, and the screen
every command passes just before the provider call (and the phone queue when an agent takes a call): the
invoices whose case is stopped or paused are dropped from the message; a command left with none is not sent.

Exempt: the thank-you (its case is stopped as paid, by design) and the agreement confirmation (its case is
paused by the agreement). An exhausted case still receives one-off negotiation answers, like an active one.
An invoice whose case event has not been read yet counts as active."""

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_contracts import topics
from regua_contracts.cases import (
    CASE_EVENT,
    AnyCaseEvent,
    CaseExhausted,
    CaseOpened,
    CasePaused,
    CasePauseLifted,
    CaseResumed,
    CaseStopped,
)
from regua_contracts.contacts import AGREEMENT_TEMPLATE, ContactRequested
from regua_platform.inbox import claim_new
from regua_platform.kafka import Delivery, Rejection, subscribe
from regua_platform.service import Runtime

log = logging.getLogger(__name__)
CASE_EVENTS = Counter("regua_dispatch_case_events_total", "Case events applied by a dispatcher", ["channel", "type"])

THANK_YOU_TEMPLATE = "thank_you"
#: Templates sent whatever their case's state: an answer to what the debtor just did.
EXEMPT_TEMPLATES = frozenset({THANK_YOU_TEMPLATE, AGREEMENT_TEMPLATE})


@dataclass(frozen=True)
class CaseState:
    status: str  # active, paused, stopped, exhausted
    reasons: tuple[str, ...] = ()
    changed_at: datetime | None = None  # the ruler's time of the event that set this state

    def blocks(self, emitted_at: datetime | None = None) -> str | None:
        """Why a message about this case must not go out, or None. ``emitted_at``: when the ruler emitted the
        command. The ruler never fires a step of a paused case, so a command emitted after the pause we know
        of means the case was resumed since (the resume event is on its way on another topic): it goes.
        A stop is final."""
        if self.status == "stopped":
            return f"case stopped: {', '.join(self.reasons) or 'closed'}"
        if self.status == "paused" and (emitted_at is None or self.changed_at is None
                                        or emitted_at <= self.changed_at):
            return f"case paused: {', '.join(self.reasons) or 'on hold'}"
        return None


@dataclass(frozen=True)
class Blocked:
    """A case became stopped or paused: what the dispatcher withdraws."""

    tenant_id: str
    invoice_id: UUID
    debtor_id: UUID
    reason: str


@dataclass(frozen=True)
class Screened:
    command: ContactRequested | None  # what may go out (fewer invoices, maybe); None: nothing
    dropped: dict[UUID, str]  # invoice id -> why it was dropped
    reason: str | None = None  # why nothing is left, when nothing is

    @property
    def suppressed(self) -> bool:
        return self.command is None


def _transition(event: AnyCaseEvent) -> tuple[str, tuple[str, ...]] | None:
    if isinstance(event, CaseOpened):
        return "active", ()
    if isinstance(event, CaseStopped):
        return "stopped", (event.reason,)
    if isinstance(event, CasePaused):
        return "paused", tuple(sorted(set(event.reasons or [event.reason])))
    if isinstance(event, CasePauseLifted):
        return ("paused", tuple(sorted(set(event.remaining)))) if event.remaining else ("active", ())
    if isinstance(event, CaseResumed):
        return event.status, ()
    if isinstance(event, CaseExhausted):
        return "exhausted", ()
    return None


async def apply(conn: asyncpg.Connection, event: AnyCaseEvent) -> CaseState | None:
    """Applies one case event; returns the new state when it changed. Events of a case come in order (keyed
    by invoice); an older one than the state's (a replay) changes nothing, and stopped is final. A case
    opened after a later event was read (never in order, but cheap to guard) stays as it is."""
    found = _transition(event)
    if found is None:
        return None
    status, reasons = found
    row = await conn.fetchrow(
        "INSERT INTO case_states (invoice_id, tenant_id, debtor_id, status, reasons, changed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (invoice_id) DO UPDATE SET status = $4, reasons = $5, "
        "changed_at = $6 WHERE case_states.status <> 'stopped' AND case_states.changed_at <= $6 "
        "AND NOT ($4 = 'active' AND $7) RETURNING status, reasons, changed_at",
        event.invoice_id, event.tenant_id, event.debtor_id, status, list(reasons), event.occurred_at,
        isinstance(event, CaseOpened))
    return CaseState(row["status"], tuple(row["reasons"]), row["changed_at"]) if row is not None else None


async def load(conn: asyncpg.Connection, invoice_ids: Iterable[UUID]) -> dict[UUID, CaseState]:
    """The known states; an invoice left out is not known yet (counts as active)."""
    wanted = sorted(set(invoice_ids))
    if not wanted:
        return {}
    rows = await conn.fetch("SELECT invoice_id, status, reasons, changed_at FROM case_states "
                            "WHERE invoice_id = ANY($1::uuid[])", wanted)
    return {r["invoice_id"]: CaseState(r["status"], tuple(r["reasons"]), r["changed_at"]) for r in rows}


def is_exempt(command: ContactRequested) -> bool:
    return command.template in EXEMPT_TEMPLATES


def screen(command: ContactRequested, states: dict[UUID, CaseState]) -> Screened:
    """Drops the invoices whose case is stopped or paused (exempt templates pass whole)."""
    if is_exempt(command):
        return Screened(command, {})
    dropped: dict[UUID, str] = {}
    kept = []
    fired = command.fired_invoice_ids
    for invoice in command.invoices:
        state = states.get(invoice.invoice_id)
        # Only an invoice the ruler fired the step for can have been resumed since the pause we know of.
        emitted_at = command.occurred_at if fired is None or invoice.invoice_id in fired else None
        why = state.blocks(emitted_at) if state is not None else None
        if why is None:
            kept.append(invoice)
        else:
            dropped[invoice.invoice_id] = why
    if not dropped:
        return Screened(command, {})
    if not kept:
        return Screened(None, dropped, "; ".join(sorted(set(dropped.values()))))
    return Screened(command.model_copy(update={"invoices": kept}), dropped)


async def screen_all(conn: asyncpg.Connection,
                     commands: Sequence[ContactRequested]) -> dict[UUID, Screened]:
    """step id -> screened command, against the states known now."""
    states = await load(conn, [i.invoice_id for c in commands for i in c.invoices])
    return {c.step_id: screen(c, states) for c in commands}


OnBlocked = Callable[[asyncpg.Connection, list[Blocked], datetime], Awaitable[None]]


def install_case_states(runtime: Runtime, channel: str, on_blocked: OnBlocked | None = None,
                        observe: Callable[[datetime], None] | None = None) -> None:
    """Keeps ``case_states`` in step with regua.cases.v1 (group dispatch-<channel>-cases, idempotent). When a
    case becomes stopped or paused, ``on_blocked`` withdraws the channel's pending work in the same
    transaction (held messages, queued calls), recording each as suppressed."""
    consumer = f"dispatch-{channel}-cases"

    async def handle(deliveries: list[Delivery[AnyCaseEvent]]) -> list[Rejection]:
        async with runtime.pool.acquire() as conn, conn.transaction():
            fresh = await claim_new(conn, consumer, [d.event.event_id for d in deliveries])
            blocked: list[Blocked] = []
            latest: datetime | None = None
            for d in deliveries:
                e = d.event
                if e.event_id not in fresh:
                    continue
                if observe is not None:
                    observe(e.occurred_at)
                latest = max(latest or e.occurred_at, e.occurred_at)
                state = await apply(conn, e)
                CASE_EVENTS.labels(channel, e.type).inc()
                why = state.blocks() if state is not None else None
                if why is not None:
                    blocked.append(Blocked(e.tenant_id, e.invoice_id, e.debtor_id, why))
            if blocked and on_blocked is not None:
                assert latest is not None
                await on_blocked(conn, blocked, latest)
        return []

    subscribe(runtime.broker, runtime.settings, topic=topics.CASES, group_id=consumer, adapter=CASE_EVENT,
              handler=handle)
