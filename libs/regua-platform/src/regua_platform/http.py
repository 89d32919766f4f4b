"""One HTTP error shape for every service: ``{"errors": [{"field": ..., "reason": ...}]}``."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from regua_platform.errors import field_errors, reason


class ApiError(Exception):
    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.errors = [{"field": field, "reason": reason}]

    @classmethod
    def invalid(cls, exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> "ApiError":
        error = cls(422, "", "")
        error.errors = field_errors(exc, prefix)
        return error


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"errors": exc.errors}, status_code=exc.status)

    async def request_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)", "reason": reason(e)}
            for e in exc.errors()
        ]
        return JSONResponse({"errors": errors}, status_code=422)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
