"""The provider HTTP adapter every text channel builds on: one pooled session, a token bucket for the
provider's rate limit, the step id as ``Idempotency-Key`` on every try, and retries with exponential
backoff and jitter for what is worth retrying (no connection, timeouts, 429 and 5xx answers, honouring
Retry-After). After the last try the call raises ProviderUnavailable and the command is dead-lettered.

Not every provider honours the key, so a try is never simply repeated when the previous one may have been
taken: after a timeout or a connection lost once the request was out, the caller's ``look_up`` asks the
provider by our reference first (its answer stands if it has the message); a channel without such a lookup
gets ProviderInDoubt instead of a second try. An error answer (429, 5xx) or a connection never made is the
provider saying it took nothing: those are tried again.

aiohttp rather than httpx here: on this kind of machine httpx's async client spends about 2 ms of CPU
per request and tops out near 300 requests/s, aiohttp about 0.25 ms (docs/PERFORMANCE.md)."""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
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


class ProviderInDoubt(ProviderUnavailable):
    """A try may have been taken (no answer came back) and nothing could tell whether it was: never sent again
    blindly. The pipeline settles it (pipeline.Dispatcher._resolve); left unsettled it is unavailable."""


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


#: Asks the provider whether it has the message (by our reference): its answer, or None when it has not.
LookUp = Callable[[], Awaitable["ProviderResponse | None"]]
#: Awaited just before a send's first request leaves.
Calling = Callable[[], Awaitable[None]]
#: The request never left: nothing can have been taken.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


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
        self._counted = {r: REQUESTS.labels(channel, r) for r in ("ok", "retry", "rejected", "unavailable",
                                                                   "in-doubt", "found")}

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

    async def post(self, path: str, payload: dict[str, Any], idempotency_key: str,
                   look_up: LookUp | None = None, calling: Calling | None = None) -> ProviderResponse:
        """Sends once; tries again only what the provider surely did not take, or what ``look_up`` says it has
        not. ``calling`` is awaited once, just before the first request leaves (after the rate limit): the
        caller commits that the provider may have it from now on. Raises ProviderInDoubt when a try may have
        been taken and nothing tells."""
        data = json.dumps(payload, ensure_ascii=False).encode()  # once, whatever the number of tries
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        in_doubt = False
        last = "no try made"
        retry_after: float | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(self.retry.delay(attempt - 1, retry_after))
                retry_after = None
            if in_doubt:
                if look_up is None:
                    break
                try:
                    found = await look_up()
                except ProviderUnavailable:
                    break
                if found is not None:
                    self._counted["found"].inc()
                    return found
                in_doubt = False  # the provider says it has not got it: sending again is safe
            result = await self._try("POST", path, data, headers, calling=calling)
            calling = None
            if isinstance(result, ProviderResponse):
                return result
            last, retry_after, in_doubt = result
        return self._give_up(last, in_doubt)

    async def get(self, path: str, params: dict[str, str]) -> ProviderResponse:
        """A query (safe to repeat): tried like a send, raises ProviderUnavailable after the last try."""
        last = "no try made"
        retry_after: float | None = None
        for attempt in range(self.retry.attempts):
            if attempt:
                await asyncio.sleep(self.retry.delay(attempt - 1, retry_after))
            result = await self._try("GET", path, None, {}, params)
            if isinstance(result, ProviderResponse):
                return result
            last, retry_after, _ = result
        return self._give_up(last, False)

    async def _try(self, method: str, path: str, data: bytes | None, headers: dict[str, str],
                   params: dict[str, str] | None = None,
                   calling: Calling | None = None) -> ProviderResponse | tuple[str, float | None, bool]:
        """One try: the answer, or (why it failed, Retry-After, whether the provider may have taken it).
        Raises ProviderRejected for a refusal."""
        assert self._session is not None, "start() the client first"
        await self.bucket.acquire()
        if calling is not None:
            await calling()
        try:
            async with self._session.request(method, f"{self.base_url}{path}", data=data, headers=headers,
                                             params=params) as r:
                raw = await r.read()
                status, retry_after = r.status, _retry_after(r.headers)
        except NOT_SENT as exc:
            self._counted["retry"].inc()
            return f"{type(exc).__name__}: {exc}"[:300], None, False
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._counted["retry"].inc()
            return f"{type(exc).__name__}: {exc}"[:300], None, True
        body = _json(raw)
        if status < 300:
            self._counted["ok"].inc()
            return ProviderResponse(status, body)
        if status == 429 or status >= 500:
            self._counted["retry"].inc()
            return f"HTTP {status}", retry_after, False
        self._counted["rejected"].inc()
        raise ProviderRejected(status, body)

    def _give_up(self, last: str, in_doubt: bool) -> ProviderResponse:
        self._counted["in-doubt" if in_doubt else "unavailable"].inc()
        log.warning("provider unavailable", extra={"channel": self.channel, "in_doubt": in_doubt, "last": last})
        if in_doubt:
            raise ProviderInDoubt(f"{self.channel} provider gave no answer and may have taken the message: {last}")
        raise ProviderUnavailable(f"{self.channel} provider unavailable after {self.retry.attempts} tries: {last}")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {"raw": raw[:300].decode(errors="replace")}
    return body if isinstance(body, dict) else {"value": body}
