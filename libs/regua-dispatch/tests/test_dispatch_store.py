"""The attempts ledger, receipts and replies against a real PostgreSQL (integration)."""

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from regua_dispatch import facts, inbound, ledger
from regua_dispatch.inbound import InboundMessage, Receipt
from regua_dispatch.ledger import Claim, Intent, Outcome

AT = datetime(2027, 3, 10, 13, tzinfo=UTC)


def _intent(step: uuid.UUID, debtor: uuid.UUID, phone_key: str = "551187654321") -> Intent:
    return Intent(step, "acme", debtor, "sms", "D+1", phone_key)


async def _sent(conn: asyncpg.Connection, provider_id: str) -> uuid.UUID:
    """A step sent to a new debtor (+55 11 98765-4321) and confirmed; returns the debtor."""
    step, debtor = uuid.uuid4(), uuid.uuid4()
    await ledger.claim(conn, [_intent(step, debtor)], uuid.uuid4())
    await ledger.finish(conn, [Outcome(step, "sent", None, provider_id)])
    return debtor


async def _events(conn: asyncpg.Connection) -> list[str]:
    return [json.loads(r["payload"])["type"] for r in await conn.fetch("SELECT payload FROM outbox ORDER BY id")]


async def test_a_step_is_claimed_once_and_again_only_after_a_crash(dispatch_pool: asyncpg.Pool) -> None:
    me, other, step, debtor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with dispatch_pool.acquire() as conn:
        assert await ledger.claim(conn, [_intent(step, debtor)], me) == {step: Claim.NEW}
        assert await ledger.claim(conn, [_intent(step, debtor)], me) == {step: Claim.IN_FLIGHT}
        # Another process after this one died: the intent was never confirmed, send again.
        assert await ledger.claim(conn, [_intent(step, debtor)], other) == {step: Claim.RETRY}
        await ledger.release(conn, [step])
        assert await ledger.claim(conn, [_intent(step, debtor)], other) == {step: Claim.RETRY}
        assert await ledger.finish(conn, [Outcome(step, "sent", None, "sms_1", {"segments": 2})]) == {step}
        # A process that sent it too (after a rebalance) finds it confirmed: no second outcome, no second event.
        assert await ledger.finish(conn, [Outcome(step, "sent", None, "sms_1")]) == set()
        assert await ledger.claim(conn, [_intent(step, debtor)], me) == {step: Claim.DONE}
        row = await conn.fetchrow("SELECT tries, detail, provider_id FROM dispatch_attempts WHERE step_id = $1", step)
        assert (row["tries"], json.loads(row["detail"]), row["provider_id"]) == (3, {"segments": 2}, "sms_1")
        found = await ledger.by_provider_id(conn, "sms", "sms_1")
        assert found is not None and found["debtor_id"] == debtor
        latest = await ledger.latest_to(conn, "sms", "551187654321")
        assert latest is not None and latest["step_id"] == step


async def test_receipts_are_applied_once_and_an_invalid_number_invalidates_the_phone(
        dispatch_pool: asyncpg.Pool) -> None:
    async with dispatch_pool.acquire() as conn:
        debtor = await _sent(conn, "sms_2")
        bad = Receipt("sms_2", "failed", "invalid_number", contact_invalid=True)
        assert await inbound.apply_receipts(conn, "sms", [bad, bad, Receipt("sms_unknown", "delivered")], AT) == 1
        assert await _events(conn) == ["contact.failed.v1", "contact.invalidated.v1"]
        known = await facts.load(conn, [("acme", debtor)])
        assert known[("acme", debtor)].invalid_contacts == {"phone"}


async def test_a_reply_opts_out_once_and_opens_the_conversation(dispatch_pool: asyncpg.Pool) -> None:
    async with dispatch_pool.acquire() as conn:
        debtor = await _sent(conn, "sms_3")
        sair = InboundMessage("in_1", "+55 11 8765-4321", "Sair", AT)  # an old number, without the ninth digit
        assert await inbound.receive(conn, "sms", sair, AT) == "opt-out"
        assert await inbound.receive(conn, "sms", sair, AT) is None  # the webhook delivered twice
        assert await inbound.receive(conn, "sms", InboundMessage("in_2", "+5521999990000", "oi", AT), AT) is None
        assert await _events(conn) == ["debtor.replied.v1", "contact.opted-out.v1"]
        assert (await facts.load(conn, [("acme", debtor)]))[("acme", debtor)].opted_out == {"sms"}
        assert await inbound.last_inbound(conn, "sms", [("acme", debtor)]) == {("acme", debtor): AT}


async def test_an_offers_reply_code_is_a_reply_only_and_a_request_to_negotiate_asks_for_offers(
        dispatch_pool: asyncpg.Pool) -> None:
    async with dispatch_pool.acquire() as conn:
        debtor = await _sent(conn, "sms_4")
        accept = InboundMessage("in_3", "+5511987654321", "ACORDO 2", AT)
        assert await inbound.receive(conn, "sms", accept, AT) == "accept-offer"
        assert await _events(conn) == ["debtor.replied.v1"]  # negotiation accepts the offer from the reply
        replied = json.loads(await conn.fetchval("SELECT payload FROM outbox ORDER BY id LIMIT 1"))
        assert (replied["debtor_id"], replied["text"]) == (str(debtor), "ACORDO 2")
        ask = InboundMessage("in_4", "+5511987654321", "quero negociar", AT)
        assert await inbound.receive(conn, "sms", ask, AT) == "negotiate"
        assert await _events(conn) == ["debtor.replied.v1", "debtor.replied.v1", "negotiation.requested.v1"]
        intents = await conn.fetch("SELECT intent FROM inbound_messages ORDER BY provider_id")
        assert [r["intent"] for r in intents] == ["accept-offer", "negotiate"]


async def test_a_receipt_that_overtakes_the_confirmation_finds_its_step_by_reference(
        dispatch_pool: asyncpg.Pool) -> None:
    step, debtor = uuid.uuid4(), uuid.uuid4()
    async with dispatch_pool.acquire() as conn:
        await ledger.claim(conn, [_intent(step, debtor)], uuid.uuid4())  # sent, not confirmed yet
        early = Receipt("sms_9", "delivered", step_id=step)
        assert await inbound.apply_receipts(conn, "sms", [early], AT) == 1
        assert await _events(conn) == ["contact.delivered.v1"]
