"""Contact events as history entries, and page cursors (unit)."""

import uuid
from datetime import UTC, date, datetime, timedelta

from regua_contact_history.domain import entry
from regua_contact_history.store import cursor, parse_cursor
from regua_contracts.contacts import (
    CallOutcomeRecorded,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactInvalidated,
    ContactOptedOut,
    DebtorReplied,
    NegotiationRequested,
)

AT = datetime(2027, 3, 10, 13, tzinfo=UTC)
STEP, DEBTOR = uuid.uuid4(), uuid.uuid4()
BASE = {"occurred_at": AT, "tenant_id": "acme", "debtor_id": DEBTOR}


def test_every_contact_event_becomes_one_entry() -> None:
    events = [
        ContactAttempted(**BASE, step_id=STEP, step_key="D+1", channel="sms", invoice_ids=[], outcome="sent"),
        ContactDelivered(**BASE, step_id=STEP, channel="sms", status="delivered"),
        ContactFailed(**BASE, step_id=STEP, channel="sms", reason="invalid_number", contact_invalid=True),
        ContactInvalidated(**BASE, contact="phone", reason="invalid_number"),
        ContactOptedOut(**BASE, channel="whatsapp", source="reply"),
        DebtorReplied(**BASE, channel="whatsapp", text="SAIR", received_at=AT - timedelta(minutes=1)),
        NegotiationRequested(**BASE, channel="whatsapp", source="reply"),
        CallOutcomeRecorded(**BASE, step_id=STEP, invoice_ids=[], outcome="promise_to_pay", agent_id="ag-1",
                            called_at=AT - timedelta(hours=1), promise_date=date(2027, 3, 15),
                            promise_amount_cents=5_000),
    ]
    entries = [entry(e) for e in events]
    assert [(x.kind, x.channel, x.outcome) for x in entries] == [
        ("attempt", "sms", "sent"), ("delivery", "sms", "delivered"), ("failure", "sms", "failed"),
        ("invalidated", None, "invalid"), ("opt-out", "whatsapp", "opted-out"), ("reply", "whatsapp", "replied"),
        ("negotiation-request", "whatsapp", "requested"), ("call", "phone", "promise_to_pay")]
    assert entries[0].step_key == "D+1" and entries[1].step_id == STEP
    assert entries[5].at == AT - timedelta(minutes=1)  # when the debtor wrote
    assert entries[7].at == AT - timedelta(hours=1)  # when the call was made
    assert entries[7].detail == {"agent_id": "ag-1", "invoice_ids": [], "promise_date": "2027-03-15",
                                 "promise_amount_cents": 5_000}
    assert {x.event_id for x in entries} == {e.event_id for e in events}


def test_a_cursor_round_trips() -> None:
    assert parse_cursor(cursor(AT, 42)) == (AT, 42)
