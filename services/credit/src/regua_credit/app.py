"""Wiring of the credit-analysis service."""

import asyncio
import logging

import asyncpg

from regua_contracts import topics
from regua_credit import api, subscribers
from regua_credit.analysis import Analyst, ScoreModel
from regua_credit.bureau import NoBureau
from regua_credit.grpc_server import CreditServer, serve_grpc
from regua_platform import privacy
from regua_platform.clock import WallClock
from regua_platform.privacy import PersonalData, PersonalTable
from regua_platform.service import Runtime, ServiceSpec

log = logging.getLogger(__name__)


async def _wire(runtime: Runtime) -> None:
    settings = runtime.settings
    model = ScoreModel()
    await model.refresh(runtime.pool)
    runtime.extras["score_model"] = model
    # Profiles are as of the wall clock: overdue days are real days, also when the ruler's clock is simulated.
    analyst = Analyst(runtime.pool, model, NoBureau(), WallClock(), settings.timezone)
    subscribers.wire(runtime)
    privacy.install(runtime, PersonalData("credit", (PersonalTable("invoices"),)))
    server = CreditServer(settings, analyst)
    await server.start()
    runtime.extras["grpc_server"] = server


async def refresh_model(runtime: Runtime) -> None:
    """Picks up a model trained by `python -m regua_credit train` (another process) without a restart."""
    model: ScoreModel = runtime.extras["score_model"]
    while True:
        await asyncio.sleep(runtime.settings.credit_model_refresh_seconds)
        try:
            await model.refresh(runtime.pool)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            log.exception("score model refresh failed; keeping the current one")


SPEC = ServiceSpec(
    name="credit",
    schema="credit",
    package="regua_credit",
    topics=topics.all_topics(),
    wire=_wire,
    background=[serve_grpc, refresh_model],
    routers=[api.router],
    title="Régua — credit analysis",
)
