"""REST routes: an agent controls their own live call (the desktop's call buttons).

=======  ==================================  ==============
method   path                                roles
=======  ==================================  ==============
GET      /api/calls/me                       agent, advisor
POST     /api/calls/me/hold                  agent, advisor
POST     /api/calls/me/resume                agent, advisor
POST     /api/calls/me/hangup                agent, advisor
POST     /api/calls/me/transfer              agent, advisor
POST     /api/calls/me/transfer/complete     agent, advisor
POST     /api/calls/me/transfer/cancel       agent, advisor
POST     /api/calls/me/conference            agent, advisor
POST     /api/calls/me/dial                  agent, advisor
=======  ==================================  ==============

Each acts on the calling agent's own call only (callcenter/pbx/call_control.py). 404
``no-live-call``; 409 ``not-on-hold``, ``already-on-hold``, ``no-consult``,
``call-control-not-allowed``, ``call-not-controllable`` (a click-to-dial call: hang-up only),
``agent-not-free-to-dial``, ``pbx-unavailable``; 422 ``unknown-transfer-target``,
``no-outbound-trunk``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from callcenter.api.agent_state import AGENT_ROLES
from callcenter.api.deps import Principal, require_roles
from callcenter.api.schemas.calls import CallControlOut, DialIn, DialOutOut, TransferIn
from callcenter.api.schemas.common import errors
from callcenter.pbx.call_control import CallControl
from callcenter.pbx.call_states import PbxUnavailable

router = APIRouter(prefix="/calls", tags=["calls"])

Agent = Annotated[Principal, Depends(require_roles(*AGENT_ROLES))]


def call_control(request: Request) -> CallControl:
    control: CallControl | None = request.app.state.runtime.calls
    if control is None:
        raise PbxUnavailable("call control needs the PBX link (CALLCENTER_PBX_ENABLED)")
    return control


Control = Annotated[CallControl, Depends(call_control)]


@router.get("/me", responses=errors(404))
async def my_call(principal: Agent, control: Control) -> CallControlOut:
    """The state of the agent's controlled call."""
    return CallControlOut.of(control.status(principal.user_id))


@router.post("/me/hold", responses=errors(404, 409))
async def hold(principal: Agent, control: Control) -> CallControlOut:
    """The caller hears music on hold; the agent's leg waits in silence."""
    return CallControlOut.of(await control.hold(principal.user_id))


@router.post("/me/resume", responses=errors(404, 409))
async def resume(principal: Agent, control: Control) -> CallControlOut:
    return CallControlOut.of(await control.resume(principal.user_id))


@router.post("/me/hangup", status_code=204, responses=errors(404, 409))
async def hang_up(principal: Agent, control: Control) -> Response:
    """The agent's leg hangs up (in a conference, caller and target talk on)."""
    await control.hang_up(principal.user_id)
    return Response(status_code=204)


@router.post("/me/transfer", responses=errors(404, 409, 422))
async def transfer(body: TransferIn, principal: Agent, control: Control) -> CallControlOut:
    """Blind: the agent's leg hangs up and the caller rings ``to``. Consult: the caller holds
    while the agent talks to ``to``; then complete, cancel or conference."""
    status = await control.transfer(principal.user_id, body.to, consult=body.mode == "consult")
    return CallControlOut.of(status)


@router.post("/me/transfer/complete", responses=errors(404, 409))
async def complete_transfer(principal: Agent, control: Control) -> CallControlOut:
    return CallControlOut.of(await control.complete_transfer(principal.user_id))


@router.post("/me/transfer/cancel", responses=errors(404, 409))
async def cancel_transfer(principal: Agent, control: Control) -> CallControlOut:
    return CallControlOut.of(await control.cancel_transfer(principal.user_id))


@router.post("/me/conference", responses=errors(404, 409))
async def conference(principal: Agent, control: Control) -> CallControlOut:
    """Caller, agent and consulted target together."""
    return CallControlOut.of(await control.conference(principal.user_id))


@router.post("/me/dial", status_code=201, responses=errors(404, 409, 422))
async def dial(body: DialIn, principal: Agent, control: Control) -> DialOutOut:
    """Click-to-dial: the agent's phone rings first, then ``number`` is dialled. The agent
    must be not ready or in wrap-up (no ACD call may come meanwhile)."""
    out = await control.dial(principal.user_id, body.number, body.client_id)
    return DialOutOut.of(out)
