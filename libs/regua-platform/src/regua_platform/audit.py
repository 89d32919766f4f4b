"""The audit log of operator actions and of reads of a debtor's data: who (a staff member, or a client's API
key), in which role, did or read what of which tenant's subject. Written with the caller's connection, inside
the action's transaction: an action is never done without its row, nor recorded without being done."""

import json
from typing import Any
from uuid import UUID

import asyncpg

from regua_platform.staff import Actor
from regua_platform.tenants import Tenant


async def record(conn: asyncpg.Connection | asyncpg.Pool, actor: Actor, action: str, subject: object = None,
                 person_id: UUID | None = None, detail: dict[str, Any] | None = None) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, role, action, tenant_id, subject, person_id, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        actor.id, actor.role, action, actor.tenant.id, None if subject is None else str(subject), person_id,
        json.dumps(detail or {}, default=str))


def key_holder(tenant: Tenant) -> Actor:
    """A client company's API key as an actor (a tenant holds one key at a time; rotation replaces it)."""
    return Actor(id=f"api-key:{tenant.id}", role=tenant.scope, tenant=tenant)


async def read(db: asyncpg.Connection | asyncpg.Pool, actor: Actor, what: str, subject: object) -> None:
    """Records that ``actor`` read ``what`` of a debtor (LGPD: who read a debtor's data, and when)."""
    await record(db, actor, f"read:{what}", subject)
