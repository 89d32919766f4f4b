"""The agents' API: take the next call, record its outcome. Operator actions: a staff token (X-Staff-Token)
names the agent and the tenant; a client's API key is refused (403). Every action is audited."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from regua_contracts.contacts import CallOutcome
from regua_dispatch_phone import handlers, store
from regua_dispatch_phone.domain import InvalidOutcome
from regua_dispatch_phone.schemas import CallView
from regua_platform import audit
from regua_platform.http import ApiError, answers, errors, no_content
from regua_platform.service import Runtime, runtime_of
from regua_platform.staff import OperatorDep

router = APIRouter(prefix="/v1/calls", tags=["calls"])


class OutcomeIn(BaseModel):
    outcome: CallOutcome
    promise_date: date | None = None
    promise_amount_cents: Annotated[int | None, Field(strict=True)] = None
    callback_at: AwareDatetime | None = None


def _today(runtime: Runtime) -> date:
    return runtime.extras["clock"].now().astimezone(ZoneInfo(runtime.settings.timezone)).date()  # type: ignore[no-any-return]


@router.post("/next", response_model=None,
             responses={**answers(CallView), **no_content("no call the compliance gate allows now")})
async def next_call(request: Request, agent: OperatorDep) -> dict[str, Any] | Response:
    """The best call the compliance gate allows now, assigned to the agent of the staff token (X-Staff-Token);
    204 when there is none."""
    runtime = runtime_of(request)
    row = await handlers.next_call(runtime.pool, agent, runtime.extras["clock"].now(),
                                   _today(runtime), runtime.settings, runtime.extras["policy"])
    if row is None:
        return Response(status_code=204)
    return handlers.view(row, _today(runtime), runtime.extras["clock"].now())


@router.post("/{call_id}/outcome", response_model=None, responses={**errors(409), **answers(CallView)})
async def record_outcome(request: Request, call_id: UUID, body: OutcomeIn, agent: OperatorDep) -> dict[str, Any]:
    """Recorded for the agent of the staff token, never an id from the body."""
    runtime = runtime_of(request)
    call = handlers.Outcome(agent.id, body.outcome, body.promise_date, body.promise_amount_cents,
                            body.callback_at)
    try:
        row = await handlers.record_outcome(runtime.pool, agent, call_id, call, runtime.extras["clock"].now(),
                                            _today(runtime), runtime.settings)
    except InvalidOutcome as exc:
        raise ApiError(422, exc.field, str(exc)) from exc
    except handlers.NoSuchCall as exc:
        raise ApiError(404, "call_id", "no such call") from exc
    except handlers.NotYours as exc:
        raise ApiError(409, "X-Staff-Token", str(exc)) from exc
    return handlers.view(row, _today(runtime), runtime.extras["clock"].now())


@router.get("/{call_id}", response_model=None, responses=answers(CallView))
async def get_call(request: Request, call_id: UUID, agent: OperatorDep) -> dict[str, Any]:
    runtime = runtime_of(request)
    row = await store.task(runtime.pool, agent.tenant.id, call_id)
    if row is None:
        raise ApiError(404, "call_id", "no such call")
    await audit.read(runtime.pool, agent, "call", call_id)
    return handlers.view(row, _today(runtime), runtime.extras["clock"].now())
