"""Every route module's router, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.routes import (
    agents,
    auth,
    calls,
    clients,
    complaints,
    follow_ups,
    health,
    interactions,
    ivr,
    queues,
    reports,
    service_codes,
    staffing,
    supervision,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    clients.router,
    interactions.router,
    complaints.router,
    follow_ups.router,
    reports.router,
    ivr.router,
    agents.router,
    queues.router,
    service_codes.router,
    calls.router,
    staffing.router,
    supervision.router,
    health.router,
]
