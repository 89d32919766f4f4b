"""The provider HTTP adapter every text channel builds on: one pooled session, a token bucket for the
provider's rate limit, the step id as ``Idempotency-Key`` on every try, and retries with exponential
backoff and jitter for what is worth retrying (no connection, timeouts, 429 and 5xx answers, honouring
Retry-After). After the last try the call raises ProviderUnavailable and the command is dead-lettered.

aiohttp rather than httpx here: on this kind of machine httpx's async client spends about 2 ms of CPU
per request and tops out near 300 requests/s, aiohttp about 0.25 ms (docs/PERFORMANCE.md)."""

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import Counter

from regua_platform.kafka import TransientError
from regua_platform.ratelimit import TokenBucket

log = logging.getLogger(__name__)
REQUESTS = Counter("regua_dispatch_provider_requests_total", "Calls to channel providers by result",
                   ["channel", "result"])


class ProviderUnavailable(TransientError):
    """Every try failed for a reason worth retrying."""


class ProviderRejected(Exception):
    """The provider refused the request itself (4xx other than 429): retrying would not help."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)[:300]}")
        self.status = status
        self.body = body

    @property
    def error(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` object both providers answer with (empty when absent)."""
        found = self.body.get("error")
        return found if isinstance(found, dict) else {}


@dataclass(frozen=True)
class ProviderResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_seconds: float = 0.5

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Before try ``attempt + 1`` (attempt counts from 0): base * 2^attempt, jittered by ±50%."""
        backoff = self.base_seconds * float(2**attempt) * (0.5 + random.random())
        return max(backoff, retry_after or 0.0)


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers.get("Retry-After", ""))
    except ValueError:
        return None


class ProviderClient:
    def __init__(self, channel: str, base_url: str, token: str, *, bucket: TokenBucket, retry: RetryPolicy,
                 timeout_seconds: float, connections: int) -> None:
        self.channel = channel
        self.base_url = base_url.rstrip("/")
        self.bucket = bucket
        self.retry = retry
        self._token = token
        self._timeout = timeout_seconds
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._counted = {r: REQUESTS.labels(channel, r) for r in ("ok", "retry", "rejected", "unavailable")}

    async def start(self) -> None:
        """Opens the session (it must be created inside the running event loop)."""
        self._session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            connector=aiohttp.TCPConnector(limit=self._connections),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, path: str, payload: dict[str, Any], idempotency_key: str) -> ProviderResponse:
        assert self._session is not None, "start() the client first"
        url = f"{self.base_url}{path}"
        data = json.dumps(payload, ensure_ascii=False).encode()  # once, whatever the number of tries
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        last = "no try made"
        retry_after: float | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(self.retry.delay(attempt - 1, retry_after))
                retry_after = None
            await self.bucket.acquire()
            try:
                async with self._session.post(url, data=data, headers=headers) as r:
                    raw = await r.read()
                    status, retry_after = r.status, _retry_after(r.headers)
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{type(exc).__name__}: {exc}"[:300]
                self._counted["retry"].inc()
                continue
            body = _json(raw)
            if status < 300:
                self._counted["ok"].inc()
                return ProviderResponse(status, body)
            if status == 429 or status >= 500:
                last = f"HTTP {status}"
                self._counted["retry"].inc()
                continue
            self._counted["rejected"].inc()
            raise ProviderRejected(status, body)
        self._counted["unavailable"].inc()
        log.warning("provider unavailable", extra={"channel": self.channel, "tries": self.retry.attempts,
                                                   "last": last})
        raise ProviderUnavailable(f"{self.channel} provider unavailable after {self.retry.attempts} tries: {last}")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {"raw": raw[:300].decode(errors="replace")}
    return body if isinstance(body, dict) else {"value": body}
