"""What the compliance gate knows about debtors: state, opt-outs, invalid contacts, recent contacts."""

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from regua_compliance import DebtorFacts, PastContact

DebtorKey = tuple[str, UUID]
#: Contacts older than this never matter to a cap (the longest rule looks back 7 days).
HISTORY = timedelta(days=8)


async def remember_state(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, state: str | None) -> None:
    await conn.execute(
        "INSERT INTO debtor_facts (tenant_id, debtor_id, state) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET state = coalesce($3, debtor_facts.state)",
        tenant_id, debtor_id, state,
    )


async def add_flag(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, column: str, value: str) -> None:
    assert column in ("opted_out", "invalid")
    await conn.execute(
        f"INSERT INTO debtor_facts (tenant_id, debtor_id, {column}) VALUES ($1, $2, ARRAY[$3]) "
        f"ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET {column} = "
        f"(SELECT array_agg(DISTINCT v) FROM unnest(debtor_facts.{column} || $3::text) v)",
        tenant_id, debtor_id, value,
    )


async def add_contacts(conn: asyncpg.Connection, rows: list[tuple[str, UUID, str, datetime, bool]]) -> None:
    await conn.executemany(
        "INSERT INTO debtor_contacts (tenant_id, debtor_id, channel, at, conversation) VALUES ($1, $2, $3, $4, $5)",
        rows,
    )


async def load_facts(conn: asyncpg.Connection, keys: set[DebtorKey], now: datetime) -> dict[DebtorKey, DebtorFacts]:
    if not keys:
        return {}
    tenants, debtors = [k[0] for k in keys], [k[1] for k in keys]
    flags = await conn.fetch(
        "SELECT f.* FROM debtor_facts f JOIN unnest($1::text[], $2::uuid[]) AS k(t, d) "
        "ON f.tenant_id = k.t AND f.debtor_id = k.d", tenants, debtors,
    )
    history = await conn.fetch(
        "SELECT c.tenant_id, c.debtor_id, c.channel, c.at, c.conversation FROM debtor_contacts c "
        "JOIN unnest($1::text[], $2::uuid[]) AS k(t, d) ON c.tenant_id = k.t AND c.debtor_id = k.d "
        "WHERE c.at > $3", tenants, debtors, now - HISTORY,
    )
    past: dict[DebtorKey, list[PastContact]] = {}
    for h in history:
        past.setdefault((h["tenant_id"], h["debtor_id"]), []).append(
            PastContact(h["channel"], h["at"], h["conversation"]))
    out = {key: DebtorFacts(history=tuple(past.get(key, ()))) for key in keys}
    for f in flags:
        key = (f["tenant_id"], f["debtor_id"])
        out[key] = DebtorFacts(state=f["state"], opted_out=frozenset(f["opted_out"]),
                               invalid_contacts=frozenset(f["invalid"]), history=tuple(past.get(key, ())))
    return out
