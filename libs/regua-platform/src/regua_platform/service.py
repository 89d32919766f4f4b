"""The one service factory: every Régua service is a FastAPI app whose lifespan migrates its schema,
opens its pool and Kafka broker, runs its outbox relay and background loops, and serves /healthz,
/readyz and /metrics. Services describe themselves with a ServiceSpec and keep their own code thin."""

import asyncio
import functools
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import make_asgi_app

from regua_contracts.topics import PRODUCERS
from regua_platform.api_docs import install_docs
from regua_platform.broker_watch import BrokerWatch
from regua_platform.consumer_lag import lag_loop
from regua_platform.db import RETRYABLE, create_pool
from regua_platform.http import document_api, install_error_handlers
from regua_platform.http_metrics import HttpMetrics
from regua_platform.kafka import OutboxPublisher, create_broker, parking_lot, rewind
from regua_platform.log_throttle import throttle_noisy_clients
from regua_platform.logging import configure_logging
from regua_platform.migrations import migrate
from regua_platform.outbox import OutboxRelay, prune_loop
from regua_platform.settings import Settings
from regua_platform.signing import signer_from, verifier_from
from regua_platform.supervise import OUTAGE, supervise
from regua_platform.telemetry import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service holds; reachable from routes as ``request.app.state.runtime``."""

    settings: Settings
    pool: asyncpg.Pool
    broker: KafkaBroker
    extras: dict[str, Any] = field(default_factory=dict)
    watch: BrokerWatch | None = None
    # Closed at shutdown, after the broker stopped (provider HTTP sessions and the like).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    schema: str
    package: str  # holds migrations/
    topics: Sequence[str]
    # Registers subscribers (before the broker starts) and fills runtime.extras.
    wire: Callable[[Runtime], Awaitable[None]]
    background: Sequence[Callable[[Runtime], Coroutine[Any, Any, None]]] = ()
    routers: Sequence[APIRouter] = ()
    title: str = ""
    # Libraries whose migrations/ this service's schema also needs, applied before the service's own.
    libraries: Sequence[str] = ()


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _crash_on_failure(task: asyncio.Task[None]) -> None:
    # Outages are ridden out inside each loop (supervise); a loop that still dies had a programming error:
    # crash-only, it takes the process with it and the orchestrator restarts it.
    if not task.cancelled() and task.exception() is not None:
        log.critical("background task died", exc_info=task.exception())
        os.kill(os.getpid(), signal.SIGTERM)


def _require_signing_key(settings: Settings) -> None:
    """A service that produces an internal topic refuses to start without its signing key: consumers would
    dead-letter everything it publishes."""
    produces = sorted(t for t, names in PRODUCERS.items() if settings.service_name in names)
    if produces and not settings.signing_key:
        raise RuntimeError(f"REGUA_SIGNING_KEY is required: {settings.service_name} produces {', '.join(produces)}")
    signer_from(settings.service_name, settings.signing_key)  # an unreadable key fails here, not at first publish
    verifier_from(settings.trusted_producers)


async def prepare_schema(spec: ServiceSpec, settings: Settings) -> list[str]:
    """Migrates the service's schema at start-up, unless a Job does it before the pods start (the chart)."""
    if not settings.migrate_on_start:
        return []
    return await migrate(settings.database_url, spec.schema, spec.package, spec.libraries)


def create_app(spec: ServiceSpec, settings: Settings) -> FastAPI:
    _require_signing_key(settings)
    configure_logging(spec.name, settings.log_level)
    throttle_noisy_clients()
    configure_tracing(spec.name, settings.otel_exporter_otlp_endpoint)
    AsyncPGInstrumentor().instrument()  # type: ignore[no-untyped-call]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_schema(spec, settings)
        pool = await create_pool(settings.database_url, spec.schema,
                                 min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        broker = create_broker(settings)
        watch = BrokerWatch(settings, spec.topics, pool, rewind=lambda: rewind(broker))
        await watch.check()  # creates the topics (and re-queues the outbox when the broker is new)
        runtime = Runtime(settings, pool, broker, watch=watch)
        app.state.runtime = runtime
        await spec.wire(runtime)
        await broker.start()
        outbox_publisher = OutboxPublisher(settings)
        await outbox_publisher.start()
        relay = OutboxRelay(pool, outbox_publisher.publish, batch=settings.outbox_batch,
                            poll_seconds=settings.outbox_poll_seconds, gate=watch.verified,
                            retain=settings.outbox_retention_hours > 0, confirm=watch.confirm)
        lot = parking_lot(broker)
        lot.pool = pool

        async def relay_loop() -> None:
            try:
                await relay.run()
            except OUTAGE as exc:
                watch.lost(f"outbox relay: {type(exc).__name__}")  # publish nothing until the broker is checked
                raise

        loops: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = [
            ("outbox-relay", relay_loop),
            ("outbox-prune", lambda: prune_loop(pool, settings)),
            ("broker-watch", watch.run),
            ("parking-lot", lambda: lot.run(settings.consumer_park_poll_seconds, settings.consumer_park_attempts)),
            ("consumer-lag", lambda: lag_loop(broker, settings.consumer_lag_seconds)),
        ]
        loops += [(job.__name__, functools.partial(job, runtime)) for job in spec.background]
        tasks = [asyncio.create_task(supervise(name, loop), name=name) for name, loop in loops]
        for task in tasks:
            task.add_done_callback(_crash_on_failure)
        # Start-up objects live for the whole process: keep them out of every collection, and collect the
        # young generation less often (services allocate many short-lived objects per message).
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        log.info("service started", extra={"port": settings.http_port})
        try:
            yield
        finally:
            relay.stop()
            for task in tasks:
                task.remove_done_callback(_crash_on_failure)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await outbox_publisher.stop()
            await watch.close()
            await broker.stop()
            for close in runtime.closers:
                await close()
            await pool.close()
            shutdown_tracing()

    app = FastAPI(title=spec.title or f"Régua {spec.name}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/metrics", make_asgi_app())
    install_docs(app)
    install_error_handlers(app, settings.http_max_body_bytes)
    app.add_middleware(HttpMetrics)  # outside the request guard: its 413/422 answers are counted too

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        runtime = runtime_of(request)
        checks = {"database": "ok", "kafka": "ok"}
        try:
            await asyncio.wait_for(runtime.pool.fetchval("SELECT 1"), 2.0)
        except (*RETRYABLE, asyncpg.PostgresError, TimeoutError) as exc:
            checks["database"] = type(exc).__name__
        if not await runtime.broker.ping(timeout=2.0):
            checks["kafka"] = "unreachable"
        elif runtime.watch is not None and not runtime.watch.verified.is_set():
            checks["kafka"] = runtime.watch.problem  # e.g. the broker came back without this service's topics
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)

    for router in spec.routers:
        app.include_router(router)
    document_api(app)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app


def serve(spec: ServiceSpec, settings: Settings | None = None) -> None:
    settings = settings or Settings(service_name=spec.name)
    app = create_app(spec, settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None,
                timeout_graceful_shutdown=10)
