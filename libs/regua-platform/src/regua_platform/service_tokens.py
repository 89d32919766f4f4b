"""Short-lived service tokens: how one service proves to another who it is and for which tenant it asks
(the ruler calling credit analysis). A token is ``v1.<payload>.<signature>`` (base64url), the payload
{"svc", "ten", "exp"} signed with the caller's Ed25519 event-signing key; the callee checks it against the
same trusted keys as events (REGUA_TRUSTED_PRODUCERS) and its list of allowed callers, and takes the tenant
from the token, never from a header the caller could set freely.

Both sides cache: the issuer reuses a tenant's token until half its life is gone, the verifier remembers a
verified token until it expires, so a call costs a dictionary look-up, not an Ed25519 operation.
"""

import base64
import binascii
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from regua_platform.signing import Signer, Verifier

METADATA_KEY = "authorization"
_SCHEME = "Bearer "
_DOMAIN = b"regua-service-token-v1\x00"  # never valid as an event signature, nor an event's as a token's
_MAX_CACHED = 10_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Claims:
    service: str
    tenant: str
    expires_at: float


class TokenRejected(Exception):
    """``denied`` is False for a missing or invalid credential (UNAUTHENTICATED), True for a valid one of a
    caller that may not call (PERMISSION_DENIED)."""

    def __init__(self, message: str, *, denied: bool = False) -> None:
        super().__init__(message)
        self.denied = denied


class TokenIssuer:
    def __init__(self, signer: Signer, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self._signer, self._ttl, self._clock = signer, ttl_seconds, clock
        self._cache: dict[str, tuple[float, str]] = {}

    def token(self, tenant: str) -> str:
        now = self._clock()
        hit = self._cache.get(tenant)
        if hit is not None and hit[0] - now > self._ttl / 2:
            return hit[1]
        expires = int(now + self._ttl)
        payload = json.dumps({"svc": self._signer.producer, "ten": tenant, "exp": expires},
                             separators=(",", ":"), sort_keys=True).encode()
        signature = base64.b64decode(self._signer.sign(_DOMAIN + payload))
        token = f"v1.{_b64(payload)}.{_b64(signature)}"
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[tenant] = (expires, token)
        return token

    def metadata(self, tenant: str) -> tuple[str, str]:
        return METADATA_KEY, _SCHEME + self.token(tenant)


class TokenVerifier:
    def __init__(self, verifier: Verifier, allowed_callers: Collection[str],
                 clock: Callable[[], float] = time.time) -> None:
        self._verifier, self._allowed, self._clock = verifier, frozenset(allowed_callers), clock
        self._cache: dict[str, Claims] = {}

    def from_metadata(self, value: str | None) -> Claims:
        if not value:
            raise TokenRejected("a service token is required (authorization: Bearer ...)")
        if not value.startswith(_SCHEME):
            raise TokenRejected("the authorization metadata must be 'Bearer <token>'")
        return self.verify(value[len(_SCHEME):])

    def verify(self, token: str) -> Claims:
        now = self._clock()
        claims = self._cache.get(token)
        if claims is None:
            claims = self._check(token)
        if claims.expires_at <= now:
            self._cache.pop(token, None)
            raise TokenRejected("the service token has expired")
        if claims.service not in self._allowed:
            raise TokenRejected(f"{claims.service!r} may not call this service", denied=True)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[token] = claims
        return claims

    def _check(self, token: str) -> Claims:
        try:
            version, payload_b64, signature_b64 = token.split(".")
            payload, signature = _unb64(payload_b64), _unb64(signature_b64)
            fields = json.loads(payload)
            claims = Claims(str(fields["svc"]), str(fields["ten"]), float(fields["exp"]))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise TokenRejected("malformed service token") from exc
        if version != "v1" or not claims.tenant:
            raise TokenRejected("malformed service token")
        if not self._verifier.verify(_DOMAIN + payload, claims.service, base64.b64encode(signature).decode()):
            raise TokenRejected(f"invalid signature or untrusted caller {claims.service!r}")
        return claims
