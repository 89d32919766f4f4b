"""Explicit migration of open cases to another version of their ruler (cases never move on their own)."""

import json
from datetime import datetime

import asyncpg

from regua_ruler.domain.planning import Schedule, choose_segment, plan_steps
from regua_ruler.domain.profiles import CaseFacts
from regua_ruler.store import cases, rulers


async def migrate_cases(pool: asyncpg.Pool, tenant_id: str, name: str, to_version: int | None, now: datetime,
                        schedule: Schedule) -> tuple[int, int] | None:
    """Returns (version, cases moved), or None when the version does not exist."""
    async with pool.acquire() as conn, conn.transaction():
        if to_version is None:
            ruler, version = await rulers.current_ruler(conn, tenant_id, name)
        else:
            found = await rulers.ruler_version(conn, tenant_id, name, to_version)
            if found is None:
                return None
            ruler, version = found, to_version
        moving = await cases.cases_to_migrate(conn, tenant_id, name, version)
        for case in moving:
            recipient = json.loads(case["recipient"])
            facts = CaseFacts(case["amount_cents"], case["behaviour"], case["score_band"], frozenset(case["tags"]))
            segment = choose_segment(ruler, facts)
            steps = plan_steps(segment, due=case["due_date"], facts=facts, email=recipient.get("email"),
                               phone=recipient.get("phone"), state=recipient.get("state"), opened_at=now,
                               schedule=schedule)
            await cases.replan(conn, case, version, segment.name, steps)
        return version, len(moving)
