"""The provider's webhooks: delivery receipts and the debtor's replies, both signed with a timestamp
(X-Signature: t=..,v1=HMAC-SHA256 of "t." + raw body with REGUA_SMS_WEBHOOK_SECRET); one signed longer
ago than REGUA_WEBHOOK_TOLERANCE_SECONDS is refused (regua_dispatch.webhooks)."""

from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from regua_dispatch import inbound
from regua_dispatch.api import MessagesReceived, ReceiptsApplied
from regua_dispatch.inbound import InboundMessage, Receipt, step_reference
from regua_dispatch.webhooks import timestamped_body
from regua_dispatch_sms.adapter import INVALID_NUMBER
from regua_platform.clock import observe
from regua_platform.http import ApiError, answers, errors
from regua_platform.service import runtime_of

router = APIRouter(prefix="/webhooks/sms", tags=["webhooks"])
_FAILED = {"failed", "undelivered", "expired", "rejected"}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReceiptIn(_Loose):
    id: str
    status: str
    reference: str | None = None
    error_code: str | None = None


class Receipts(_Loose):
    receipts: list[ReceiptIn]


class MessageIn(_Loose):
    id: str
    sender: str = Field(alias="from")
    text: str
    timestamp: datetime


class Messages(_Loose):
    messages: list[MessageIn]


M = TypeVar("M", bound=_Loose)


async def _parse(request: Request, model: type[M]) -> M:
    settings = runtime_of(request).settings
    body = await timestamped_body(request, settings.sms_webhook_secret, settings.webhook_tolerance_seconds)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(400, "(body)", f"not a webhook payload: {exc}"[:300]) from exc


@router.post("/receipts", response_model=None, responses={**errors(400, 401), **answers(ReceiptsApplied)})
async def receipts(request: Request) -> dict[str, int]:
    payload = await _parse(request, Receipts)
    runtime = runtime_of(request)
    found = [Receipt(r.id, "failed" if r.status in _FAILED else r.status, r.error_code or r.status,
                     (r.error_code or "") in INVALID_NUMBER, step_reference(r.reference)) for r in payload.receipts]
    async with runtime.pool.acquire() as conn, conn.transaction():
        applied = await inbound.apply_receipts(conn, "sms", found, runtime.extras["clock"].now())
    return {"applied": applied}


@router.post("/inbound", response_model=None, responses={**errors(400, 401), **answers(MessagesReceived)})
async def messages(request: Request) -> dict[str, int]:
    payload = await _parse(request, Messages)
    runtime = runtime_of(request)
    received = 0
    clock = runtime.extras["clock"]
    async with runtime.pool.acquire() as conn, conn.transaction():
        for m in payload.messages:
            observe(clock, m.timestamp)  # simulated time follows the debtor's message too
            message = InboundMessage(m.id, m.sender, m.text, m.timestamp)
            received += await inbound.receive(conn, "sms", message, clock.now()) is not None
    return {"received": received}
