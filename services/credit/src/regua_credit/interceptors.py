"""Server interceptors: caller authentication (service token, tenant from the token), Prometheus metrics per
method and status code, and the tests' forced delay."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from regua_platform.service_tokens import METADATA_KEY, TokenRejected, TokenVerifier

REQUESTS = Counter("regua_credit_grpc_requests_total", "gRPC calls handled by the credit service",
                   ["method", "code"])
LATENCY = Histogram("regua_credit_grpc_request_seconds", "gRPC handling time in the credit service", ["method"],
                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5))
TEST_DELAY_HEADER = "x-regua-test-delay-ms"

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]]


def _wrap_unary(handler: grpc.RpcMethodHandler | None,
                wrap: Callable[[Behaviour], Behaviour]) -> grpc.RpcMethodHandler | None:
    if handler is None or handler.unary_unary is None:
        return handler  # every RPC of the service is unary; health's Watch stream passes through untouched
    return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary),
                                               request_deserializer=handler.request_deserializer,
                                               response_serializer=handler.response_serializer)


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(self, continuation: Continuation,
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method.rsplit("/", 1)[-1]

        def wrap(behaviour: Behaviour) -> Behaviour:
            async def measured(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started = time.perf_counter()
                code = grpc.StatusCode.UNKNOWN
                try:
                    response = await behaviour(request, context)
                    code = context.code() or grpc.StatusCode.OK
                    return response
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED  # the caller went away or its deadline passed
                    raise
                except grpc.aio.AbortError:
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                finally:
                    REQUESTS.labels(method, code.name).inc()
                    LATENCY.labels(method).observe(time.perf_counter() - started)

            return measured

        return _wrap_unary(await continuation(details), wrap)


class TestDelayInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Sleeps for the milliseconds in the `x-regua-test-delay-ms` metadata before handling a call, so tests
    can force a slow service. Installed only when REGUA_CREDIT_TEST_HOOKS is true."""

    __test__ = False  # not a pytest class

    async def intercept_service(self, continuation: Continuation,
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        delay = next((v for k, v in details.invocation_metadata or () if k == TEST_DELAY_HEADER), None)
        if delay is None or not str(delay).isdigit():
            return await continuation(details)
        seconds = int(delay) / 1000

        def wrap(behaviour: Behaviour) -> Behaviour:
            async def delayed(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await asyncio.sleep(seconds)
                return await behaviour(request, context)

            return delayed

        return _wrap_unary(await continuation(details), wrap)


#: The tenant the current call's verified token was issued for (set by AuthInterceptor for the handler).
CALLER_TENANT: ContextVar[str | None] = ContextVar("regua_credit_caller_tenant", default=None)
#: Methods anyone may call: health checks (probes) and reflection (the schema, no data).
_OPEN = ("/grpc.health.", "/grpc.reflection.")


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Every call of the service carries a token (``authorization: Bearer ...``) signed by a trusted, allowed
    caller; the tenant comes from it. No token or a bad one: UNAUTHENTICATED; a caller not allowed:
    PERMISSION_DENIED."""

    def __init__(self, tokens: TokenVerifier) -> None:
        self._tokens = tokens

    async def intercept_service(self, continuation: Continuation,
                                details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if details.method.startswith(_OPEN):
            return await continuation(details)
        value = next((v for k, v in details.invocation_metadata or () if k == METADATA_KEY), None)
        try:
            claims = self._tokens.from_metadata(value if isinstance(value, str) else None)
            refusal: TokenRejected | None = None
        except TokenRejected as exc:
            refusal = exc

        def wrap(behaviour: Behaviour) -> Behaviour:
            async def authenticated(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if refusal is not None:
                    code = grpc.StatusCode.PERMISSION_DENIED if refusal.denied else grpc.StatusCode.UNAUTHENTICATED
                    await context.abort(code, str(refusal))
                CALLER_TENANT.set(claims.tenant)
                return await behaviour(request, context)

            return authenticated

        return _wrap_unary(await continuation(details), wrap)
