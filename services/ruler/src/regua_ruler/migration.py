"""Re-planning open cases: explicit migration to another ruler version (cases never move on their own),
and re-segmentation of cases opened while the debtor's profile was unavailable."""

import json
from datetime import datetime

import asyncpg

from regua_platform import audit
from regua_platform.staff import Actor
from regua_ruler.domain.planning import Schedule, choose_segment, plan_steps
from regua_ruler.domain.profiles import CaseFacts
from regua_ruler.domain.rulers import RulerDefinition
from regua_ruler.profiles import ProfileSource
from regua_ruler.store import cases, rulers


async def migrate_cases(pool: asyncpg.Pool, actor: Actor, name: str, to_version: int | None, now: datetime,
                        schedule: Schedule) -> tuple[int, int] | None:
    """Returns (version, cases moved), or None when the version does not exist. Audited."""
    tenant_id = actor.tenant.id
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
                               schedule=schedule, postcode=recipient.get("postcode"),
                               city_ibge=recipient.get("city_ibge"))
            await cases.replan(conn, case, version, segment.name, steps)
        await audit.record(conn, actor, "ruler.migrated", name, detail={"version": version, "cases": len(moving)})
        return version, len(moving)


async def resegment_fallback_cases(pool: asyncpg.Pool, profiles: ProfileSource, now: datetime,
                                   schedule: Schedule, limit: int = 200) -> int:
    """Cases opened while credit analysis was unreachable are segmented again once it answers: steps not
    sent yet are re-planned for the debtor's real profile (same ruler version). Returns cases updated."""
    candidates = await pool.fetch(
        "SELECT invoice_id, tenant_id, debtor_id FROM cases WHERE profile_fallback "
        "AND (status = 'active' OR (status = 'paused' AND resume_status = 'active')) "
        "ORDER BY opened_at LIMIT $1", limit,
    )
    updated = 0
    for candidate in candidates:
        profile = await profiles.profile(candidate["tenant_id"], candidate["debtor_id"], None)
        if profile.fallback:
            break  # still unreachable: try again on the next round
        async with pool.acquire() as conn, conn.transaction():
            case = await conn.fetchrow(
                "SELECT c.*, r.definition FROM cases c JOIN rulers r ON r.tenant_id = c.tenant_id "
                "AND r.name = c.ruler_name AND r.version = c.ruler_version "
                # Checked again under the lock: a payment may have stopped the case since it was listed, and
                # re-planning a stopped case would revive its cancelled steps.
                "WHERE c.invoice_id = $1 AND c.profile_fallback "
                "AND (c.status = 'active' OR (c.status = 'paused' AND c.resume_status = 'active')) "
                "FOR UPDATE OF c", candidate["invoice_id"],
            )
            if case is None:
                continue
            ruler = RulerDefinition.model_validate_json(case["definition"])
            recipient = json.loads(case["recipient"])
            facts = CaseFacts(case["amount_cents"], profile.behaviour, profile.score_band, frozenset(case["tags"]))
            segment = choose_segment(ruler, facts)
            steps = plan_steps(segment, due=case["due_date"], facts=facts, email=recipient.get("email"),
                               phone=recipient.get("phone"), state=recipient.get("state"), opened_at=now,
                               schedule=schedule, postcode=recipient.get("postcode"),
                               city_ibge=recipient.get("city_ibge"))
            await cases.replan(conn, case, case["ruler_version"], segment.name, steps)
            await conn.execute(
                "UPDATE cases SET profile_fallback = false, behaviour = $2, score_band = $3 WHERE invoice_id = $1",
                case["invoice_id"], profile.behaviour, profile.score_band,
            )
            updated += 1
    return updated
