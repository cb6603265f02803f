"""REST routes: supervisors monitor agents' calls and act on agents and waiting calls.

=======  ==========================================  =================
method   path                                        roles
=======  ==========================================  =================
POST     /api/supervision/monitor                    supervisor, admin
GET      /api/supervision/monitor                    supervisor, admin
DELETE   /api/supervision/monitor                    supervisor, admin
PUT      /api/supervision/agents/{agent_id}/state    supervisor, admin
POST     /api/supervision/calls/{call_id}/move       supervisor, admin
GET      /api/supervision/floor                      supervisor, admin
GET      /api/supervision/recording-alarm            supervisor, admin
=======  ==========================================  =================

The floor is the wallboard's picture now (the data of ``floor.snapshot``): a page reads it
once when it opens, then follows the snapshots on the websocket.

Monitoring rings the supervisor's own phone, which then listens, whispers or barges through
ChanSpy (callcenter/pbx/supervision.py). 404 ``agent-not-found``, ``not-monitoring``,
``call-not-waiting``; 409 ``agent-not-on-call``, ``no-supervisor-phone``,
``supervisor-phone-not-registered`` (at once, naming the extension: nothing rings),
``cannot-monitor-self``, ``agent-not-ready``, ``pbx-unavailable``, ``floor-unavailable``
and the agent state machine's own (``agent-illegal-transition``...); 422 ``unknown-queue``,
a bad reason.
Every action is audited.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from callcenter.acd.service import AcdService
from callcenter.api.agent_state import AgentStatesDep
from callcenter.api.deps import ClockDep, DbDep, Managers, RuntimeDep
from callcenter.api.schemas.agents import AgentOut
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.health import RecordingAlarmOut
from callcenter.api.schemas.supervision import (
    AgentStateForceIn,
    FloorOut,
    MonitorIn,
    MonitorOut,
    MovedOut,
    MoveIn,
)
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.errors import Conflict
from callcenter.pbx.call_states import PbxUnavailable
from callcenter.pbx.supervision import NotMonitoring, Supervision
from callcenter.persistence.supervision import record_call_moved

router = APIRouter(prefix="/supervision", tags=["supervision"])

AgentId = Id
CallId = Annotated[str, Path(min_length=1, max_length=64)]


def supervision(request: Request) -> Supervision:
    service: Supervision | None = request.app.state.runtime.supervision
    if service is None:
        raise PbxUnavailable("monitoring needs the PBX link (CALLCENTER_PBX_ENABLED)")
    return service


def acd(request: Request) -> AcdService:
    service: AcdService | None = request.app.state.runtime.acd
    if service is None:
        raise PbxUnavailable("the ACD is not running")
    return service


SupervisionDep = Annotated[Supervision, Depends(supervision)]
AcdDep = Annotated[AcdService, Depends(acd)]


@router.post("/monitor", status_code=201, responses=errors(404, 409))
async def monitor(body: MonitorIn, principal: Managers, service: SupervisionDep) -> MonitorOut:
    """Ring the supervisor's phone; once answered it listens (whispers, barges) to the
    agent's live call. A monitoring already running is hung up first."""
    return MonitorOut.of(await service.monitor(principal.user_id, body.agent_id, body.mode))


@router.get("/monitor", responses=errors(404))
async def current_monitor(principal: Managers, service: SupervisionDep) -> MonitorOut:
    monitoring = service.current(principal.user_id)
    if monitoring is None:
        raise NotMonitoring("the supervisor is not monitoring a call")
    return MonitorOut.of(monitoring)


@router.delete("/monitor", status_code=204, responses=errors(404))
async def stop_monitor(principal: Managers, service: SupervisionDep) -> Response:
    """Hang up the supervisor's monitoring call (hanging up the phone does the same)."""
    await service.stop(principal.user_id)
    return Response(status_code=204)


@router.put("/agents/{agent_id}/state", responses=errors(404, 409, 422))
async def force_state(
    agent_id: AgentId, body: AgentStateForceIn, principal: Managers, states: AgentStatesDep
) -> AgentOut:
    """Set an agent ready, not ready (with a reason) or logged out, as if they had; the ACD
    and the screens hear of it as of the agent's own change (``agent.state``)."""
    return AgentOut.of(await states.force(principal.user_id, agent_id, body.state, body.reason))


@router.post("/calls/{call_id}/move", responses=errors(404, 409, 422))
async def move_call(
    call_id: CallId, body: MoveIn, db: DbDep, principal: Managers, service: AcdDep
) -> MovedOut:
    """Move a waiting call to another queue (keeping its wait) or offer it to a named
    ready agent."""
    if body.agent_id is not None:
        waiting = service.offer_to(call_id, body.agent_id)
    else:
        assert body.queue is not None  # the schema wants one of the two
        waiting = await service.move_call(call_id, body.queue)
    await record_call_moved(db, principal.user_id, call_id, waiting.queue, body.agent_id)
    return MovedOut.of(waiting, body.agent_id)


class FloorUnavailable(Conflict):
    """The service runs without its wallboard (an app built without the lifespan's)."""

    error_id = "floor-unavailable"


def floor(request: Request) -> FloorPublisher:
    publisher: FloorPublisher | None = request.app.state.runtime.floor
    if publisher is None:
        raise FloorUnavailable("the wallboard is not running")
    return publisher


@router.get("/floor", responses=errors(409))
async def floor_now(
    _principal: Managers, publisher: Annotated[FloorPublisher, Depends(floor)], clock: ClockDep
) -> FloorOut:
    """Queues, agents and live calls now, with today's figures: the wallboard's first
    picture, then ``floor.snapshot`` on the websocket at most once a second."""
    now = clock()
    return FloorOut.model_validate({"at": now, **publisher.state.view(now)})


@router.get("/recording-alarm")
async def recording_alarm(_principal: Managers, runtime: RuntimeDep) -> RecordingAlarmOut:
    """The recording storage's alarm now (docs/recording.md, "Faults and alarms"): the
    wallboard's first picture of it, then ``recording.alarm`` on the websocket. Not active
    when the service does not record."""
    alarm = runtime.recording_alarm
    if alarm is None:
        return RecordingAlarmOut(
            active=False,
            reason=None,
            since=None,
            calls_affected=0,
            free_bytes=None,
            detail=None,
            cleared_at=None,
        )
    return RecordingAlarmOut(**dataclasses.asdict(alarm.view))
