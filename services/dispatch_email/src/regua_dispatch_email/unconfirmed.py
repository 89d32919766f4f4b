"""E-mail attempts left 'sending': resolved at start-up and then every little while, never sent again.

Two ways to get there. This process's commit beside the end of DATA failed (the database went away): the
server most likely accepted the message, and the dispatcher keeps it in memory until it can record it. Or a
process died holding a claim that no redelivery picked up since (its command's offset was committed): after
REGUA_EMAIL_UNCONFIRMED_AFTER_SECONDS it is recorded as sent-unconfirmed with the reason, and
contact.attempted is emitted so the ruler and the history move on. A crash before the end of DATA is
redelivered within seconds and sent then (the first real send), long before that delay. Held messages are not
touched: their release claims them anew."""

import asyncio
from datetime import timedelta

import asyncpg
from prometheus_client import Counter

from regua_contracts.contacts import ContactAttempted
from regua_dispatch import ledger
from regua_dispatch.events import contact_fact
from regua_dispatch.ledger import NOBODY, Outcome
from regua_dispatch_email.handlers import Dispatcher
from regua_platform import outbox
from regua_platform.service import Runtime

RESOLVED = Counter("regua_email_unconfirmed_resolved_total", "Stuck 'sending' e-mails recorded as sent-unconfirmed")
ABANDONED = "unconfirmed: the process sending it stopped before confirming; not sent again"


async def resolve_abandoned(pool: asyncpg.Pool, dispatcher: Dispatcher, older_than: timedelta) -> int:
    """Records as sent-unconfirmed the attempts other processes claimed long ago and never confirmed."""
    now = dispatcher.clock.now()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT step_id, tenant_id, debtor_id, step_key FROM dispatch_attempts a WHERE channel = 'email' "
            "AND status = 'sending' AND claimed_by <> ALL($1::uuid[]) AND claimed_at < now() - $2::interval "
            "AND NOT EXISTS (SELECT 1 FROM held_messages h WHERE h.step_id = a.step_id) "
            "ORDER BY claimed_at LIMIT 500 FOR UPDATE SKIP LOCKED",
            [dispatcher.instance, NOBODY], older_than)
        recorded = await ledger.finish(conn, [Outcome(r["step_id"], "sent", ABANDONED) for r in rows], now)
        await outbox.add(conn, [contact_fact(ContactAttempted(
            occurred_at=now, tenant_id=r["tenant_id"], step_id=r["step_id"], step_key=r["step_key"], channel="email",
            debtor_id=r["debtor_id"], invoice_ids=[], outcome="sent", reason=ABANDONED,
        ), r["debtor_id"]) for r in rows if r["step_id"] in recorded])
    RESOLVED.inc(len(recorded))
    return len(recorded)


async def resolve_unconfirmed(runtime: Runtime) -> None:
    """A ServiceSpec background job: runs at start-up, then every quarter of the delay."""
    dispatcher: Dispatcher = runtime.extras["dispatcher"]
    older_than = timedelta(seconds=runtime.settings.email_unconfirmed_after_seconds)
    while True:
        await dispatcher.record_unconfirmed()
        await resolve_abandoned(runtime.pool, dispatcher, older_than)
        await asyncio.sleep(max(1.0, older_than.total_seconds() / 4))
