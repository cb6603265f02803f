"""Every route module's router, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.api.routes import (
    admin_users,
    agents,
    audit,
    auth,
    calls,
    clients,
    complaints,
    data_rights,
    dnc,
    follow_ups,
    health,
    interactions,
    ivr,
    outbound,
    phone_credentials,
    public,
    queues,
    recording_pauses,
    recordings,
    reports,
    return_visits,
    service_codes,
    staffing,
    supervision,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    clients.router,
    data_rights.router,
    interactions.router,
    complaints.router,
    follow_ups.router,
    return_visits.router,
    outbound.router,
    public.router,
    recordings.router,
    reports.router,
    ivr.router,
    agents.router,
    phone_credentials.router,
    queues.router,
    service_codes.router,
    dnc.router,
    admin_users.router,
    calls.router,
    recording_pauses.router,
    staffing.router,
    supervision.router,
    audit.router,
    health.router,
]
