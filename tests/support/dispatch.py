"""Shared steps of the dispatchers' case-state and send-time tests: a contact command delivered straight to a
channel's topic (as a backlog, a slow retry or a dead-letter replay delivers it late), days chosen by the
contact calendar, attempts read from regua.contacts.v1."""

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx

from regua_compliance import is_no_contact_day
from regua_contracts import topics
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import CONTACT_REQUESTED, ContactAttempted, ContactRequested, Recipient
from regua_localstack.topics import produce, read_topic
from tests.support.channels import contact_events, wait_consumed
from tests.support.client import Platform, eventually

SP = ZoneInfo("America/Sao_Paulo")
CREDITOR = Creditor(name="Loja Pontual Ltda", cnpj="11222333000181", address="Rua Augusta, 500, São Paulo - SP")


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SP) -> datetime:
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def today(platform: Platform) -> date:
    return platform.now().astimezone(SP).date()


def working_day_before_working_day(platform: Platform, state: str = "SP") -> date:
    """A weekday after the ruler's today whose next day is a weekday contact day too."""
    day = today(platform) + timedelta(days=1)
    while day.weekday() >= 5 or (day + timedelta(days=1)).weekday() >= 5 or is_no_contact_day(day, state) \
            or is_no_contact_day(day + timedelta(days=1), state):
        day += timedelta(days=1)
    return day


def next_sunday_before_a_working_monday(platform: Platform, state: str) -> date:
    day = today(platform) + timedelta(days=1)
    while day.weekday() != 6 or is_no_contact_day(day + timedelta(days=1), state):
        day += timedelta(days=1)
    return day


def tenant_id_of(platform: Platform, service: str, api_key: str) -> str:
    platform.wait_tenant_known(service, api_key)
    found: str = httpx.get(f"{platform.stack.url(service)}/v1/ping", headers={"X-API-Key": api_key}).json()["tenant_id"]
    return found


def late_command(platform: Platform, tenant_id: str, channel: str, phone: str | None, *, state: str = "SP",
                 template: str = "notice", step_key: str = "D+1", debtor_id: UUID | None = None,
                 invoices: list[InvoiceSummary] | None = None, scheduled_for: datetime | None = None,
                 email: str | None = None) -> ContactRequested:
    """A command on ``channel``'s topic stamped with the ruler's now, planned earlier (it arrives late)."""
    assert platform.stack.bootstrap
    now = platform.now()
    command = ContactRequested(
        occurred_at=now, tenant_id=tenant_id, step_id=uuid.uuid4(), step_key=step_key, channel=channel,
        template=template, tone="informative",
        recipient=Recipient(debtor_id=debtor_id or uuid.uuid4(), name="Ana Beatriz Souza", phone=phone,
                            email=email, state=state),
        creditor=CREDITOR,
        invoices=invoices or [InvoiceSummary(invoice_id=uuid.uuid4(), external_id=f"LT-{uuid.uuid4().hex[:8]}",
                                             amount_cents=15_000, due_date=today(platform) - timedelta(days=3))],
        scheduled_for=scheduled_for or now - timedelta(hours=12))
    asyncio.run(produce(platform.stack.bootstrap, topics.contact_commands(channel),
                        [(str(command.recipient.debtor_id).encode(), command.model_dump_json().encode(), {})],
                        platform.stack.signer("ruler")))
    return command


def commands_for(platform: Platform, channel: str, debtor_id: UUID | str, template: str) -> list[ContactRequested]:
    assert platform.stack.bootstrap
    found = [CONTACT_REQUESTED.validate_json(r["value"])
             for r in asyncio.run(read_topic(platform.stack.bootstrap, topics.contact_commands(channel)))]
    return [c for c in found if str(c.recipient.debtor_id) == str(debtor_id) and c.template == template]


def invoice_summary(invoice: dict[str, Any]) -> InvoiceSummary:
    return InvoiceSummary(invoice_id=invoice["id"], external_id=invoice["external_id"],
                          amount_cents=invoice["amount_cents"], due_date=invoice["due_date"])


def attempts_of(platform: Platform, debtor_id: UUID | str, step_id: UUID | None = None) -> list[ContactAttempted]:
    return [e for e in contact_events(platform, str(debtor_id)) if isinstance(e, ContactAttempted)
            and (step_id is None or e.step_id == step_id)]


def wait_attempt(platform: Platform, debtor_id: UUID | str, step_id: UUID | None = None,
                 timeout: float = 30, channel: str | None = None) -> ContactAttempted:
    """The debtor's first contact.attempted (of that step, on that channel, when given)."""
    def found() -> list[ContactAttempted]:
        return [a for a in attempts_of(platform, debtor_id, step_id) if channel is None or a.channel == channel]

    return eventually(found, timeout, what="contact.attempted")[0]


def dispatched(platform: Platform, channel: str) -> None:
    """Until the channel's dispatcher has handled every command on its topic."""
    wait_consumed(platform, f"dispatch-{channel}", topics.contact_commands(channel))


def cases_read(platform: Platform, channel: str, invoice_id: UUID | str | None = None, kind: str = "") -> None:
    """Until the channel's dispatcher has read every case event, after (when given) the ``kind`` event of
    ``invoice_id`` reached the topic: the ruler's outbox relay publishes it a moment after its commit."""
    if invoice_id is not None:
        assert platform.stack.bootstrap
        bootstrap = platform.stack.bootstrap

        def published() -> bool:
            events = [json.loads(r["value"]) for r in asyncio.run(read_topic(bootstrap, topics.CASES))]
            return any(e["invoice_id"] == str(invoice_id) and e["type"] == kind for e in events)

        eventually(published, 30, what=f"{kind} of {invoice_id} on {topics.CASES}")
    wait_consumed(platform, f"dispatch-{channel}-cases", topics.CASES)
