"""The HTTP metrics middleware around a FastAPI app in process: a handler that raises is counted as a 5xx on
its route template, and a request the guard refuses before routing as ``unmatched``."""

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from regua_platform.http import install_error_handlers
from regua_platform.http_metrics import HttpMetrics


def _count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("regua_http_requests_total", labels) or 0.0


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def broken(thing_id: str) -> dict[str, str]:
        raise RuntimeError(f"cannot load {thing_id}")

    install_error_handlers(app, max_body_bytes=10)
    app.add_middleware(HttpMetrics)  # as the service factory does
    return app


async def test_an_unhandled_error_counts_as_a_5xx_of_its_route() -> None:
    before = _count("GET", "/v1/things/{thing_id}", "5xx")
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/v1/things/42")).status_code == 500
    assert _count("GET", "/v1/things/{thing_id}", "5xx") == before + 1


async def test_a_body_the_guard_refuses_counts_as_unmatched() -> None:
    before = _count("POST", "unmatched", "4xx")
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/v1/things/42", content=b"x" * 100)).status_code == 413
    assert _count("POST", "unmatched", "4xx") == before + 1
