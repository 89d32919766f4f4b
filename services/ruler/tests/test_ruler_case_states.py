"""Case states and the person behind the debtor, against a real PostgreSQL: pause reasons compose, an
agreement pauses a finished case and returns it there, caps and bad addresses are the person's across
creditors, landlines get no texts, the address sets the clock, a prior notice states its deadline, and the
migration keeps what was stored before."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from prometheus_client import REGISTRY

from regua_compliance import ContactPolicy
from regua_contracts.cases import CASE_EVENT
from regua_contracts.common import Creditor, Debtor, NewInvoice
from regua_contracts.contacts import CONTACT_REQUESTED, CallOutcomeRecorded, ContactOptedOut, ContactRequested
from regua_contracts.invoices import InvoiceRegistered
from regua_localstack.testing import migrated_pool, scratch_database
from regua_ruler import handlers
from regua_ruler.domain.planning import Schedule
from regua_ruler.domain.rulers import parse_ruler
from regua_ruler.profiles import Profile
from regua_ruler.store import cases, rulers

SP = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2027, 3, 10, 10, tzinfo=SP)  # a Wednesday, inside every window
DUE = date(2027, 3, 9)  # D+1 is NOW's day, at 10:00 local
SCHEDULE = Schedule(send_hour=10, late_grace=timedelta(days=1), policy=ContactPolicy())
PROFILE = Profile("unknown", "unknown", False)
CREDITOR = Creditor(name="Loja Exemplo Ltda", cnpj="11222333000181", address="Rua A, 1")
MOBILE, OTHER_MOBILE, LANDLINE = "+5511987650001", "+5511987650002", "+551133334444"
CPF = "52998224725"


@pytest.fixture
async def pool() -> AsyncIterator[asyncpg.Pool]:
    async with scratch_database("regua_ruler_states_test") as dsn, migrated_pool(dsn, "regua_ruler") as migrated:
        yield migrated


async def tenant(conn: asyncpg.Connection, send: str = "[email]", template: str = "notice") -> str:
    """A new tenant whose ruler has one step, D+1, on ``send``."""
    tenant_id = f"t-{uuid.uuid4().hex[:8]}"
    ruler = parse_ruler(f"name: default\nsegments:\n  - name: all\n    steps:\n      - {{key: D+1, offset_days: 1, "
                        f"send: {send}, template: {template}, tone: firm}}\n")
    await rulers.save_ruler(conn, tenant_id, ruler, "")
    return tenant_id


async def open_case(conn: asyncpg.Connection, tenant_id: str, person_id: uuid.UUID | None = None,
                    debtor_id: uuid.UUID | None = None, **debtor: Any) -> InvoiceRegistered:
    fields: dict[str, Any] = {"document": CPF, "name": "Ana Souza", "email": "ana@example.com", "state": "SP"}
    event = InvoiceRegistered(
        occurred_at=NOW, tenant_id=tenant_id, invoice_id=uuid.uuid4(), debtor_id=debtor_id or uuid.uuid4(),
        creditor=CREDITOR, person_id=person_id,
        invoice=NewInvoice(external_id=f"F-{uuid.uuid4().hex[:6]}", amount_cents=10_000, due_date=DUE,
                           debtor=Debtor(**(fields | debtor))))
    await handlers.open_case(conn, event, PROFILE, NOW - timedelta(days=2), SCHEDULE)
    return event


async def outbox(conn: asyncpg.Connection, since: int = 0) -> list[tuple[str, Any]]:
    rows = await conn.fetch("SELECT topic, payload FROM outbox WHERE id > $1 ORDER BY id", since)
    out = []
    for r in rows:
        event = (CASE_EVENT if r["topic"] == "regua.cases.v1" else CONTACT_REQUESTED).validate_json(r["payload"])
        out.append((r["topic"], event))
    return out


async def last_id(conn: asyncpg.Connection) -> int:
    value: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    return value


async def commands(conn: asyncpg.Connection, since: int = 0) -> list[ContactRequested]:
    return [e for t, e in await outbox(conn, since) if isinstance(e, ContactRequested)]


async def case_events(conn: asyncpg.Connection, since: int = 0) -> list[Any]:
    return [e for t, e in await outbox(conn, since) if t == "regua.cases.v1"]


async def status(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> tuple[str, list[str]]:
    case = await cases.case_of(conn, (await conn.fetchval(
        "SELECT tenant_id FROM cases WHERE invoice_id = $1", invoice_id)), invoice_id)
    assert case is not None
    return case["status"], [p["reason"] for p in await cases.pauses_of(conn, invoice_id)]


async def held(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> list[str]:
    return [r["rule"] for r in await conn.fetch("SELECT rule FROM gate_blocks WHERE invoice_id = $1", invoice_id)]


# --- 1. pause reasons compose --------------------------------------------------------------------------

async def test_pause_reasons_compose_and_an_expired_promise_lifts_only_itself(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        case = await open_case(conn, await tenant(conn))
        i, d, t = case.invoice_id, case.debtor_id, case.tenant_id
        await handlers.pause(conn, t, d, [i], "dispute", None, NOW - timedelta(hours=3))
        mark = await last_id(conn)
        await handlers.pause(conn, t, d, [i], "promise", NOW - timedelta(hours=1), NOW - timedelta(hours=2))
        [paused] = await case_events(conn, mark)
        assert (paused.type, paused.reason, sorted(paused.reasons)) == ("case.paused.v1", "promise",
                                                                        ["dispute", "promise"])
        mark = await last_id(conn)
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)  # the promise has expired; the dispute stands
    async with pool.acquire() as conn:
        assert await status(conn, i) == ("paused", ["dispute"])
        [lifted] = await case_events(conn, mark)
        assert (lifted.type, lifted.reason, lifted.remaining) == ("case.pause-lifted.v1", "promise", ["dispute"])
        assert await commands(conn, mark) == []  # the D+1 step waits for the creditor's answer
        mark = await last_id(conn)
        async with conn.transaction():
            changed = await handlers.lift_pause(conn, [i], "dispute", NOW)  # the dispute is rejected
        assert [c.status for c in changed] == ["active"]
        [resumed] = await case_events(conn, mark)
        assert (resumed.type, resumed.reason, resumed.status) == ("case.resumed.v1", "dispute", "active")
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert [c.step_key for c in await commands(conn, mark)] == ["D+1"]


async def test_a_broken_agreement_does_not_lift_a_dispute_and_a_stopped_case_takes_no_pause(
        pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        case = await open_case(conn, await tenant(conn))
        stopped = await open_case(conn, case.tenant_id, debtor_id=case.debtor_id)
        i, d, t = case.invoice_id, case.debtor_id, case.tenant_id
        await handlers.stop_case(conn, t, stopped.invoice_id, d, "paid", NOW)
        assert await handlers.pause(conn, t, d, [i, stopped.invoice_id], "agreement", None, NOW) == [i]
        await handlers.pause(conn, t, d, [i], "dispute", None, NOW)
        mark = await last_id(conn)
        await handlers.lift_pause(conn, [i, stopped.invoice_id], "agreement", NOW)  # the agreement broke
        assert await status(conn, i) == ("paused", ["dispute"])
        assert [(e.type, e.remaining) for e in await case_events(conn, mark)] == [
            ("case.pause-lifted.v1", ["dispute"])]
        assert (await status(conn, stopped.invoice_id))[0] == "stopped"


# --- 2. agreements on finished cases -------------------------------------------------------------------

async def test_an_agreement_pauses_an_exhausted_case_and_its_end_returns_it_to_exhausted(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        case = await open_case(conn, await tenant(conn))
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)  # the only step goes out: the case is exhausted
    i, d, t = case.invoice_id, case.debtor_id, case.tenant_id
    async with pool.acquire() as conn:
        assert await status(conn, i) == ("exhausted", [])
        async with conn.transaction():
            assert await handlers.pause(conn, t, d, [i], "agreement", None, NOW) == [i]
        assert await status(conn, i) == ("paused", ["agreement"])
        # Paused, it does not answer a request for offers.
        assert await cases.add_answer_step(conn, t, d, "agent:000000000001", ["email"], "negotiation", NOW,
                                           NOW.date(), timedelta(hours=1)) is None
        mark = await last_id(conn)
        async with conn.transaction():
            await handlers.lift_pause(conn, [i], "agreement", NOW)  # broken or cancelled
        assert await status(conn, i) == ("exhausted", [])
        [resumed] = await case_events(conn, mark)
        assert (resumed.type, resumed.status) == ("case.resumed.v1", "exhausted")
    await handlers.fire_due_steps(pool, NOW + timedelta(hours=1), SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert await commands(conn, mark) == []  # no planned step fires
        # Back to exhausted, it answers requests for offers again.
        assert await cases.add_answer_step(conn, t, d, "agent:000000000002", ["email"], "negotiation", NOW,
                                           NOW.date(), timedelta(hours=1)) == i


# --- 4. the debtor is a person ------------------------------------------------------------------------

async def test_calls_are_capped_per_person_across_creditors(pool: asyncpg.Pool) -> None:
    person, stranger = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        a = await open_case(conn, await tenant(conn, "[phone]"), person, phone=MOBILE)
        tenant_b = await tenant(conn, "[phone]")
        b = await open_case(conn, tenant_b, person, phone=MOBILE)
        control = await open_case(conn, tenant_b, stranger, phone=OTHER_MOBILE)
        # Creditor A's agents called the person 7 times this week (a's own step is not due yet).
        await conn.execute("UPDATE case_steps SET fire_at = $2 WHERE invoice_id = $1", a.invoice_id,
                           NOW + timedelta(days=30))
        for n in range(7):
            call = CallOutcomeRecorded(occurred_at=NOW, tenant_id=a.tenant_id, step_id=uuid.uuid4(),
                                       debtor_id=a.debtor_id, invoice_ids=[a.invoice_id], outcome="no_answer",
                                       agent_id="ag-1", called_at=NOW - timedelta(days=6, hours=-n))
            await handlers.record_call(conn, call, NOW)
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        sent = await commands(conn)
        assert [c.recipient.debtor_id for c in sent] == [control.debtor_id]  # B's call would be the 8th
        assert await held(conn, b.invoice_id) == ["call-cap"]


async def test_a_conversation_with_one_creditor_silences_every_creditors_calls(pool: asyncpg.Pool) -> None:
    person = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        a = await open_case(conn, await tenant(conn, "[phone]"), person, phone=MOBILE)
        await conn.execute("UPDATE case_steps SET fire_at = $2 WHERE invoice_id = $1", a.invoice_id,
                           NOW + timedelta(days=30))
        b = await open_case(conn, await tenant(conn, "[phone]"), person, phone=MOBILE)
        await handlers.record_call(conn, CallOutcomeRecorded(
            occurred_at=NOW, tenant_id=a.tenant_id, step_id=uuid.uuid4(), debtor_id=a.debtor_id,
            invoice_ids=[a.invoice_id], outcome="refused", agent_id="ag-1", called_at=NOW - timedelta(days=2)), NOW)
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert await commands(conn) == []
        assert await held(conn, b.invoice_id) == ["quiet-after-conversation"]


async def test_a_wrong_number_is_wrong_for_every_creditor_but_another_number_is_not(pool: asyncpg.Pool) -> None:
    person = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        a = await open_case(conn, await tenant(conn, "[phone]"), person, phone=MOBILE)
        await conn.execute("UPDATE case_steps SET fire_at = $2 WHERE invoice_id = $1", a.invoice_id,
                           NOW + timedelta(days=30))
        await handlers.record_call(conn, CallOutcomeRecorded(
            occurred_at=NOW, tenant_id=a.tenant_id, step_id=uuid.uuid4(), debtor_id=a.debtor_id,
            invoice_ids=[a.invoice_id], outcome="wrong_number", agent_id="ag-1",
            called_at=NOW - timedelta(days=10)), NOW)
        same = await open_case(conn, await tenant(conn, "[[sms, email]]"), person, phone=MOBILE)
        other = await open_case(conn, await tenant(conn, "[[sms, email]]"), person, phone=OTHER_MOBILE)
        stored = [r["address_sha256"] for r in await conn.fetch("SELECT address_sha256 FROM invalid_addresses")]
        assert stored == [hashlib.sha256(MOBILE.encode()).hexdigest()]  # the number itself is never stored
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        channel_of = {c.invoices[0].invoice_id: c.channel for c in await commands(conn)}
        assert channel_of == {same.invoice_id: "email", other.invoice_id: "sms"}


async def test_opt_outs_are_per_creditor_unless_agency_wide(pool: asyncpg.Pool) -> None:
    person = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        a = await open_case(conn, await tenant(conn, "[[sms, email]]"), person, phone=MOBILE)
        b = await open_case(conn, await tenant(conn, "[[sms, email]]"), person, phone=MOBILE)
        await handlers.opt_out(conn, ContactOptedOut(occurred_at=NOW, tenant_id=a.tenant_id, debtor_id=a.debtor_id,
                                                     channel="sms", source="reply"))
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert {c.tenant_id: c.channel for c in await commands(conn)} == {a.tenant_id: "email", b.tenant_id: "sms"}
        async with conn.transaction():
            c = await open_case(conn, await tenant(conn, "[[sms, email]]"), person, phone=MOBILE)
            await handlers.opt_out(conn, ContactOptedOut(occurred_at=NOW, tenant_id=a.tenant_id,
                                                         debtor_id=a.debtor_id, channel="sms", source="reply",
                                                         scope="agency"))
        mark = await last_id(conn)
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert [(x.tenant_id, x.channel) for x in await commands(conn, mark)] == [(c.tenant_id, "email")]


async def test_a_landline_gets_no_sms_or_whatsapp(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await open_case(conn, await tenant(conn, "[[sms, whatsapp, email]]"), phone=LANDLINE)
        only_text = await open_case(conn, await tenant(conn, "[[sms, whatsapp]]"), phone=LANDLINE)
    await handlers.fire_due_steps(pool, NOW, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert [c.channel for c in await commands(conn)] == ["email"]
        reason = await conn.fetchval("SELECT reason FROM case_steps WHERE invoice_id = $1", only_text.invoice_id)
        assert reason == "no contact for sms/whatsapp"  # planned as unreachable: no text reaches a landline


async def test_commands_carry_the_person_and_the_address(pool: asyncpg.Pool) -> None:
    person = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        t = await tenant(conn)
        await open_case(conn, t, person, state="AM", postcode="69640-000", city_ibge="1304062")
        anonymous = await open_case(conn, t)
    await handlers.fire_due_steps(pool, NOW + timedelta(hours=2), SCHEDULE, 10)
    async with pool.acquire() as conn:
        recipients = {c.recipient.person_id: c.recipient for c in await commands(conn)}
    assert (recipients[person].postcode, recipients[person].city_ibge) == ("69640000", "1304062")
    fallback = uuid.UUID(hashlib.md5(f"{t}:{anonymous.debtor_id}".encode()).hexdigest())
    assert set(recipients) == {person, fallback}  # without a person id, the tenant's debtor stands alone


# --- 5. the address sets the clock --------------------------------------------------------------------

async def test_fernando_de_noronha_is_judged_on_its_own_clock(pool: asyncpg.Pool) -> None:
    evening = datetime(2027, 3, 10, 19, 30, tzinfo=SP)  # 20:30 in Noronha (UTC-2), 19:30 in Recife
    async with pool.acquire() as conn, conn.transaction():
        noronha = await open_case(conn, await tenant(conn, "[sms]"), state="PE", phone=MOBILE,
                                  postcode="53990-000")
        recife = await open_case(conn, await tenant(conn, "[sms]"), state="PE", phone=OTHER_MOBILE)
        caller = await open_case(conn, await tenant(conn, "[phone]"), state="PE", phone="+5581987650003",
                                 city_ibge="2605459")
    await handlers.fire_due_steps(pool, evening, SCHEDULE, 10)
    async with pool.acquire() as conn:
        assert [c.recipient.debtor_id for c in await commands(conn)] == [recife.debtor_id]
        for held_case in (noronha, caller):
            assert await held(conn, held_case.invoice_id) == ["contact-hours"]
            retry = await conn.fetchval("SELECT fire_at FROM case_steps WHERE invoice_id = $1", held_case.invoice_id)
            assert retry == datetime(2027, 3, 11, 8, tzinfo=ZoneInfo("America/Noronha"))


async def test_a_promise_pause_ends_at_midnight_on_the_debtors_clock(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        case = await open_case(conn, await tenant(conn, "[phone]"), state="AM", phone=MOBILE, postcode="69640000")
        await handlers.record_call(conn, CallOutcomeRecorded(
            occurred_at=NOW, tenant_id=case.tenant_id, step_id=uuid.uuid4(), debtor_id=case.debtor_id,
            invoice_ids=[case.invoice_id], outcome="promise_to_pay", agent_id="ag-1", called_at=NOW,
            promise_date=date(2027, 3, 12)), NOW)
        [pause] = await cases.pauses_of(conn, case.invoice_id)
    assert pause["until"] == datetime(2027, 3, 13, tzinfo=ZoneInfo("America/Eirunepe"))  # UTC-5, not Manaus


# --- 6. the prior notice states its deadline -------------------------------------------------------------

@pytest.mark.parametrize(("state", "window"), [("SP", 20), ("MT", 45), ("PI", 15), ("BA", 10)])
async def test_a_bureau_notice_states_the_last_day_to_pay(pool: asyncpg.Pool, state: str, window: int) -> None:
    late = datetime(2027, 3, 10, 19, 59, tzinfo=SP)  # still the 10th everywhere (Cuiabá is an hour behind)
    async with pool.acquire() as conn, conn.transaction():
        await open_case(conn, await tenant(conn, "[email]", "bureau_notice"), state=state)
        await open_case(conn, await tenant(conn, "[email]", "notice"), state=state)
    await handlers.fire_due_steps(pool, late, SCHEDULE, 10)
    async with pool.acquire() as conn:
        deadlines = {c.template: c.pay_by for c in await commands(conn)}
    assert deadlines == {"bureau_notice": date(2027, 3, 10) + timedelta(days=window), "notice": None}


# --- the migration keeps what was stored -----------------------------------------------------------------

async def test_migration_002_keeps_pauses_invalid_contacts_and_history() -> None:
    scripts = resources.files("regua_ruler") / "migrations"
    first, second = ((scripts / name).read_text() for name in ("001_ruler.sql", "002_pauses_and_persons.sql"))
    tenant_id, debtor_id, invoice_id = "t-old", uuid.uuid4(), uuid.uuid4()
    async with scratch_database("regua_ruler_mig_test") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(first)
            recipient = json.dumps({"debtor_id": str(debtor_id), "name": "Ana", "email": "Ana@Example.com",
                                    "phone": MOBILE, "state": "SP"})
            await conn.execute(
                "INSERT INTO cases (invoice_id, tenant_id, debtor_id, status, pause_reason, paused_until, ruler_name, "
                "ruler_version, segment, variant, amount_cents, due_date, recipient, creditor, invoice, opened_at) "
                "VALUES ($1, $2, $3, 'paused', 'promise', $4, 'default', 1, 'all', 'champion', 100, $5, $6, '{}', "
                "'{}', $4)", invoice_id, tenant_id, debtor_id, NOW, DUE, recipient)
            await conn.execute("INSERT INTO debtor_facts (tenant_id, debtor_id, opted_out, invalid) "
                               "VALUES ($1, $2, '{sms}', '{email,phone}')", tenant_id, debtor_id)
            await conn.execute("INSERT INTO debtor_contacts (tenant_id, debtor_id, channel, at) "
                               "VALUES ($1, $2, 'phone', $3)", tenant_id, debtor_id, NOW)
            await conn.execute(second)
            person = uuid.UUID(hashlib.md5(f"{tenant_id}:{debtor_id}".encode()).hexdigest())
            pause = await conn.fetchrow("SELECT reason, until FROM case_pauses WHERE invoice_id = $1", invoice_id)
            assert (pause["reason"], pause["until"]) == ("promise", NOW)
            case = await conn.fetchrow("SELECT status, resume_status, person_id, recipient FROM cases")
            assert (case["status"], case["resume_status"], case["person_id"]) == ("paused", "active", person)
            assert json.loads(case["recipient"])["person_id"] == str(person)
            assert await conn.fetchval("SELECT person_id FROM debtor_contacts") == person
            assert {r["address_sha256"] for r in await conn.fetch("SELECT address_sha256 FROM invalid_addresses")} == {
                hashlib.sha256(b"ana@example.com").hexdigest(), hashlib.sha256(MOBILE.encode()).hexdigest()}
            assert await conn.fetchval("SELECT opted_out FROM debtor_facts") == ["sms"]
        finally:
            await conn.close()


# --- metrics ----------------------------------------------------------------------------------------------

def _skipped(stage: str, reason: str) -> float:
    return REGISTRY.get_sample_value("regua_ruler_steps_skipped_total", {"stage": stage, "reason": reason}) or 0.0


async def test_a_step_skipped_when_the_case_opens_is_counted_with_its_reason(pool: asyncpg.Pool) -> None:
    before = _skipped("planning", "no contact")
    async with pool.acquire() as conn:
        await open_case(conn, await tenant(conn, "[sms]"))  # no phone: the only step cannot reach anyone
        await open_case(conn, await tenant(conn, "[email]"))  # reachable: planned, not skipped
    assert _skipped("planning", "no contact") == before + 1
