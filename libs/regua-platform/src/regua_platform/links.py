"""Signed links sent to debtors (unsubscribe, self-service). The payload is readable but cannot be forged
or altered; an expired or tampered link is refused, and so is a link signed for another purpose (every
link carries its purpose, ``p``, under the signature: a self-service link does not unsubscribe)."""

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

#: The purposes a link can be signed for; the endpoint that verifies it names the one it accepts.
SELF_SERVICE = "negotiation"
UNSUBSCRIBE = "unsubscribe"
#: Links signed before purposes existed: only e-mail unsubscribe links, which carried ``c: email``.
_UNBOUND = {"email": UNSUBSCRIBE}


class InvalidLink(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(purpose: str, payload: dict[str, Any], secret: str, expires_at: datetime | None = None) -> str:
    body = dict(payload, p=purpose, exp=int(expires_at.timestamp()) if expires_at else None)
    data = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()[:18]
    return f"{data}.{_b64(mac)}"


def verify(token: str, secret: str, now: datetime, purpose: str) -> dict[str, Any]:
    try:
        data, mac = token.split(".")
        expected = hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(_unb64(mac), expected):
            raise InvalidLink("the link's signature does not match")
        body: dict[str, Any] = json.loads(_unb64(data))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidLink("the link is malformed") from exc
    if not isinstance(body, dict) or body.get("p", _UNBOUND.get(str(body.get("c")))) != purpose:
        raise InvalidLink(f"the link was not issued for {purpose}")
    if body.get("exp") is not None and now.timestamp() > body["exp"]:
        raise InvalidLink("the link has expired")
    return body
