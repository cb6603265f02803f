"""The service's health (``GET /health``, for load balancers and operators) and the live
channel view (``GET /api/channels``, supervisors only)."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter import __version__
from callcenter.api.deps import Managers, RuntimeDep
from callcenter.api.schemas.health import ChannelOut, HealthOut
from callcenter.asterisk.client import ConnectionState

health_router = APIRouter(tags=["health"])  # at the root: /health
router = APIRouter(tags=["health"])  # under /api


@health_router.get("/health")
async def health(runtime: RuntimeDep) -> HealthOut:
    """``ok``, or ``degraded`` while the PBX link is down or prompts are missing."""
    connected = runtime.ami.state is ConnectionState.CONNECTED
    pbx = runtime.settings.pbx_enabled
    prompts_error = runtime.sounds.error if pbx else None
    return HealthOut(
        status="ok" if (connected or not pbx) and prompts_error is None else "degraded",
        version=__version__,
        ami=runtime.ami.state.value if pbx else "disabled",
        ami_generation=runtime.ami.generation,
        ami_error=runtime.ami_error,
        live_channels=len(runtime.tracker.channels),
        ivr_flows_generation=runtime.flows.current.generation,
        ivr_prompts_error=prompts_error,
        cti_events_lost=runtime.cti.events_lost if runtime.cti else 0,
        floor_events_lost=runtime.floor.events_lost if runtime.floor else 0,
    )


@router.get("/channels")
async def channels(runtime: RuntimeDep, _principal: Managers) -> list[ChannelOut]:
    """Live channels as Asterisk reports them (callers' numbers: supervisors only)."""
    return [
        ChannelOut(
            uniqueid=c.uniqueid,
            name=c.name,
            linkedid=c.linkedid,
            state=c.state,
            caller_number=c.caller_number,
            caller_name=c.caller_name,
            context=c.context,
            exten=c.exten,
            bridge_id=c.bridge_id,
        )
        for c in runtime.tracker.channels.values()
    ]
