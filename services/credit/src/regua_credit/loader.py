"""Coalesces single-debtor lookups that arrive in the same event-loop turn into one query per tenant (the
DataLoader pattern). Under load, many concurrent calls then share one pool checkout and one round trip,
which is most of a lookup's cost; alone, a call waits one loop turn at most."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from regua_credit.domain import InvoiceFact

Facts = dict[UUID, list[InvoiceFact]]
Fetch = Callable[[str, Sequence[UUID]], Awaitable[Facts]]


class FactsLoader:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._pending: dict[str, dict[UUID, list[asyncio.Future[list[InvoiceFact] | None]]]] = {}
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()  # strong references until each batch is done

    async def load(self, tenant_id: str, debtor_ids: Sequence[UUID]) -> Facts:
        """Each known debtor's invoices; unknown ones are absent. Batches go straight to the database."""
        if len(debtor_ids) != 1:
            return await self._fetch(tenant_id, debtor_ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[InvoiceFact] | None] = loop.create_future()
        self._pending.setdefault(tenant_id, {}).setdefault(debtor_ids[0], []).append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)
        facts = await future
        return {debtor_ids[0]: facts} if facts is not None else {}

    def _dispatch(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        for tenant_id, waiters in pending.items():
            task = asyncio.create_task(self._run(tenant_id, waiters))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, tenant_id: str,
                   waiters: dict[UUID, list[asyncio.Future[list[InvoiceFact] | None]]]) -> None:
        try:
            facts = await self._fetch(tenant_id, list(waiters))
        except Exception as exc:  # noqa: BLE001 - every waiter gets the failure of the query it shared
            for futures in waiters.values():
                for f in futures:
                    if not f.done():  # a caller that gave up (deadline) cancelled its future
                        f.set_exception(exc)
            return
        for debtor_id, futures in waiters.items():
            for f in futures:
                if not f.done():
                    f.set_result(facts.get(debtor_id))
