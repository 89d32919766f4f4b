"""The send-time gate, held messages and the case states against a real PostgreSQL (integration): what is
held and until when, released once at its moment through the same pipeline, withdrawn when its case stops or
pauses; invoices of closed cases dropped; landlines, invalid addresses and agency opt-outs across creditors."""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from regua_compliance import ContactPolicy
from regua_contracts.cases import CasePaused, CaseStopped
from regua_contracts.common import Creditor, InvoiceSummary
from regua_contracts.contacts import ContactRequested, Recipient
from regua_dispatch import cases, facts, holds, inbound, ledger
from regua_dispatch.phones import phone_key
from regua_dispatch.pipeline import Dispatcher as TextDispatcher
from regua_dispatch.pipeline import Failed, Message, Sent, gate
from regua_dispatch.provider import Calling
from regua_platform.clock import SimulatedClock

SP = ZoneInfo("America/Sao_Paulo")
MOBILE = "+5511987654321"
LANDLINE = "+551132345678"


def local(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=SP).astimezone(UTC)


class FakeAdapter:
    """A provider that records what it was asked to send."""

    look_up = None

    def __init__(self, channel: str = "sms") -> None:
        self.channel = channel
        self.sent: list[tuple[UUID, list[UUID]]] = []

    def address_key(self, command: ContactRequested) -> str | None:
        return phone_key(command.recipient.phone) if command.recipient.phone else None

    async def compose(self, conn: asyncpg.Connection, commands: Sequence[ContactRequested],
                      at: datetime) -> dict[UUID, Message | Failed]:
        return {c.step_id: Message({"to": c.recipient.phone}, {"template": c.template}) for c in commands}

    async def send(self, command: ContactRequested, message: Message, calling: Calling) -> Sent | Failed:
        await calling()
        self.sent.append((command.step_id, [i.invoice_id for i in command.invoices]))
        return Sent(f"p-{command.step_id}")


def command(at: datetime, *, invoices: int = 1, template: str = "notice", step_key: str = "D+1",
            phone: str = MOBILE, state: str = "SP", tenant: str = "acme", debtor: UUID | None = None,
            person: UUID | None = None, channel: str = "sms", **extra: Any) -> ContactRequested:
    return ContactRequested(
        occurred_at=at, tenant_id=tenant, step_id=uuid.uuid4(), step_key=step_key, channel=channel,
        template=template, tone="friendly",
        recipient=Recipient(debtor_id=debtor or uuid.uuid4(), name="Ana Souza", phone=phone, state=state,
                            person_id=person, **extra),
        creditor=Creditor(name="Loja", cnpj="11222333000181", address="Rua Augusta, 500"),
        invoices=[InvoiceSummary(invoice_id=uuid.uuid4(), external_id=f"X{n}", amount_cents=10_000,
                                 due_date=date(2027, 3, 1)) for n in range(invoices)],
        scheduled_for=at)


async def attempts(pool: asyncpg.Pool, step: UUID) -> tuple[str, str | None]:
    row = await pool.fetchrow("SELECT status, reason FROM dispatch_attempts WHERE step_id = $1", step)
    return row["status"], row["reason"]


