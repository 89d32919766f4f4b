"""Operations API of the ruler: the simulated clock (tests, demo only) and counters, for operators."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from regua_contracts import topics
from regua_contracts.clock import ClockSet
from regua_platform import outbox
from regua_platform.clock import SimulatedClock
from regua_platform.http import ApiError, answers, errors
from regua_platform.outbox import OutboxMessage
from regua_platform.service import runtime_of
from regua_platform.staff import require_admin_token
from regua_ruler.schemas import ClockMoved, ClockView, RulerStats
from regua_ruler.store import cases, clock

router = APIRouter(prefix="/admin", tags=["admin"])


class ClockMove(BaseModel):
    now: datetime | None = None
    advance_seconds: float | None = None


def _authorize(request: Request, token: str | None) -> None:
    require_admin_token(request, token)


def _simulated(request: Request, token: str | None) -> SimulatedClock:
    _authorize(request, token)
    current = runtime_of(request).extras["clock"]
    if not isinstance(current, SimulatedClock):
        raise ApiError(409, "clock", "the ruler runs on the wall clock (REGUA_CLOCK_MODE=wall)")
    return current


@router.get("/clock", response_model=None, responses={**errors(409), **answers(ClockView)})
async def get_clock(request: Request, x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    sim = _simulated(request, x_admin_token)
    due = await cases.due_step_count(runtime_of(request).pool, sim.now())
    return {"now": sim.now().isoformat(), "due_steps": due}


@router.post("/clock", response_model=None, responses={**errors(409), **answers(ClockMoved)})
async def move_clock(request: Request, move: ClockMove,
                     x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    sim = _simulated(request, x_admin_token)
    target = move.now or sim.now() + timedelta(seconds=move.advance_seconds or 0)
    try:
        sim.set(target)
    except ValueError as exc:
        raise ApiError(422, "now", str(exc)) from exc
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        await clock.save_simulated_clock(conn, target)
        # Services that hold work until a moment (dispatchers, contact hours) follow this clock.
        await outbox.add(conn, [OutboxMessage(topics.CLOCK, "clock", ClockSet(occurred_at=target, tenant_id="-"))])
    return {"now": sim.now().isoformat()}


@router.get("/stats", response_model=None, responses=answers(RulerStats))
async def stats(request: Request, x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Cases by status and steps by status, across tenants."""
    _authorize(request, x_admin_token)
    return await cases.counts(runtime_of(request).pool)
