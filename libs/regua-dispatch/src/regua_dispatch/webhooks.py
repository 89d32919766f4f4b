"""Provider webhooks are signed, and a signed message is accepted only while it is fresh: a captured
request replayed later changes nothing.

- SMS gateway, like Stripe's and Twilio's schemes: ``X-Signature: t=<unix seconds>,v1=<hex>``, the
  HMAC-SHA256 of ``"<t>." + raw body``; the timestamp is under the signature and must lie within
  REGUA_WEBHOOK_TOLERANCE_SECONDS of our wall clock.
- WhatsApp Cloud API: Meta signs only the body (``X-Hub-Signature-256: sha256=<hex>``), so the timestamps
  inside the payload (each message's and status's) are checked against the same window instead
  (``require_fresh``)."""

import hashlib
import hmac
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from fastapi import Request

from regua_platform.http import ApiError

HEADER = "X-Hub-Signature-256"
TIMESTAMPED_HEADER = "X-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(secret, body), header.strip())


async def signed_body(request: Request, secret: str) -> bytes:
    """The raw body, once its signature is checked; 401 otherwise."""
    body = await request.body()
    if not is_valid(secret, body, request.headers.get(HEADER)):
        raise ApiError(401, HEADER, "missing or invalid signature")
    return body


def timestamped_signature(secret: str, body: bytes, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _signed_at(secret: str, body: bytes, header: str | None) -> int | None:
    """The signed timestamp of a valid header; None when the header is missing, malformed or forged."""
    parts = dict(p.split("=", 1) for p in (header or "").replace(" ", "").split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return None
    at = int(parts["t"])
    return at if hmac.compare_digest(timestamped_signature(secret, body, at), f"t={at},v1={parts['v1']}") else None


async def timestamped_body(request: Request, secret: str, tolerance_seconds: int) -> bytes:
    """The raw body, once its signature and its signed timestamp are checked; 401 otherwise."""
    body = await request.body()
    at = _signed_at(secret, body, request.headers.get(TIMESTAMPED_HEADER))
    if at is None:
        raise ApiError(401, TIMESTAMPED_HEADER, "missing or invalid signature")
    if abs(time.time() - at) > tolerance_seconds:
        raise ApiError(401, TIMESTAMPED_HEADER, "the signed timestamp is outside the accepted window")
    return body


def require_fresh(stamps: Iterable[datetime], now: datetime, tolerance_seconds: int, *,
                  future_too: bool = True) -> None:
    """401 unless every timestamp of a signed payload lies within the window around ``now``. ``future_too``
    off (a simulated clock, whose messages move it forward) checks only their age."""
    window = timedelta(seconds=tolerance_seconds)
    for at in stamps:
        if at < now - window or (future_too and at > now + window):
            raise ApiError(401, "timestamp", "the message is outside the accepted window (a replay?)")
