"""A contact event as one history entry: when, what kind, on which channel, for which step, the outcome."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from regua_contracts.contacts import (
    AnyContactEvent,
    CallOutcomeRecorded,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
    DebtorReplied,
    NegotiationRequested,
)


@dataclass(frozen=True)
class Entry:
    event_id: UUID
    tenant_id: str
    debtor_id: UUID
    at: datetime
    kind: str
    channel: str | None
    step_id: UUID | None = None
    step_key: str | None = None
    outcome: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def entry(e: AnyContactEvent) -> Entry:
    def made(kind: str, channel: str | None, outcome: str, detail: dict[str, Any], step_id: UUID | None = None,
             step_key: str | None = None, at: datetime | None = None) -> Entry:
        return Entry(e.event_id, e.tenant_id, e.debtor_id, at or e.occurred_at, kind, channel, step_id, step_key,
                     outcome, detail)

    if isinstance(e, ContactAttempted):
        invoices = [str(i) for i in e.invoice_ids]
        return made("attempt", e.channel, e.outcome, {"reason": e.reason, "invoice_ids": invoices}, e.step_id,
                    e.step_key)
    if isinstance(e, ContactDelivered):
        return made("delivery", e.channel, e.status, {}, e.step_id)
    if isinstance(e, ContactFailed):
        return made("failure", e.channel, "failed", {"reason": e.reason, "contact_invalid": e.contact_invalid},
                    e.step_id)
    if isinstance(e, ContactInvalidated):
        return made("invalidated", None, "invalid", {"contact": e.contact, "reason": e.reason})
    if isinstance(e, ContactOptedOut):
        return made("opt-out", e.channel, "opted-out", {"source": e.source})
    if isinstance(e, DebtorReplied):
        return made("reply", e.channel, "replied", {"text": e.text}, at=e.received_at)
    if isinstance(e, NegotiationRequested):
        return made("negotiation-request", e.channel, "requested", {"source": e.source})
    assert isinstance(e, CallOutcomeRecorded)
    detail: dict[str, Any] = {"agent_id": e.agent_id, "invoice_ids": [str(i) for i in e.invoice_ids]}
    if e.promise_date:
        detail.update(promise_date=e.promise_date.isoformat(), promise_amount_cents=e.promise_amount_cents)
    if e.callback_at:
        detail["callback_at"] = e.callback_at.isoformat()
    return made("call", "phone", e.outcome, detail, e.step_id, at=e.called_at)
