"""HTTP request metrics for every service (installed by the service factory): a counter and a latency
histogram by method, route template and status class. The route is the template a request matched
(``/invoices/{invoice_id}``), never the raw path: ids in paths would make one series per request. A request
that matched no route (404, or answered by the request guard before routing) counts as ``unmatched``."""

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("regua_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("regua_http_request_duration_seconds", "HTTP request latency until the response ends",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))

#: Probes and scrapes are not traffic: they would drown the request rate and the latency percentiles.
EXCLUDED = ("/metrics", "/healthz", "/readyz")
UNMATCHED = "unmatched"
#: Any other method a client sends is counted as ``other``: a label must not take arbitrary client values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXCLUDED):
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes every handler becomes a 500 (ServerErrorMiddleware)
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            REQUESTS.labels(method, route, f"{status // 100}xx").inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
