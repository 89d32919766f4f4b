"""Settling steps in doubt against a real PostgreSQL (integration): what the ledger knows decides before the
provider is asked; sends about to leave record ``called_at`` in shared writes."""

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from regua_dispatch import doubt, inbound, ledger
from regua_dispatch.inbound import Receipt
from regua_dispatch.ledger import Intent

AT = datetime(2027, 3, 9, 13, tzinfo=UTC)


async def _claimed(pool: asyncpg.Pool, n: int) -> list[uuid.UUID]:
    steps = [uuid.uuid4() for _ in range(n)]
    async with pool.acquire() as conn:
        await ledger.claim(conn, [Intent(s, "acme", uuid.uuid4(), "whatsapp", "D+1", "551187654321") for s in steps],
                           uuid.uuid4())
    return steps


async def test_concurrent_sends_record_their_call_in_one_shared_write(dispatch_pool: asyncpg.Pool) -> None:
    steps = await _claimed(dispatch_pool, 50)
    calls = doubt.CallLog(dispatch_pool)
    await asyncio.gather(*(calls.calling(s) for s in steps))
    row = await dispatch_pool.fetchrow("SELECT count(*) AS n, count(DISTINCT called_at) AS writes "
                                       "FROM dispatch_attempts WHERE called_at IS NOT NULL")
    assert (row["n"], row["writes"]) == (50, 1)  # one write (one now()) for the 50 sends


async def test_never_called_is_sent_a_status_that_named_it_is_taken_and_silence_is_unconfirmed(
        dispatch_pool: asyncpg.Pool) -> None:
    never, named, silent = await _claimed(dispatch_pool, 3)
    await ledger.mark_called(dispatch_pool, [named, silent])
    async with dispatch_pool.acquire() as conn, conn.transaction():  # a status overtakes the confirmation
        await inbound.apply_receipts(conn, "whatsapp", [Receipt("wamid.1", "sent", step_id=named)], AT)
    verdicts = await doubt.settle(dispatch_pool, "whatsapp", [never, named, silent], None, 0.3, 0.05)
    assert verdicts[never] == doubt.NotTaken()
    assert verdicts[named] == doubt.Taken("wamid.1", "receipt")
    unconfirmed = verdicts[silent]
    assert isinstance(unconfirmed, doubt.Unconfirmed) and unconfirmed.reason.startswith("unconfirmed")

