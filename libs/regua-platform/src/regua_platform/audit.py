"""The audit log of operator actions: who (a staff member, or a client's administration key), in which role,
did what to which tenant's subject. Written with the caller's connection, inside the action's transaction:
an action is never done without its row, nor recorded without being done."""

import json
from typing import Any
from uuid import UUID

import asyncpg

from regua_platform.staff import Actor


async def record(conn: asyncpg.Connection, actor: Actor, action: str, subject: object = None,
                 person_id: UUID | None = None, detail: dict[str, Any] | None = None) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, role, action, tenant_id, subject, person_id, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        actor.id, actor.role, action, actor.tenant.id, None if subject is None else str(subject), person_id,
        json.dumps(detail or {}, default=str))
