"""Ruler versions per tenant. A tenant without a ruler gets the default as version 1."""

from importlib import resources

import asyncpg

from regua_ruler.domain.rulers import RulerDefinition, parse_ruler

DEFAULT_SOURCE = (resources.files("regua_ruler") / "default_ruler.yaml").read_text(encoding="utf-8")
DEFAULT_RULER = parse_ruler(DEFAULT_SOURCE)


async def current_ruler(conn: asyncpg.Connection, tenant_id: str, name: str) -> tuple[RulerDefinition, int]:
    row = await conn.fetchrow(
        "SELECT definition, version FROM rulers WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1",
        tenant_id, name,
    )
    if row is None:
        await conn.execute(
            "INSERT INTO rulers (tenant_id, name, version, definition, source) VALUES ($1, $2, 1, $3, $4) "
            "ON CONFLICT DO NOTHING",
            tenant_id, name, DEFAULT_RULER.model_dump_json(), DEFAULT_SOURCE,
        )
        return DEFAULT_RULER, 1
    return RulerDefinition.model_validate_json(row["definition"]), row["version"]


async def ruler_version(conn: asyncpg.Connection | asyncpg.Pool, tenant_id: str, name: str,
                        version: int) -> RulerDefinition | None:
    raw = await conn.fetchval(
        "SELECT definition FROM rulers WHERE tenant_id = $1 AND name = $2 AND version = $3", tenant_id, name, version
    )
    return RulerDefinition.model_validate_json(raw) if raw else None


async def save_ruler(conn: asyncpg.Connection, tenant_id: str, ruler: RulerDefinition, source: str) -> int:
    """Stores a new version; concurrent saves of one ruler are serialised by an advisory lock."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"ruler:{tenant_id}:{ruler.name}")
    version: int = await conn.fetchval(
        "INSERT INTO rulers (tenant_id, name, version, definition, source) "
        "SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4 FROM rulers WHERE tenant_id = $1 AND name = $2 "
        "RETURNING version",
        tenant_id, ruler.name, ruler.model_dump_json(), source,
    )
    return version


async def versions(conn: asyncpg.Pool, tenant_id: str, name: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT version, created_at, source FROM rulers WHERE tenant_id = $1 AND name = $2 ORDER BY version",
        tenant_id, name,
    )
    return rows
