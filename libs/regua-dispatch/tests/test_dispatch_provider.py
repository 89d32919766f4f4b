"""The provider HTTP adapter against a real local HTTP server (aiohttp, in-process): idempotency key on
every try, retries with backoff for 5xx/429/no connection, no retry for a refusal, the token bucket."""

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from regua_dispatch.provider import (
    ProviderClient,
    ProviderInDoubt,
    ProviderRejected,
    ProviderResponse,
    ProviderUnavailable,
    RetryPolicy,
)
from regua_localstack.testing import serve
from regua_platform.ratelimit import TokenBucket


@dataclass
class Script:
    """Answers in order; the last answer repeats. Keeps what it received."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[tuple[str | None, str | None, float]] = field(default_factory=list)
    slow_first: float = 0.0  # seconds the first request is answered late (taken, the answer lost to a timeout)

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.headers.get("Idempotency-Key"), request.headers.get("Authorization"),
                          time.monotonic()))
        if len(self.seen) == 1 and self.slow_first:
            await asyncio.sleep(self.slow_first)
        status, headers = self.answers[min(len(self.seen), len(self.answers)) - 1]
        body = {"id": "m-1"} if status < 300 else {"error": {"code": "invalid_number", "message": "no"}}
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    app = web.Application()
    app.router.add_post("/v1/messages", script.handle)
    async with serve(app) as url:
        yield script, url


async def _client(url: str, rate: float = 0, attempts: int = 4, timeout: float = 2) -> ProviderClient:
    client = ProviderClient("sms", url, "tok", bucket=TokenBucket(rate), retry=RetryPolicy(attempts, 0.01),
                            timeout_seconds=timeout, connections=8)
    await client.start()
    return client


async def test_retries_transient_answers_with_the_same_idempotency_key(server: tuple[Script, str]) -> None:
    script, url = server
    script.answers = [(503, {}), (429, {"Retry-After": "0.2"}), (201, {})]
    client = await _client(url)
    try:
        started = time.monotonic()
        response = await client.post("/v1/messages", {"to": "+5511987654321"}, "step-1")
    finally:
        await client.close()
    assert (response.status, response.body) == (201, {"id": "m-1"})
    assert [(k, a) for k, a, _ in script.seen] == [("step-1", "Bearer tok")] * 3
    assert script.seen[2][2] - script.seen[1][2] >= 0.2  # Retry-After honoured
    assert time.monotonic() - started < 2


async def test_a_refusal_is_not_retried(server: tuple[Script, str]) -> None:
    script, url = server
    script.answers = [(400, {})]
    client = await _client(url)
    try:
        with pytest.raises(ProviderRejected) as caught:
            await client.post("/v1/messages", {}, "step-2")
    finally:
        await client.close()
    assert caught.value.status == 400 and caught.value.error["code"] == "invalid_number"
    assert len(script.seen) == 1


async def test_after_the_last_try_the_provider_is_unavailable(server: tuple[Script, str]) -> None:
    script, url = server
    script.answers = [(502, {})]
    client = await _client(url, attempts=3)
    try:
        with pytest.raises(ProviderUnavailable, match="after 3 tries: HTTP 502"):
            await client.post("/v1/messages", {}, "step-3")
    finally:
        await client.close()
    assert len(script.seen) == 3


async def test_no_server_is_unavailable_too() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = await _client(f"http://127.0.0.1:{port}", attempts=2)
    try:
        with pytest.raises(ProviderUnavailable, match="ClientConnectorError"):
            await client.post("/v1/messages", {}, "step-4")
    finally:
        await client.close()


async def test_the_token_bucket_spaces_the_calls(server: tuple[Script, str]) -> None:
    script, url = server
    script.answers = [(201, {})]
    client = await _client(url, rate=50)  # 50/s, a bucket of 5
    try:
        for i in range(30):
            await client.post("/v1/messages", {}, f"k{i}")
    finally:
        await client.close()
    elapsed = script.seen[-1][2] - script.seen[0][2]
    assert 0.45 <= elapsed < 0.9  # (30 - 5) / 50 s, give or take the machine


async def test_a_call_that_timed_out_is_not_sent_again_without_a_lookup(server: tuple[Script, str]) -> None:
    script, url = server
    script.answers, script.slow_first = [(201, {})], 1.0
    client = await _client(url, timeout=0.3)
    try:
        with pytest.raises(ProviderInDoubt):
            await client.post("/v1/messages", {}, "step-5")
    finally:
        await client.close()
    assert len(script.seen) == 1  # a provider that does not dedupe would have sent it twice


async def test_a_call_that_timed_out_is_sent_again_only_when_the_lookup_finds_nothing(
        server: tuple[Script, str]) -> None:
    script, url = server
    script.answers, script.slow_first = [(201, {})], 1.0
    asked: list[str] = []

    async def found(answer: ProviderResponse | None) -> ProviderResponse | None:
        asked.append("?")
        return answer

    client = await _client(url, timeout=0.3)
    try:
        taken = await client.post("/v1/messages", {}, "step-6",
                                  look_up=lambda: found(ProviderResponse(200, {"id": "x"})))
        assert (taken.body, len(script.seen), len(asked)) == ({"id": "x"}, 1, 1)
        script.seen.clear()
        sent = await client.post("/v1/messages", {}, "step-7", look_up=lambda: found(None))
    finally:
        await client.close()
    assert (sent.body, len(script.seen), len(asked)) == ({"id": "m-1"}, 2, 2)
