"""Steps in doubt: their provider call may have gone through, but no confirmation was committed (the process
died between the call and the commit, or a call timed out). Not every provider honours an idempotency key,
so such a step is never simply sent again; it is settled first, in this order:

1. no request was ever made for it (``called_at``, committed just before the first request leaves, is
   empty): it may be sent;
2. a receipt or status webhook already named it (our reference echoed): the provider has it;
3. the provider's lookup by our reference (an SMS gateway's status query): it has it, or says it has not
   (only then is the step sent again);
4. a provider with no such lookup (the WhatsApp Cloud API: only its status webhooks echo
   ``biz_opaque_callback_data``) is given a bounded wait for a status naming the step; after it the step is
   left unconfirmed and NOT sent again: a debtor missing one message is better than one texted twice, and
   a status arriving later still records the delivery (inbound.apply_receipts)."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from regua_dispatch import ledger
from regua_dispatch.provider import ProviderUnavailable
from regua_platform.db import RETRYABLE

SETTLED = Counter("regua_dispatch_in_doubt_total", "Steps in doubt settled before any second provider call",
                  ["channel", "verdict"])

#: Asks the provider by our reference (the step id): its message id, or None when it has no such message.
#: Raises ProviderUnavailable when it cannot tell.
LookUp = Callable[[UUID], Awaitable[str | None]]


@dataclass(frozen=True)
class Taken:
    """The provider has the message: confirm it as sent, never send it again."""

    provider_id: str
    how: str  # receipt, lookup


@dataclass(frozen=True)
class NotTaken:
    """The provider says it never got the message: it may be sent."""


@dataclass(frozen=True)
class Unconfirmed:
    """Nothing told within the wait: finished without a second send."""

    reason: str


Verdict = Taken | NotTaken | Unconfirmed | ProviderUnavailable


async def settle(pool: asyncpg.Pool, channel: str, step_ids: Sequence[UUID], look_up: LookUp | None,
                 wait_seconds: float, poll_seconds: float = 0.25) -> dict[UUID, Verdict]:
    """A verdict per step, asking our own records first, then the provider (or waiting for its statuses)."""
    never = await ledger.never_called(pool, step_ids)
    known = await ledger.provider_ids(pool, step_ids)
    out: dict[UUID, Verdict] = {s: NotTaken() for s in never}
    out.update({s: Taken(p, "receipt") for s, p in known.items()})
    rest = [s for s in step_ids if s not in out]
    if rest and look_up is not None:
        out.update(zip(rest, await asyncio.gather(*(_ask(look_up, s) for s in rest)), strict=True))
    elif rest:
        out.update(await _wait_for_statuses(pool, rest, wait_seconds, poll_seconds))
    for verdict in out.values():
        SETTLED.labels(channel, _name(verdict)).inc()
    return out


async def _ask(look_up: LookUp, step_id: UUID) -> Verdict:
    try:
        found = await look_up(step_id)
    except ProviderUnavailable as exc:
        return exc
    return Taken(found, "lookup") if found is not None else NotTaken()


async def _wait_for_statuses(pool: asyncpg.Pool, step_ids: Sequence[UUID], wait_seconds: float,
                             poll_seconds: float) -> dict[UUID, Verdict]:
    """Until a status names each step (apply_receipts keeps its provider id) or the wait ends."""
    deadline = time.monotonic() + wait_seconds
    out: dict[UUID, Verdict] = {}
    rest = list(step_ids)
    while rest and time.monotonic() < deadline:
        await asyncio.sleep(poll_seconds)
        found = await ledger.provider_ids(pool, rest)
        out.update({s: Taken(p, "receipt") for s, p in found.items()})
        rest = [s for s in rest if s not in found]
    why = (f"unconfirmed: the provider's answer was lost and no status named the message within {wait_seconds:g} s; "
           "not sent again")
    out.update({s: Unconfirmed(why) for s in rest})
    return out


class CallLog:
    """Commits ``called_at`` for the sends about to leave, many in one write (a group commit): each send awaits
    the commit that includes its step, so concurrent sends share one write instead of one each."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._pending: list[tuple[UUID, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def calling(self, step_id: UUID) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((step_id, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await ledger.mark_called(self.pool, [s for s, _ in batch])
            except (asyncpg.PostgresError, *RETRYABLE, TimeoutError) as exc:
                # The sends wait on this write: each gets its error (none leaves unrecorded), and so do those
                # queued behind it; the batch fails and is handled again, as any database failure.
                for _, done in batch + self._pending:
                    if not done.done():  # (a send cancelled meanwhile waits no more)
                        done.set_exception(exc)
                self._pending = []
                return
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


def _name(verdict: Verdict) -> str:
    if isinstance(verdict, Taken):
        return f"taken ({verdict.how})"
    if isinstance(verdict, NotTaken):
        return "not taken: sent again"
    return "unconfirmed" if isinstance(verdict, Unconfirmed) else "provider unavailable"
