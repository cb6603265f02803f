"""REST routes: pausing and resuming a live call's recording (issue 17, point 3).

=======  ==========================================  ===========================
method   path                                        roles
=======  ==========================================  ===========================
GET      /api/calls/{call_id}/recording              agent, advisor, supervisor
POST     /api/calls/{call_id}/recording/pause        agent, advisor
POST     /api/calls/{call_id}/recording/resume       agent, advisor, supervisor
=======  ==========================================  ===========================

``call_id``: the call's id as the desk has it (``call_id`` of ``/api/calls/me``). The agent
on the call only (404 ``not-your-call`` otherwise); a supervisor may resume any call's
recording, never pause it. 404 ``call-not-recorded``; 409 ``recording-already-paused``,
``recording-not-paused``, ``recording-mute-failed`` (the PBX did not do it),
``pbx-unavailable``. Each pause and resume is audited (callcenter/persistence/
recording_pauses.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from callcenter.api.agent_state import AGENT_ROLES
from callcenter.api.deps import Principal, require_roles
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.recording_pauses import RecordingPauseOut
from callcenter.crm.recording_pauses import RecordingPauses, ResumedBy
from callcenter.crm.vocabulary import Role
from callcenter.pbx.call_states import PbxUnavailable

router = APIRouter(prefix="/calls", tags=["calls"])

Agent = Annotated[Principal, Depends(require_roles(*AGENT_ROLES))]
AgentOrSupervisor = Annotated[Principal, Depends(require_roles(*AGENT_ROLES, Role.SUPERVISOR))]
CallId = Annotated[str, Path(pattern=r"^[\w.-]{1,64}$")]


def recording_pauses(request: Request) -> RecordingPauses:
    pauses: RecordingPauses | None = request.app.state.runtime.recording_pauses
    if pauses is None:
        raise PbxUnavailable("pausing a recording needs the PBX link and recording on")
    return pauses


Pauses = Annotated[RecordingPauses, Depends(recording_pauses)]


@router.get("/{call_id}/recording", responses=errors(404, 409))
async def recording_state(
    call_id: CallId, principal: AgentOrSupervisor, pauses: Pauses
) -> RecordingPauseOut:
    """The call's recording: paused or not, for how long."""
    agent_id = None if principal.role is Role.SUPERVISOR else principal.user_id
    return RecordingPauseOut.of(await pauses.status(call_id, agent_id))


@router.post("/{call_id}/recording/pause", responses=errors(404, 409))
async def pause_recording(call_id: CallId, principal: Agent, pauses: Pauses) -> RecordingPauseOut:
    """Both parties are muted in the recording (a silent span) until resumed, or until the
    limit (``limit_seconds``) resumes it by itself."""
    return RecordingPauseOut.of(await pauses.pause(call_id, principal.user_id))


@router.post("/{call_id}/recording/resume", responses=errors(404, 409))
async def resume_recording(
    call_id: CallId, principal: AgentOrSupervisor, pauses: Pauses
) -> RecordingPauseOut:
    by = ResumedBy.SUPERVISOR if principal.role is Role.SUPERVISOR else ResumedBy.AGENT
    return RecordingPauseOut.of(await pauses.resume(call_id, principal.user_id, by))
