"""Concurrent single-debtor lookups share one query per tenant (unit)."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import date
from uuid import UUID

import pytest

from regua_credit.domain import InvoiceFact, InvoiceStatus
from regua_credit.loader import FactsLoader


def fact() -> InvoiceFact:
    return InvoiceFact(uuid.uuid4(), 100, 100, date(2027, 3, 1), InvoiceStatus.OPEN, date(2027, 2, 1))


async def test_concurrent_lookups_are_coalesced_per_tenant() -> None:
    known = {uuid.uuid4(): [fact()] for _ in range(3)}
    queries: list[tuple[str, list[UUID]]] = []

    async def fetch(tenant: str, ids: Sequence[UUID]) -> dict[UUID, list[InvoiceFact]]:
        queries.append((tenant, list(ids)))
        return {d: known[d] for d in ids if d in known and tenant == "tn_a"}

    loader = FactsLoader(fetch)
    a, b, c = known
    missing = uuid.uuid4()
    results = await asyncio.gather(loader.load("tn_a", [a]), loader.load("tn_a", [b]), loader.load("tn_a", [a]),
                                   loader.load("tn_a", [missing]), loader.load("tn_b", [c]))
    assert results == [{a: known[a]}, {b: known[b]}, {a: known[a]}, {}, {}]
    assert sorted((t, len(ids)) for t, ids in queries) == [("tn_a", 3), ("tn_b", 1)]
    assert await loader.load("tn_a", [a, c]) == {a: known[a], c: known[c]}  # a batch goes straight through


async def test_a_failed_query_fails_every_waiter() -> None:
    async def fetch(tenant: str, ids: Sequence[UUID]) -> dict[UUID, list[InvoiceFact]]:
        raise ConnectionResetError("database went away")

    loader = FactsLoader(fetch)
    results = await asyncio.gather(loader.load("tn_a", [uuid.uuid4()]), loader.load("tn_a", [uuid.uuid4()]),
                                   return_exceptions=True)
    assert all(isinstance(r, ConnectionResetError) for r in results)
    with pytest.raises(ConnectionResetError):
        await loader.load("tn_a", [uuid.uuid4()])
