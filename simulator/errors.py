"""OpenAI-style error responses: `{"error": {"message", "type", "param", "code"}}` for every failure, never a bare 500.

Validation failures (malformed JSON, missing fields, wrong types) answer 400 as vLLM does rather
than FastAPI's 422; an unknown model answers 404 `model_not_found` (vLLM's and OpenAI's
behaviour); unknown routes 404; an overloaded or stopping server 503; anything unexpected 500
with an OpenAI-shaped body.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator.protocol import ErrorInfo, ErrorResponse

logger = logging.getLogger(__name__)


class APIError(Exception):
    """An error the API reports to the client as an OpenAI error object."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code


def error_response(
    status: int, message: str, *, type: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorInfo(message=message, type=type, param=param, code=code))
    return JSONResponse(status_code=status, content=body.model_dump())


_TYPE_TAG = re.compile(r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\]|[A-Z]\w*|function-\w+\[.*\])$")


def _split_loc(loc: Sequence[Any]) -> tuple[str | None, list[str]]:
    """(parameter path, union member tags) of a validation error location, without the leading "body"."""
    name: str | None = None
    tags: list[str] = []
    for part in loc:
        if part == "body" and name is None:
            continue
        if isinstance(part, int):
            name = f"{name}[{part}]" if name is not None else f"[{part}]"
        elif _TYPE_TAG.match(str(part)) and name is not None:
            tags.append(str(part))
        else:
            name = str(part) if name is None else f"{name}.{part}"
    return name, tags


def _shown(value: Any) -> str:
    try:
        return json.dumps(value)[:100]
    except (TypeError, ValueError):
        return repr(value)[:100]


def describe_validation_errors(errors: Sequence[Any]) -> tuple[str, str | None, str]:
    """(message, param, code) for FastAPI's validation errors, reporting the first parameter at fault."""
    if not errors:
        return "Invalid request.", None, "invalid_request"
    first = errors[0]
    param, _ = _split_loc(first.get("loc", ()))
    if param is not None:
        # a union branch that got further (e.g. a list whose item is wrong) explains more than "not a string"
        deeper = [e for e in errors if (_split_loc(e.get("loc", ()))[0] or "").startswith((f"{param}.", f"{param}["))]
        if deeper:
            first = deeper[0]
            param, _ = _split_loc(first.get("loc", ()))
    kind = str(first.get("type", ""))
    msg = str(first.get("msg", "invalid value"))
    if kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", msg)
        return f"The request body is not valid JSON: {detail}.", None, "invalid_json"
    if kind == "missing":
        if param is None:
            return "The request body is missing; send a JSON object.", None, "missing_body"
        return f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    if param is None:
        return f"The request body must be a JSON object ({msg}).", None, "invalid_type"
    same = [e for e in errors if _split_loc(e.get("loc", ()))[0] == param]
    tags = [t for e in same for t in _split_loc(e.get("loc", ()))[1]]
    others = {p for e in errors if (p := _split_loc(e.get("loc", ()))[0]) and not param.startswith(p)}
    more = f" (and {len(others)} more invalid parameter{'s' if len(others) > 1 else ''})" if others else ""
    if len(same) > 1 and tags:
        accepted = ", ".join(dict.fromkeys(t.split("[", 1)[0] if t.startswith("function") else t for t in tags))
        return (
            f"Invalid value for '{param}': got {_shown(first.get('input'))}, which is none of the accepted types "
            f"({accepted}).{more}",
            param,
            "invalid_type",
        )
    return f"Invalid value for '{param}': {msg}; got {_shown(first.get('input'))}.{more}", param, "invalid_type"


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, APIError)
        return error_response(exc.status, exc.message, type=exc.type, param=exc.param, code=exc.code)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, param, code = describe_validation_errors(exc.errors())
        return error_response(400, message, type="invalid_request_error", param=param, code=code)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        response = error_response(exc.status_code, str(exc.detail), type=kind, code=code)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return error_response(
            500, f"Internal simulator error: {type(exc).__name__}", type="server_error", code="internal_error"
        )

    app.add_exception_handler(APIError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
