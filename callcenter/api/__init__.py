"""The REST API: one route module per resource (callcenter/api/routes/), thin routes that
validate, call one service function and return a schema."""

from __future__ import annotations

from fastapi import APIRouter


def api_router() -> APIRouter:
    # Imported here so that importing callcenter.api stays cheap and cycle-free.
    from callcenter.api.routes import ROUTERS

    router = APIRouter(prefix="/api")
    for sub in ROUTERS:
        router.include_router(sub)
    return router
