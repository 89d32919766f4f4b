"""Provider webhooks are signed like the WhatsApp Cloud API's: ``X-Hub-Signature-256: sha256=<hex>``, the
HMAC-SHA256 of the raw body with a shared secret. A request without a valid signature changes nothing."""

import hashlib
import hmac

from fastapi import Request

from regua_platform.http import ApiError

HEADER = "X-Hub-Signature-256"


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
