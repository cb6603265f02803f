"""The service's health (``GET /health``, for load balancers and operators) and the live
channel view (``GET /api/channels``, supervisors only)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from callcenter import __version__
from callcenter.api.deps import Managers, RuntimeDep
from callcenter.api.schemas.health import (
    BrokerOut,
    ChannelOut,
    HealthOut,
    JournalOut,
    RecordingAlarmOut,
)
from callcenter.asterisk.client import ConnectionState
from callcenter.broker import BrokerLink
from callcenter.crm.phones import mask_phone
from callcenter.crm.privacy import MASK
from callcenter.crm.vocabulary import Role

health_router = APIRouter(tags=["health"])  # at the root: /health
router = APIRouter(tags=["health"])  # under /api


@health_router.get(
    "/health",
    responses={503: {"model": HealthOut, "description": "Calls cannot be handled now."}},
)
async def health(runtime: RuntimeDep) -> JSONResponse:
    """``ok``; ``degraded`` (200) while calls are handled but something is off (prompts
    missing, the recording alarm: calls are not being recorded); ``unavailable`` (503, for
    load balancers and supervisors) while calls cannot be
    handled: the PBX link is down, the database does not answer, or a task of the service is
    not running. ``problems`` says which, one sentence each."""
    cluster = runtime.cluster
    standby = cluster is not None and not cluster.is_owner
    # A standby drives no calls: its PBX link is down by design, not a fault.
    pbx = runtime.settings.pbx_enabled and not standby
    connected = runtime.ami.state is ConnectionState.CONNECTED
    problems: list[str] = []
    if standby and cluster is not None and cluster.owner_url is None:
        problems.append("no call owner is known: the API cannot be forwarded")
    if pbx and runtime.ami_error:
        problems.append(f"the PBX refused the service's login: {runtime.ami_error}")
    elif pbx and not connected:
        problems.append(f"the PBX link is {runtime.ami.state.value}")
    db_error = await runtime.db.ping()
    if db_error:
        problems.append(db_error)
    problems.extend(runtime.tasks.problems())
    prompts_error = runtime.sounds.error if pbx else None
    journal = runtime.journal.status() if runtime.journal is not None else None
    alarm = runtime.recording_alarm.view if runtime.recording_alarm is not None else None
    broker = runtime.broker
    if problems:
        status = "unavailable"
    elif (
        prompts_error is not None
        or (journal is not None and (journal.pending or not journal.durable))
        or (alarm is not None and alarm.active)
        or (broker is not None and not broker.status.up)
    ):
        status = "degraded"  # calls are handled; their writes wait for the database
    else:
        status = "ok"
    body = HealthOut(
        status=status,
        problems=problems,
        version=__version__,
        role=cluster.role.value if cluster is not None else "single",
        instance_id=cluster.instance_id if cluster is not None else None,
        owner_url=cluster.owner_url if cluster is not None else None,
        ami=runtime.ami.state.value if pbx else "disabled",
        ami_generation=runtime.ami.generation,
        ami_error=runtime.ami_error,
        live_channels=len(runtime.tracker.channels),
        calls_missed_pickup=runtime.link.calls_missed,
        ivr_flows_generation=runtime.flows.current.generation,
        ivr_prompts_error=prompts_error,
        cti_events_lost=runtime.cti.events_lost if runtime.cti else 0,
        floor_events_lost=runtime.floor.events_lost if runtime.floor else 0,
        journal=JournalOut(**dataclasses.asdict(journal)) if journal is not None else None,
        recording_alarm=(
            RecordingAlarmOut(**dataclasses.asdict(alarm)) if alarm is not None else None
        ),
        broker=broker_out(broker) if broker is not None else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if problems else 200)


def broker_out(broker: BrokerLink) -> BrokerOut:
    status = broker.status
    return BrokerOut(
        state=status.state.value,
        error=status.last_error if not status.up else None,
        published=status.published,
        received=status.received,
        rejected=status.rejected,
        dropped=broker.dropped,
        reconnects=status.reconnects,
    )


@router.get("/channels")
async def channels(runtime: RuntimeDep, principal: Managers) -> list[ChannelOut]:
    """Live channels as Asterisk reports them. Callers' numbers and names are client data:
    supervisors see them; an admin (who reads no client data) sees them masked."""
    whole = principal.role is Role.SUPERVISOR
    return [
        ChannelOut(
            uniqueid=c.uniqueid,
            name=c.name,
            linkedid=c.linkedid,
            state=c.state,
            caller_number=c.caller_number if whole else mask_phone(c.caller_number),
            caller_name=c.caller_name if whole else MASK * len(c.caller_name),
            context=c.context,
            exten=c.exten,
            bridge_id=c.bridge_id,
        )
        for c in runtime.tracker.channels.values()
    ]
