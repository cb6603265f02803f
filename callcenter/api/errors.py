"""Domain errors -> HTTP responses. The body always names the error by its stable id:
``{"error": <id>, "message": <for people>, "detail": {...}}``.

A request that does not fit its schema (FastAPI's validation) answers 422 in the same shape,
``invalid-request``, its detail the list of what was wrong: each entry's ``loc`` (where:
``["query", "limit"]``) and ``msg`` (why). The values sent are never echoed: not a password,
not a megabyte of text, not a NaN or a lone surrogate that JSON and UTF-8 cannot carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from callcenter.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)

STATUS = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Forbidden: 403,
    NotAuthenticated: 401,
    RateLimited: 429,
}


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def headers_for(error: DomainError) -> dict[str, str] | None:
    if isinstance(error, NotAuthenticated):
        return {"WWW-Authenticate": 'Bearer realm="callcenter"'}  # RFC 9110: 401 names a scheme
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.detail.get("retry_after_seconds", 1))}
    return None


INVALID_REQUEST = "invalid-request"
MAX_TEXT = 300  # characters kept of a location part or a message (either may quote the client)
MESSAGE_ERRORS = 3  # the errors the message spells out; the detail lists them all


def _text(value: object) -> str:
    """Client text made safe to answer with: short, and encodable as UTF-8."""
    return str(value)[:MAX_TEXT].encode("utf-8", "replace").decode("utf-8")


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's errors without their inputs (and contexts, which may hold them)."""
    return [
        {
            "type": _text(error.get("type", "")),
            "loc": [p if type(p) is int else _text(p) for p in error.get("loc", ())],
            "msg": _text(error.get("msg", "")),
        }
        for error in errors
    ]


def validation_message(detail: list[dict[str, Any]]) -> str:
    said = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in detail[:MESSAGE_ERRORS]
    )
    more = len(detail) - MESSAGE_ERRORS
    return f"{said} (and {more} more)" if more > 0 else said


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=status_for(exc),
            content={"error": exc.error_id, "message": exc.message, "detail": exc.detail},
            headers=headers_for(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = validation_detail(exc.errors())
        return JSONResponse(
            status_code=422,
            content={
                "error": INVALID_REQUEST,
                "message": validation_message(detail),
                "detail": detail,
            },
        )