async def attempted(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    found = [json.loads(r["payload"]) for r in rows]
    return [(e["outcome"], e["reason"]) for e in found if e["type"] == "contact.attempted.v1"]


def dispatcher(pool: asyncpg.Pool, clock: SimulatedClock, channel: str = "sms") -> tuple[TextDispatcher, FakeAdapter]:
    adapter = FakeAdapter(channel)
    return TextDispatcher(pool, adapter, clock, 4), adapter


async def release_due(pool: asyncpg.Pool, d: TextDispatcher, clock: SimulatedClock) -> int:
    async with pool.acquire() as conn, conn.transaction():
        due = await holds.lease_due(conn, clock.now(), 100)
    if due:
        await d.release(due)
    return len(due)


async def test_a_late_command_is_held_until_the_next_morning_and_sent_once_then(
        dispatch_pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(local(2027, 3, 9, 23, 30))  # a Tuesday, 23:30 in São Paulo
    d, adapter = dispatcher(dispatch_pool, clock)
    c = command(local(2027, 3, 9, 10))
    assert await d.dispatch([c]) == []
    assert adapter.sent == [] and await attempts(dispatch_pool, c.step_id) == ("held", "contact-hours")
    held = await holds.pending(dispatch_pool, c.step_id)
    assert held is not None and held["release_at"] == local(2027, 3, 10, 8)
    assert await d.dispatch([c]) == []  # redelivered while held: nothing more
    clock.set(local(2027, 3, 10, 7, 59))
    assert await release_due(dispatch_pool, d, clock) == 0 and adapter.sent == []
    clock.set(local(2027, 3, 10, 8))
    assert await release_due(dispatch_pool, d, clock) == 1
    assert adapter.sent == [(c.step_id, [c.invoices[0].invoice_id])]
    assert await attempts(dispatch_pool, c.step_id) == ("sent", None)
    assert await holds.pending(dispatch_pool, c.step_id) is None
    assert await release_due(dispatch_pool, d, clock) == 0 and len(adapter.sent) == 1
    assert await attempted(dispatch_pool) == [("sent", "")]


async def test_a_whatsapp_on_a_sunday_in_rj_waits_for_monday_nine_and_the_interval_for_the_next(
        dispatch_pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(local(2027, 3, 14, 11))  # Sunday
    d, adapter = dispatcher(dispatch_pool, clock, "whatsapp")
    debtor = uuid.uuid4()
    c = command(clock.now(), state="RJ", debtor=debtor, channel="whatsapp")
    await d.dispatch([c])
    held = await holds.pending(dispatch_pool, c.step_id)
    assert held is not None and (held["rule"], held["release_at"]) == ("no-contact-day", local(2027, 3, 15, 9))
    clock.set(local(2027, 3, 15, 9))
    assert await release_due(dispatch_pool, d, clock) == 1 and len(adapter.sent) == 1
    # A day later: within 48 hours of the last WhatsApp, held; an answer to the debtor's request is not.
    clock.set(local(2027, 3, 16, 10))
    again = command(clock.now(), state="RJ", debtor=debtor, channel="whatsapp", step_key="D+3")
    answer = command(clock.now(), state="RJ", debtor=debtor, channel="whatsapp", step_key=f"answer:{uuid.uuid4()}",
                     template="negotiation")
    await d.dispatch([again, answer])
    held = await holds.pending(dispatch_pool, again.step_id)
    assert held is not None and (held["rule"], held["release_at"]) == ("whatsapp-interval", local(2027, 3, 17, 9))
    assert [s for s, _ in adapter.sent] == [c.step_id, answer.step_id]


async def test_a_held_message_is_withdrawn_when_its_case_stops_but_a_thank_you_is_not(
        dispatch_pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(local(2027, 3, 9, 22))
    d, adapter = dispatcher(dispatch_pool, clock)
    notice = command(clock.now())
    thanks = command(clock.now(), template="thank_you", step_key="thank-you")
    agreement = command(clock.now(), template="agreement", step_key="agreement")
    await d.dispatch([notice, thanks, agreement])
    assert [s for s, _ in adapter.sent] == [agreement.step_id]  # an answer to what the debtor just did: at once
    assert (await attempts(dispatch_pool, thanks.step_id))[0] == "held"  # contact hours apply to thanks too
    async with dispatch_pool.acquire() as conn, conn.transaction():
        for c in (notice, thanks):
            stopped = CaseStopped(occurred_at=clock.now(), tenant_id="acme", invoice_id=c.invoices[0].invoice_id,
                                  debtor_id=c.recipient.debtor_id, reason="paid", cancelled_steps=1)
            state = await cases.apply(conn, stopped)
            assert state is not None and state.blocks() == "case stopped: paid"
            assert await cases.apply(conn, stopped) is None  # a replay changes nothing
        gone = await holds.withdraw(conn, "sms", [i.invoice_id for c in (notice, thanks) for i in c.invoices],
                                    clock.now())
    assert [(c.step_id, why) for c, why in gone] == [(notice.step_id, "case stopped: paid")]
    assert await attempts(dispatch_pool, notice.step_id) == ("suppressed", "case stopped: paid")
    assert ("suppressed", "case stopped: paid") in await attempted(dispatch_pool)
    clock.set(local(2027, 3, 10, 8))
    assert await release_due(dispatch_pool, d, clock) == 1
    assert [s for s, _ in adapter.sent] == [agreement.step_id, thanks.step_id]


async def test_invoices_of_paused_or_stopped_cases_are_dropped_and_unknown_cases_count_as_active(
        dispatch_pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(local(2027, 3, 9, 10))
    d, adapter = dispatcher(dispatch_pool, clock)
    two = command(clock.now(), invoices=2)
    disputed = command(clock.now())
    unknown = command(clock.now())
    async with dispatch_pool.acquire() as conn, conn.transaction():
        for invoice, c in ((two.invoices[0].invoice_id, two), (disputed.invoices[0].invoice_id, disputed)):
            await cases.apply(conn, CasePaused(occurred_at=clock.now(), tenant_id="acme", invoice_id=invoice,
                                               debtor_id=c.recipient.debtor_id, reason="dispute"))
    await d.dispatch([two, disputed, unknown])
    assert adapter.sent == [(two.step_id, [two.invoices[1].invoice_id]), (unknown.step_id,
                                                                          [unknown.invoices[0].invoice_id])]
    assert await attempts(dispatch_pool, disputed.step_id) == ("suppressed", "case paused: dispute")


async def test_landlines_invalid_addresses_and_agency_opt_outs_reach_every_creditor(
        dispatch_pool: asyncpg.Pool) -> None:
    at = local(2027, 3, 9, 10)
    person = uuid.uuid4()
    landline = command(at, phone=LANDLINE)
    bad_for_acme = command(at, phone="+5511912345678", person=person)
    opted = command(at, person=person, phone="+5511912340000")
    async with dispatch_pool.acquire() as conn, conn.transaction():
        await facts.remember(conn, "acme", [bad_for_acme.recipient, opted.recipient])
        await facts.record_invalid(conn, "acme", bad_for_acme.recipient.debtor_id, "phone", "invalid_number")
        await facts.record_opt_out(conn, "acme", opted.recipient.debtor_id, "sms", "reply", "agency")
        other_tenant_same_phone = command(at, tenant="beta", phone="+55 (11) 91234-5678")
        other_tenant_same_person = command(at, tenant="beta", person=person, phone="+5511955554444")
        creditor_only = command(at, tenant="gama")
        await facts.record_opt_out(conn, "gama", creditor_only.recipient.debtor_id, "sms", "reply")
        other_creditor = command(at, tenant="delta", debtor=creditor_only.recipient.debtor_id)
        found = await gate(conn, "sms", [landline, other_tenant_same_phone, other_tenant_same_person,
                                         creditor_only, other_creditor], at, d_policy())
    assert found[landline.step_id] == "not a mobile number"
    assert found[other_tenant_same_phone.step_id] == "invalid phone"
    assert found[other_tenant_same_person.step_id] == "opted out of SMS"
    assert found[creditor_only.step_id] == "opted out of SMS"
    assert isinstance(found[other_creditor.step_id], ContactRequested)  # a creditor's opt-out is its own


async def test_a_debtor_in_western_amazonas_is_held_by_their_own_clock(dispatch_pool: asyncpg.Pool) -> None:
    # 08:30 in Manaus is 07:30 in Tabatinga (UTC-5): inside hours by the state's clock, not the debtor's.
    at = datetime(2027, 3, 9, 12, 30, tzinfo=UTC)
    c = command(at, state="AM", postcode="69640000")
    async with dispatch_pool.acquire() as conn, conn.transaction():
        found = await gate(conn, "sms", [c], at, d_policy())
    verdict = found[c.step_id]
    assert isinstance(verdict, holds.Hold) and verdict.release_at == at + timedelta(minutes=30)


def d_policy() -> ContactPolicy:
    return ContactPolicy()


async def test_a_release_that_died_after_its_call_is_settled_not_sent_again(dispatch_pool: asyncpg.Pool) -> None:
    clock = SimulatedClock(local(2027, 3, 9, 23, 30))
    d, adapter = dispatcher(dispatch_pool, clock, "whatsapp")
    c = command(local(2027, 3, 9, 10), channel="whatsapp")
    assert await d.dispatch([c]) == []  # held until 08:00
    clock.set(local(2027, 3, 10, 8))
    async with dispatch_pool.acquire() as conn, conn.transaction():  # a release takes it, calls, and dies
        assert [x.step_id for x in await holds.lease_due(conn, clock.now(), 10)] == [c.step_id]
        await ledger.reclaim(conn, [c.step_id], uuid.uuid4())
    await ledger.mark_called(dispatch_pool, [c.step_id])
    async with dispatch_pool.acquire() as conn, conn.transaction():  # the provider's status names the step
        await inbound.apply_receipts(conn, "whatsapp", [inbound.Receipt("wamid.9", "sent", step_id=c.step_id)],
                                     clock.now())
    await dispatch_pool.execute("UPDATE held_messages SET leased_until = now() - interval '1 second'")

    assert await release_due(dispatch_pool, d, clock) == 1  # the lease ended: taken over
    assert adapter.sent == []  # settled by the status, not sent again
    row = await dispatch_pool.fetchrow("SELECT status, provider_id FROM dispatch_attempts WHERE step_id = $1",
                                       c.step_id)
    assert (row["status"], row["provider_id"]) == ("sent", "wamid.9")
    assert await holds.pending(dispatch_pool, c.step_id) is None
    assert await attempted(dispatch_pool) == [("sent", "")]
