"""What the compliance gate knows about debtors: state, opt-outs, invalid addresses, recent contacts.

Contacts and bad addresses are the person's (across every creditor); opt-outs are the creditor's debtor's,
unless the debtor opted out of the whole agency."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from regua_compliance import DebtorFacts, PastContact
from regua_ruler.domain.persons import address_sha256

DebtorKey = tuple[str, UUID]
#: Contacts older than this never matter to a cap (the longest rule looks back 7 days).
HISTORY = timedelta(days=8)


@dataclass(frozen=True)
class Addressee:
    """Who a debtor of a tenant is, as their case knows them: the person and the address."""

    person_id: UUID
    state: str | None = None
    postcode: str | None = None
    city_ibge: str | None = None
    email: str | None = None
    phone: str | None = None


async def remember_state(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, state: str | None) -> None:
    await conn.execute(
        "INSERT INTO debtor_facts (tenant_id, debtor_id, state) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET state = coalesce($3, debtor_facts.state)",
        tenant_id, debtor_id, state,
    )


async def opt_out(conn: asyncpg.Connection, tenant_id: str, debtor_id: UUID, channel: str) -> None:
    """This creditor's messages on ``channel`` stop for the debtor."""
    await conn.execute(
        "INSERT INTO debtor_facts (tenant_id, debtor_id, opted_out) VALUES ($1, $2, ARRAY[$3]) "
        "ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET opted_out = "
        "(SELECT array_agg(DISTINCT v) FROM unnest(debtor_facts.opted_out || $3::text) v)",
        tenant_id, debtor_id, channel,
    )


async def opt_out_person(conn: asyncpg.Connection, person_id: UUID, channel: str) -> None:
    """Every creditor's messages on ``channel`` stop for the person (an agency-wide opt-out)."""
    await conn.execute("INSERT INTO person_opt_outs (person_id, channel) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       person_id, channel)


async def invalidate(conn: asyncpg.Connection, kind: str, address: str | None) -> None:
    """The address itself is bad (wrong number, hard bounce): no creditor uses it again."""
    if not address:
        return
    await conn.execute("INSERT INTO invalid_addresses (address_sha256, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       address_sha256(kind, address), kind)


async def add_contacts(conn: asyncpg.Connection, rows: list[tuple[str, UUID, UUID, str, datetime, bool]]) -> None:
    """(tenant, debtor, person, channel, at, conversation) per contact made."""
    await conn.executemany(
        "INSERT INTO debtor_contacts (tenant_id, debtor_id, person_id, channel, at, conversation) "
        "VALUES ($1, $2, $3, $4, $5, $6)", rows,
    )


async def load_facts(conn: asyncpg.Connection, debtors: dict[DebtorKey, Addressee],
                     now: datetime) -> dict[DebtorKey, DebtorFacts]:
    if not debtors:
        return {}
    keys = list(debtors)
    tenants, debtor_ids = [k[0] for k in keys], [k[1] for k in keys]
    persons = list({a.person_id for a in debtors.values()})
    flags = {(f["tenant_id"], f["debtor_id"]): f for f in await conn.fetch(
        "SELECT f.tenant_id, f.debtor_id, f.state, f.opted_out FROM debtor_facts f "
        "JOIN unnest($1::text[], $2::uuid[]) AS k(t, d) ON f.tenant_id = k.t AND f.debtor_id = k.d",
        tenants, debtor_ids)}
    agency_opt_outs: dict[UUID, set[str]] = {}
    for r in await conn.fetch("SELECT person_id, channel FROM person_opt_outs WHERE person_id = ANY($1::uuid[])",
                              persons):
        agency_opt_outs.setdefault(r["person_id"], set()).add(r["channel"])
    hashes = {(kind, address_sha256(kind, value)) for a in debtors.values()
              for kind, value in (("email", a.email), ("phone", a.phone)) if value}
    invalid = {r["address_sha256"] for r in await conn.fetch(
        "SELECT address_sha256 FROM invalid_addresses WHERE address_sha256 = ANY($1::text[])",
        [h for _, h in hashes])}
    past: dict[UUID, list[PastContact]] = {}
    for h in await conn.fetch(
            "SELECT person_id, channel, at, conversation FROM debtor_contacts "
            "WHERE person_id = ANY($1::uuid[]) AND at > $2", persons, now - HISTORY):
        past.setdefault(h["person_id"], []).append(PastContact(h["channel"], h["at"], h["conversation"]))
    out = {}
    for key, a in debtors.items():
        flag = flags.get(key)
        bad = frozenset(kind for kind, value in (("email", a.email), ("phone", a.phone))
                        if value and address_sha256(kind, value) in invalid)
        out[key] = DebtorFacts(
            state=a.state or (flag["state"] if flag else None),
            opted_out=frozenset(flag["opted_out"] if flag else ()) | agency_opt_outs.get(a.person_id, set()),
            invalid_contacts=bad, history=tuple(past.get(a.person_id, ())),
            postcode=a.postcode, city_ibge=a.city_ibge,
        )
    return out
