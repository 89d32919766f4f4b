"""The Cloud API webhook: GET answers the subscription handshake (hub.verify_token); POST carries
message statuses and the debtor's messages, signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw
body with the app secret). A request with a bad signature is refused with 401 and changes nothing; so is
one whose messages or statuses are stamped outside REGUA_WEBHOOK_TOLERANCE_SECONDS (Meta signs only the
body, so its timestamps are what tells a replay)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from regua_dispatch import inbound
from regua_dispatch.api import NotificationHandled
from regua_dispatch.inbound import InboundMessage, Receipt, step_reference
from regua_dispatch.webhooks import require_fresh, signed_body
from regua_platform.clock import observe
from regua_platform.http import ApiError, answers, errors
from regua_platform.service import runtime_of

router = APIRouter(prefix="/webhooks/whatsapp", tags=["webhooks"])


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StatusError(_Loose):
    code: int
    title: str = ""


class Status(_Loose):
    id: str
    status: str
    timestamp: int  # Unix seconds, sent as a string
    biz_opaque_callback_data: str | None = None  # our step id, echoed
    errors: list[StatusError] = []


class Incoming(_Loose):
    sender: str = Field(alias="from")
    id: str
    timestamp: int  # Unix seconds, sent as a string
    type: str
    text: dict[str, Any] | None = None
    button: dict[str, Any] | None = None
    interactive: dict[str, Any] | None = None
    context: dict[str, Any] | None = None

    def body(self) -> str:
        if self.text:
            return str(self.text.get("body", ""))
        if self.button:
            return str(self.button.get("text") or self.button.get("payload") or "")
        reply = (self.interactive or {}).get("button_reply") or (self.interactive or {}).get("list_reply") or {}
        return str(reply.get("title", "")) if reply else f"[{self.type}]"


class Value(_Loose):
    statuses: list[Status] = []
    messages: list[Incoming] = []


class Change(_Loose):
    field: str
    value: Value


class Entry(_Loose):
    changes: list[Change] = []


class Notification(_Loose):
    object: str
    entry: list[Entry] = []


@router.get("", response_class=PlainTextResponse, responses=errors(403))
async def verify(request: Request, mode: Annotated[str, Query(alias="hub.mode")] = "",
                 token: Annotated[str, Query(alias="hub.verify_token")] = "",
                 challenge: Annotated[str, Query(alias="hub.challenge")] = "") -> str:
    if mode != "subscribe" or token != runtime_of(request).settings.whatsapp_verify_token:
        raise ApiError(403, "hub.verify_token", "wrong verify token")
    return challenge


@router.post("", response_model=None, responses={**errors(400, 401), **answers(NotificationHandled)})
async def notify(request: Request) -> dict[str, int]:
    runtime = runtime_of(request)
    raw = await signed_body(request, runtime.settings.whatsapp_app_secret)
    try:
        note = Notification.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(400, "(body)", f"not a WhatsApp notification: {exc}"[:300]) from exc
    values = [c.value for e in note.entry for c in e.changes if c.field == "messages"]
    stamps = [s.timestamp for v in values for s in v.statuses] + [m.timestamp for v in values for m in v.messages]
    # Simulated time: the debtor's messages carry the simulated moment (they move the clock), so only
    # their age is checked; with the wall clock both sides of the window are.
    require_fresh([datetime.fromtimestamp(t, UTC) for t in stamps], datetime.now(UTC),
                  runtime.settings.webhook_tolerance_seconds, future_too=runtime.settings.clock_mode == "wall")
    receipts = [Receipt(s.id, s.status, "; ".join(f"{e.code} {e.title}".strip() for e in s.errors) or s.status,
                        step_id=step_reference(s.biz_opaque_callback_data)) for v in values for s in v.statuses]
    messages = [InboundMessage(m.id, "+" + m.sender, m.body(), datetime.fromtimestamp(m.timestamp, UTC),
                               (m.context or {}).get("id")) for v in values for m in v.messages]
    clock = runtime.extras["clock"]
    for m in messages:
        observe(clock, m.received_at)  # simulated time follows the debtor's messages too
    at = clock.now()
    async with runtime.pool.acquire() as conn, conn.transaction():
        applied = await inbound.apply_receipts(conn, "whatsapp", receipts, at)
        received = [await inbound.receive(conn, "whatsapp", m, at) for m in messages]
    return {"applied": applied, "received": sum(r is not None for r in received)}
