"""A service's side of LGPD requests against real PostgreSQL: its part of an export goes to the outbox once, a
correction rewrites contact objects (nested too), an erasure deletes children before parents and shreds the
debtors' data keys; other debtors are untouched."""

import json
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import ConsumerRecord

from regua_contracts.privacy import (
    AGENCY,
    AnyPrivacyEvent,
    ContactDataCorrected,
    DebtorRef,
    PersonDataExported,
    PersonDataRequested,
    PersonErasureRequested,
)
from regua_platform import pii, privacy
from regua_platform.kafka import Delivery
from regua_platform.pii import Keyring
from regua_platform.privacy import PersonalData, PersonalTable

KEYRING = Keyring({"k": b"k" * 32}, b"i")
HELD = PersonalData("cases-service", (
    PersonalTable("steps", parent=("cases", "case_id")),
    PersonalTable("cases", contact=("recipient",)),
    PersonalTable("holds", contact=("command", "recipient")),
))
ANA = DebtorRef(tenant_id="t1", debtor_id=uuid.uuid4())
BRUNO = DebtorRef(tenant_id="t1", debtor_id=uuid.uuid4())


async def _schema(conn: asyncpg.Connection) -> None:
    await conn.execute("""
        CREATE TABLE cases (case_id uuid PRIMARY KEY, tenant_id text, debtor_id uuid, recipient jsonb);
        CREATE TABLE steps (case_id uuid REFERENCES cases, key text);
        CREATE TABLE holds (tenant_id text, debtor_id uuid, command jsonb);""")
    for who, phone in ((ANA, "+5511911111111"), (BRUNO, "+5511922222222")):
        case = uuid.uuid4()
        await conn.execute("INSERT INTO cases VALUES ($1, $2, $3, $4)", case, who.tenant_id, who.debtor_id,
                           json.dumps({"name": "X", "phone": phone, "email": None}))
        await conn.execute("INSERT INTO steps VALUES ($1, 'D+1')", case)
        await conn.execute("INSERT INTO holds VALUES ($1, $2, $3)", who.tenant_id, who.debtor_id,
                           json.dumps({"step": "D+1", "recipient": {"phone": phone}}))
        await pii.data_key(conn, KEYRING, privacy.debtor_subject(who), create=True)


def _event(cls: type, **fields: object) -> object:
    return cls(occurred_at=datetime.now(UTC), tenant_id=AGENCY, request_id=uuid.uuid4(), person_id=uuid.uuid4(),
               debtors=[ANA], **fields)


async def test_export_correction_and_erasure_of_one_debtor(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await _schema(conn)
        request = _event(PersonDataRequested)
        assert isinstance(request, PersonDataRequested)
        async with conn.transaction():
            await privacy.handle(conn, KEYRING, HELD, [request, request])
        [row] = await conn.fetch("SELECT payload FROM outbox")
        part = json.loads(row["payload"])
        assert (part["type"], part["service"], part["request_id"]) == ("person-data.exported.v1", "cases-service",
                                                                        str(request.request_id))
        assert [c["recipient"]["phone"] for c in part["data"]["cases"]] == ["+5511911111111"]
        assert [s["key"] for s in part["data"]["steps"]] == ["D+1"]
        async with conn.transaction():  # a redelivery answers nothing twice
            await privacy.handle(conn, KEYRING, HELD, [request])
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1

        correction = _event(ContactDataCorrected, phone="+55 21 91234-5678", email="Ana@Example.com")
        async with conn.transaction():
            await privacy.handle(conn, KEYRING, HELD, [correction])  # type: ignore[list-item]
        phones = {r["debtor_id"]: (json.loads(r["recipient"]), json.loads(r["command"])["recipient"]) for r in
                  await conn.fetch("SELECT c.debtor_id, c.recipient, h.command FROM cases c JOIN holds h USING "
                                   "(debtor_id)")}
        assert phones[ANA.debtor_id] == ({"name": "X", "phone": "+5521912345678", "email": "ana@example.com"},
                                         {"phone": "+5521912345678", "email": "ana@example.com"})
        assert phones[BRUNO.debtor_id][0]["phone"] == "+5511922222222"

        async with conn.transaction():
            await privacy.handle(conn, KEYRING, HELD, [_event(PersonErasureRequested)])  # type: ignore[list-item]
        assert [r["debtor_id"] for r in await conn.fetch("SELECT debtor_id FROM cases")] == [BRUNO.debtor_id]
        assert await conn.fetchval("SELECT count(*) FROM steps") == 1
        assert await conn.fetchval("SELECT count(*) FROM holds") == 1
        assert set(await pii.data_keys(conn, KEYRING, [privacy.debtor_subject(d) for d in (ANA, BRUNO)])) == {
            privacy.debtor_subject(BRUNO)}


def test_only_ingestion_asks_and_each_service_answers_only_for_itself() -> None:
    def delivery(event: AnyPrivacyEvent, producer: str) -> Delivery[AnyPrivacyEvent]:
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord("regua.privacy.v1", 0, 0, 0, 0, None, b"", None, 0, 0, [])
        return Delivery(event, record, {"x-regua-producer": producer})

    now, person = datetime.now(UTC), uuid.uuid4()
    ask = PersonDataRequested(occurred_at=now, tenant_id="*", request_id=uuid.uuid4(), person_id=person, debtors=[])
    part = PersonDataExported(occurred_at=now, tenant_id="*", request_id=uuid.uuid4(), person_id=person,
                              service="ruler", data={})
    assert privacy.misattributed(delivery(ask, "ingestion")) is None
    assert privacy.misattributed(delivery(ask, "dispatch-sms")) == (
        "person-data.requested.v1 may come only from ingestion, not dispatch-sms")  # a forged erasure or export
    assert privacy.misattributed(delivery(part, "ruler")) is None
    assert privacy.misattributed(delivery(part, "negotiation")) == "an export part of ruler produced by negotiation"
