"""What call control may do to an agent's live call, pure: its errors (stable ids), the state
machine of a controlled call (a table), the Dial target of a number, and its ports.

The AMI side, which carries the actions out, is callcenter/pbx/call_control.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callcenter.acd.model import AgentState
from callcenter.errors import Conflict, InvalidInput, NotFound
from callcenter.events import ControlStateName
from callcenter.pbx.channels import Channel
from callcenter.pbx.registrations import LineChooser, endpoint_to_ring

# --- errors: stable ids, the edge picks the status -----------------------------------------------


class NoLiveCall(NotFound):
    error_id = "no-live-call"


class NotOnHold(Conflict):
    error_id = "not-on-hold"


class AlreadyOnHold(Conflict):
    error_id = "already-on-hold"


class NoConsult(Conflict):
    error_id = "no-consult"


class CallControlNotAllowed(Conflict):
    """The action does not apply to the call's state (say, hold during a consult)."""

    error_id = "call-control-not-allowed"


class CallNotControllable(Conflict):
    """A live call the service does not drive (a click-to-dial call): only hang-up works."""

    error_id = "call-not-controllable"


class AgentNotFreeToDial(Conflict):
    error_id = "agent-not-free-to-dial"


class AgentNoExtension(Conflict):
    error_id = "agent-no-extension"


class PbxUnavailable(Conflict):
    error_id = "pbx-unavailable"


class UnknownTransferTarget(InvalidInput):
    error_id = "unknown-transfer-target"


class NoOutboundTrunk(InvalidInput):
    error_id = "no-outbound-trunk"


# --- the state of a controlled call (pure) -------------------------------------------------------


class ControlState(StrEnum):
    TALKING = "talking"
    HELD = "held"
    CONSULTING = "consulting"  # the caller holds, the agent talks to the target
    CONFERENCE = "conference"
    TRANSFERRED = "transferred"
    ENDED = "ended"


class ControlAction(StrEnum):
    HOLD = "hold"
    RESUME = "resume"
    BLIND_TRANSFER = "blind_transfer"
    CONSULT = "consult"
    COMPLETE = "complete"
    CANCEL = "cancel"
    CONFERENCE = "conference"
    HANG_UP = "hang_up"


C, A = ControlState, ControlAction

# Each state as ``call.control`` names it (callcenter/events/topics.py).
ANNOUNCED: Mapping[ControlState, ControlStateName] = {
    C.TALKING: "talking",
    C.HELD: "held",
    C.CONSULTING: "consulting",
    C.CONFERENCE: "conference",
    C.TRANSFERRED: "transferred",
    C.ENDED: "ended",
}
TRANSITIONS: dict[tuple[ControlState, ControlAction], ControlState] = {
    (C.TALKING, A.HOLD): C.HELD,
    (C.HELD, A.RESUME): C.TALKING,
    (C.TALKING, A.BLIND_TRANSFER): C.TRANSFERRED,
    (C.HELD, A.BLIND_TRANSFER): C.TRANSFERRED,
    (C.TALKING, A.CONSULT): C.CONSULTING,
    (C.HELD, A.CONSULT): C.CONSULTING,
    (C.CONSULTING, A.COMPLETE): C.TRANSFERRED,
    (C.CONSULTING, A.CANCEL): C.TALKING,
    (C.CONSULTING, A.CONFERENCE): C.CONFERENCE,
    (C.TALKING, A.HANG_UP): C.ENDED,
    (C.HELD, A.HANG_UP): C.ENDED,
    (C.CONSULTING, A.HANG_UP): C.ENDED,
    # The agent leaves the conference: caller and target talk on (the driver sees it).
    (C.CONFERENCE, A.HANG_UP): C.CONFERENCE,
}


def transition(state: ControlState, action: ControlAction) -> ControlState:
    """The state after ``action``; a named error when the action does not apply."""
    after = TRANSITIONS.get((state, action))
    if after is not None:
        return after
    if action is A.RESUME:
        raise NotOnHold("the call is not on hold", state=state.value)
    if action is A.HOLD and state is C.HELD:
        raise AlreadyOnHold("the call is already on hold", state=state.value)
    if action in (A.COMPLETE, A.CANCEL, A.CONFERENCE):
        raise NoConsult("there is no consult call to complete, cancel or join", state=state.value)
    raise CallControlNotAllowed(f"cannot {action} while {state}", state=state.value)


def dial_target(
    number: str, extensions: Collection[str], trunk: str, lines: LineChooser | None = None
) -> str:
    """The Dial string for a number: an extension's phone (the line ``lines`` says to ring:
    the browser's when registered), else the carrier trunk."""
    if number in extensions:
        return f"PJSIP/{endpoint_to_ring(lines, number)}"
    if not trunk:
        raise NoOutboundTrunk(
            "no outbound trunk is configured (CALLCENTER_OUTBOUND_TRUNK): only extensions",
            field="number",
        )
    return f"PJSIP/carrier/sip:{number}@{trunk}"


def is_leg_of(channel: Channel, extension: str) -> bool:
    """Whether a channel is a call leg of the phone at ``extension`` (``PJSIP/1001-0000002a``)."""
    return channel.name.startswith(f"PJSIP/{extension}-")


# --- ports ---------------------------------------------------------------------------------------


class CallControlBackend(Protocol):
    async def agent_line(self, agent_id: int) -> tuple[str | None, AgentState]:
        """The agent's extension (None: no phone) and state."""

    async def part_ended(
        self, interaction_id: int, hold_seconds: int, transfer: str | None, actor_id: int
    ) -> None:
        """The agent's part of the call is over: its summed hold time, and where it was
        transferred (a path entry such as ``transfer:blind=1002``), audited."""

    async def outbound_started(
        self, agent_id: int, number: str, client_id: int | None, call_id: str, at: dt.datetime
    ) -> int:
        """Create (and audit) the interaction of a click-to-dial call; its id."""

    async def outbound_phase(self, interaction_id: int, phase: str, at: dt.datetime) -> None:
        """``answered`` or ``ended`` of a click-to-dial call."""


@dataclass(frozen=True)
class CallStatus:
    state: ControlState
    call_id: str
    interaction_id: int | None
    hold_seconds: int
    target: str | None


@dataclass(frozen=True)
class DialOut:
    call_id: str
    interaction_id: int
