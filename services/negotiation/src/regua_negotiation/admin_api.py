"""Operations API: the simulated clock (tests, demo only). Negotiation keeps its own clock (services never
read each other's tables); tests move it together with the ruler's."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from regua_negotiation import store
from regua_negotiation.schemas import ClockView
from regua_platform.clock import SimulatedClock
from regua_platform.http import ApiError, answers, errors
from regua_platform.service import runtime_of
from regua_platform.staff import require_admin_token

router = APIRouter(prefix="/admin", tags=["admin"])


class ClockMove(BaseModel):
    now: datetime | None = None
    advance_seconds: float | None = None


def _simulated(request: Request, token: str | None) -> SimulatedClock:
    runtime = runtime_of(request)
    require_admin_token(request, token)
    current = runtime.extras["clock"]
    if not isinstance(current, SimulatedClock):
        raise ApiError(409, "clock", "negotiation runs on the wall clock (REGUA_CLOCK_MODE=wall)")
    return current


@router.get("/clock", response_model=None, responses={**errors(409), **answers(ClockView)})
async def get_clock(request: Request, x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    return {"now": _simulated(request, x_admin_token).now().isoformat()}


@router.post("/clock", response_model=None, responses={**errors(409), **answers(ClockView)})
async def move_clock(request: Request, move: ClockMove,
                     x_admin_token: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    sim = _simulated(request, x_admin_token)
    target = move.now or sim.now() + timedelta(seconds=move.advance_seconds or 0)
    try:
        sim.set(target)
    except ValueError as exc:
        raise ApiError(422, "now", str(exc)) from exc
    await store.save_simulated_clock(runtime_of(request).pool, target)
    return {"now": sim.now().isoformat()}
