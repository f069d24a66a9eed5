"""Maps every failure to an HTTP answer with one body shape (`ErrorBody`); nothing leaks a traceback or echoes input."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import (
    CompassError,
    ConfigurationError,
    ConflictError,
    DatabaseUnavailableError,
    ImportFormatError,
    NotFoundError,
    ValidationFailedError,
)

log = logging.getLogger("compass.api")

STATUS_BY_ERROR: tuple[tuple[type[CompassError], int], ...] = (
    (NotFoundError, 404),
    (ValidationFailedError, 422),
    (ConflictError, 409),
    (ImportFormatError, 422),
    (DatabaseUnavailableError, 503),
    (ConfigurationError, 500),
)
MAX_MESSAGE = 300  # characters of one validation message kept in a reply


class Problem(BaseModel):
    """One invalid field of a request."""

    loc: list[str | int] = Field(description="Where: body, query or path, then the field path")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a readable `detail`, the error kind, and for invalid input the fields at fault."""

    detail: str
    error: str
    errors: list[Problem] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key (only when COMPASS_API_KEYS is set)"},
    404: {"model": ErrorBody, "description": "No such thing for this caller"},
    409: {"model": ErrorBody, "description": "Clashes with the current state (a turn already running...)"},
    413: {"model": ErrorBody, "description": "Request body too large"},
    422: {"model": ErrorBody, "description": "Invalid input: `errors` lists the fields at fault"},
    503: {"model": ErrorBody, "description": "The database is unavailable"},
}


class SafeJSONResponse(JSONResponse):
    """ASCII-escaped JSON: a lone surrogate or other odd text in a message can never break rendering."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def status_for(error: CompassError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def _problems(errors: list[Any]) -> list[Problem]:
    """Validation errors without the offending input (it may be huge, NaN or not valid Unicode)."""
    return [
        Problem(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "invalid"))[:MAX_MESSAGE],
            type=str(e.get("type", "value_error")),
        )
        for e in errors
    ]


def error_response(status: int, detail: str, error: str, **extra: Any) -> SafeJSONResponse:
    body = ErrorBody(detail=detail, error=error, **extra)
    return SafeJSONResponse(status_code=status, content=body.model_dump(exclude_none=True), headers=None)


def _invalid(problems: list[Problem]) -> SafeJSONResponse:
    detail = "; ".join(f"{'.'.join(str(p) for p in pr.loc) or 'value'}: {pr.msg}" for pr in problems)
    return error_response(422, detail, "ValidationError", errors=problems)


def install_error_handlers(app: FastAPI) -> None:
    async def compass_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CompassError)
        return error_response(status_for(exc), exc.message, type(exc).__name__)

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details", "InternalError")

    async def invalid_value(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        return _invalid(_problems(list(exc.errors())))

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _invalid(_problems(list(exc.errors())))

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = error_response(exc.status_code, str(exc.detail), _HTTP_NAMES.get(exc.status_code, "HTTPError"))
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(CompassError, compass_error)
    app.add_exception_handler(ValidationError, invalid_value)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)


_HTTP_NAMES = {401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}
