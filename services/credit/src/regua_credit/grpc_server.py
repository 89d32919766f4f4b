"""The gRPC server, on the service's own event loop next to its HTTP endpoints: the credit-analysis service,
standard health checking and server reflection, interceptors for metrics and OpenTelemetry server spans.

It starts while the service starts (so /readyz answering means gRPC answers too) and stops with it: health
turns NOT_SERVING, new calls are refused, and calls in flight get REGUA_CREDIT_GRPC_GRACE_SECONDS to finish
before the database pool closes.
"""

import asyncio
import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from regua.credit.v1 import credit_analysis_pb2 as pb
from regua.credit.v1 import credit_analysis_pb2_grpc as pb_grpc

from regua_credit.analysis import Analyst
from regua_credit.interceptors import AuthInterceptor, MetricsInterceptor, TestDelayInterceptor
from regua_credit.rpc import CreditAnalysisService
from regua_platform.service import Runtime
from regua_platform.service_tokens import TokenVerifier
from regua_platform.settings import Settings
from regua_platform.signing import verifier_from

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CreditAnalysisService"].full_name


class CreditServer:
    def __init__(self, settings: Settings, analyst: Analyst) -> None:
        interceptors: list[grpc.aio.ServerInterceptor] = [
            MetricsInterceptor(),  # outermost: measures everything, spans included
            aio_server_interceptor(tracer_provider=trace.get_tracer_provider()),  # type: ignore[no-untyped-call]
            AuthInterceptor(TokenVerifier(verifier_from(settings.trusted_producers), settings.credit_allowed_callers)),
        ]
        if settings.credit_test_hooks:
            interceptors.append(TestDelayInterceptor())
        self._server = grpc.aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
        self._health = health.aio.HealthServicer()
        self._grace = settings.credit_grpc_grace_seconds
        pb_grpc.add_CreditAnalysisServiceServicer_to_server(CreditAnalysisService(analyst), self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self._server)
        self.address = f"{settings.http_host}:{settings.credit_grpc_port}"
        credentials = server_credentials(settings)
        port = (self._server.add_secure_port(self.address, credentials) if credentials
                else self._server.add_insecure_port(self.address))
        if port == 0:
            raise OSError(f"cannot listen for gRPC on {self.address}")

    async def start(self) -> None:
        await self._server.start()
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC server started", extra={"address": self.address})

    async def serve(self) -> None:
        """Runs until cancelled (the service stopping), then stops gracefully."""
        try:
            # Shielded: cancelling grpc's own wait would cancel the future its stop() awaits, and stop() would
            # then never finish.
            await asyncio.shield(self._server.wait_for_termination())
        finally:
            await self._health.enter_graceful_shutdown()
            await self._server.stop(self._grace)
            log.info("gRPC server stopped")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS when a certificate and key are configured; with a client CA, callers must present a certificate
    it signed (mutual TLS) besides their token."""
    if not settings.credit_grpc_tls_cert or not settings.credit_grpc_tls_key:
        return None
    client_ca = settings.credit_grpc_tls_client_ca
    return grpc.ssl_server_credentials(
        [(_read(settings.credit_grpc_tls_key), _read(settings.credit_grpc_tls_cert))],
        root_certificates=_read(client_ca) if client_ca else None, require_client_auth=client_ca is not None)


async def serve_grpc(runtime: Runtime) -> None:
    """A ServiceSpec background job: the server itself was started by the service's wiring."""
    server: CreditServer = runtime.extras["grpc_server"]
    await server.serve()
