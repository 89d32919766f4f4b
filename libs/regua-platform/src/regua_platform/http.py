"""One HTTP error shape for every service: ``{"errors": [{"field": ..., "reason": ...}]}``, and one guard on
what a request may carry before any route sees it (size, NUL characters)."""

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from regua_platform.errors import field_errors, reason

#: At most this many errors are returned for one request (and built: a huge invalid batch must not make a
#: service build millions of them); the last one says how many more there were.
MAX_ERRORS = 100
_NUL_REASON = "must not contain NUL characters (\\u0000)"


class ApiError(Exception):
    def __init__(self, status: int, field: str, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.errors = [{"field": field, "reason": reason}]
        self.headers = headers or {}  # e.g. Retry-After with a 429

    @classmethod
    def invalid(cls, exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> "ApiError":
        error = cls(422, "", "")
        error.errors = capped(field_errors(exc, prefix), exc.error_count())
        return error


def capped(errors: list[dict[str, str]], total: int | None = None) -> list[dict[str, str]]:
    total = len(errors) if total is None else total
    if total <= MAX_ERRORS:
        return errors
    return [*errors[:MAX_ERRORS - 1], {"field": "(body)", "reason": f"{total - MAX_ERRORS + 1} more errors not shown"}]


def _nul_path(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """Where in a parsed JSON document a NUL character hides (a key or a string), as a dotted field."""
    if isinstance(value, str):
        return ".".join(path) or "(body)" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                return ".".join((*path, k.replace("\x00", ""))) or "(body)"
            if (found := _nul_path(v, (*path, k))) is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            if (found := _nul_path(v, (*path, str(i)))) is not None:
                return found
    return None


def _json_error(status: int, field: str, why: str) -> JSONResponse:
    return JSONResponse({"errors": [{"field": field, "reason": why}]}, status_code=status)


class RequestGuard:
    """Rejects, before routing, what no service can store: a body over ``max_body_bytes`` (413, read no
    further) and NUL characters anywhere in the path, the query or a JSON body (PostgreSQL text cannot hold
    them: 422 naming the field, instead of a 500 from deep in a handler)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"\x00" in unquote_to_bytes(scope.get("raw_path") or b""):
            await _json_error(422, "(path)", _NUL_REASON)(scope, receive, send)
            return
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                await _json_error(422, name.replace("\x00", "") or "(query)", _NUL_REASON)(scope, receive, send)
                return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or b"\\u0000" in body:
            field = "(body)"
            try:
                field = _nul_path(json.loads(body)) or "(body)"
            except ValueError:
                pass
            await _json_error(422, field, _NUL_REASON)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = f"request body larger than {self.max_body_bytes} bytes (REGUA_HTTP_MAX_BODY_BYTES)"
        await _json_error(413, "(body)", why)(scope, receive, send)


def _request_error(e: Any) -> dict[str, str]:
    if e["type"] == "json_invalid":  # its location is a byte offset, not a field
        at = e["loc"][-1] if e["loc"] else "?"
        why = e.get("ctx", {}).get("error", e["msg"])
        return {"field": "(body)", "reason": f"invalid JSON: {why} at position {at}"}
    return {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)", "reason": reason(e)}


def install_error_handlers(app: FastAPI, max_body_bytes: int = 4_000_000) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"errors": exc.errors}, status_code=exc.status, headers=exc.headers)

    async def request_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        return JSONResponse({"errors": capped([_request_error(e) for e in errors[:MAX_ERRORS]], len(errors))},
                            status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        """Framework answers (404 for an unknown route, 405, a body that is not UTF-8) in the same shape."""
        assert isinstance(exc, HTTPException)
        field = "(body)" if "body" in str(exc.detail).lower() else "(request)"
        return JSONResponse({"errors": [{"field": field, "reason": str(exc.detail)}]}, status_code=exc.status_code,
                            headers=exc.headers)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(HTTPException, http_error)
    _install_outage_handler(app)
    app.add_middleware(RequestGuard, max_body_bytes=max_body_bytes)


def _install_outage_handler(app: FastAPI) -> None:
    """The database or the broker away: 503 with Retry-After (nothing was done; the client tries again),
    logged a few times per outage rather than once per request with a traceback."""
    from regua_platform.supervise import OUTAGE, Throttled  # supervise imports the Kafka stack

    throttled = Throttled("a request (the database or the broker away)")

    async def outage(_: Request, exc: Exception) -> JSONResponse:
        throttled.failed(exc)
        return JSONResponse({"errors": [{"field": "(service)", "reason": "temporarily unavailable; try again"}]},
                            status_code=503, headers={"Retry-After": "5"})

    for kind in OUTAGE:
        app.add_exception_handler(kind, outage)


# --- OpenAPI: the error shape as one component, the answers every route can give, no dangling $refs ---

class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """The one error shape of every service."""

    errors: list[FieldError]


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_WHY = {
    400: "Malformed request", 401: "Missing or unknown credentials", 403: "Credentials lack the right",
    404: "No such resource (another tenant's looks the same)", 409: "Conflicts with the resource's state",
    413: "Request body too large", 422: "Invalid input, per field", 429: "Too many attempts (Retry-After)",
    503: "Database or broker away; try again (Retry-After)",
}
_CREDENTIALS = {"x-api-key", "x-admin-token", "x-staff-token"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route for the error answers only it gives (e.g. 409); the generic ones
    (400, 401, 403, 404, 413, 422, 503) are added to every operation by :func:`document_api`."""
    return {code: {"description": _WHY[code], "content": {"application/json": {"schema": _ERROR_REF}}}
            for code in codes}


def answers(model: Any, code: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry declaring a success answer's schema without filtering it (documentation only:
    pair it with ``response_model=None``, so the route answers exactly what it builds)."""
    return {code: {"model": model}}


def no_content(description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a route that may answer 204 with no body."""
    return {204: {"description": description}}


def _hoist_defs(node: Any, found: dict[str, Any]) -> Any:
    """Moves nested pydantic ``$defs`` (from a schema pasted into ``openapi_extra``) into components."""
    if isinstance(node, dict):
        for name, schema in node.pop("$defs", {}).items():
            found[name] = _hoist_defs(schema, found)
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                    else _hoist_defs(v, found)) for k, v in node.items()}
    if isinstance(node, list):
        return [_hoist_defs(v, found) for v in node]
    return node


def _document_operation(operation: dict[str, Any]) -> None:
    params = operation.get("parameters", [])
    codes = {422, 503}
    if any(p["in"] == "header" and p["name"].lower() in _CREDENTIALS for p in params):
        codes |= {401, 403}
    if any(p["in"] == "path" for p in params):
        codes.add(404)
    if "requestBody" in operation:
        codes |= {400, 413}  # 400: a body that is not JSON in UTF-8
    responses = operation.setdefault("responses", {})
    for code, answer in errors(*sorted(codes)).items():
        if str(code) not in responses or code == 422:  # 422: ours replaces FastAPI's HTTPValidationError
            responses[str(code)] = answer


def document_api(app: FastAPI) -> None:
    """Wraps ``app.openapi`` so the document is complete: the error shape is a component declared on every
    operation for the answers the platform itself gives, and no ``$ref`` points outside the document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        found: dict[str, Any] = {}
        document: dict[str, Any] = _hoist_defs(build(), found)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in found.items():
            schemas.setdefault(name, schema)
        schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["FieldError"] = schemas["ErrorBody"].pop("$defs")["FieldError"]
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                _document_operation(operation)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
