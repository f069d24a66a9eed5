"""Maps Compass errors to HTTP answers with a readable `detail`; nothing leaks a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from kb.errors import (
    CompassError,
    ConfigurationError,
    DatabaseUnavailableError,
    ImportFormatError,
    NotFoundError,
    ValidationFailedError,
)

log = logging.getLogger("compass.api")

STATUS_BY_ERROR: tuple[tuple[type[CompassError], int], ...] = (
    (NotFoundError, 404),
    (ValidationFailedError, 422),
    (ImportFormatError, 422),
    (DatabaseUnavailableError, 503),
    (ConfigurationError, 500),
)


def status_for(error: CompassError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def install_error_handlers(app: FastAPI) -> None:
    async def compass_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CompassError)
        return JSONResponse(status_code=status_for(exc), content={"detail": exc.message, "error": type(exc).__name__})

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            status_code=500,
            content={"detail": "internal error; the server log has the details", "error": "InternalError"},
        )

    async def invalid_value(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        return JSONResponse(status_code=422, content={"detail": problems, "error": "ValidationError"})

    app.add_exception_handler(CompassError, compass_error)
    app.add_exception_handler(ValidationError, invalid_value)
    app.add_exception_handler(Exception, unexpected_error)
