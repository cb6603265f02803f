"""Domain errors -> HTTP responses. The body always names the error by its stable id."""

from __future__ import annotations

from fastapi import FastAPI, Request
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=status_for(exc),
            content={"error": exc.error_id, "message": exc.message, "detail": exc.detail},
            headers=headers_for(exc),
        )
