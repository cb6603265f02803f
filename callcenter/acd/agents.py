"""The agent state machine: which event moves an agent from which state to which.

Pure: no database, no clock. Persistence stores every change this module allows
(callcenter/persistence/agents.py); the ACD and the API only name events.

The table (``TRANSITIONS``); a pair that is not in it is refused::

    state \\ event  login  logout  ready  not_ready  offer     answer   ring_no_answer
    logged_out     ready    -       -       -         -         -         -
    ready           -    logged_out -    not_ready  reserved    -         -
    not_ready       -    logged_out ready not_ready   -         -         -
    reserved        -       -       -       -         -       on_call   not_ready (missed)
    on_call         -       -       -       -         -         -         -
    wrap_up         -    logged_out -    not_ready    -         -         -

    state \\ event  caller_gone  hang_up  wrap_up_done  force_not_ready  force_logout
    ready            -            -         -          not_ready        logged_out
    not_ready        -            -         -          not_ready        logged_out
    reserved        ready         -         -            -                -
    on_call          -          wrap_up     -            -                -
    wrap_up          -            -       ready        not_ready        logged_out

Decisions:

* ``login`` leads to ``ready``: logging in is how an agent says they are at the desk; one who
  is not yet ready logs in and then picks a not-ready reason.
* An agent with a call offered (``reserved``) or on a call (``on_call``) cannot log out, go
  ready or not ready: the call decides (``answer``, ``ring_no_answer``, ``caller_gone``,
  ``hang_up``). Supervisors cannot force them either: forcing an agent off a live call would
  leave the call without an owner in the reports; issue 7 hangs up first.
* ``not_ready`` from ``not_ready`` changes the reason (break, then meeting): it is a stored
  change of its own, so reports can tell the time spent in each reason.
* ``not_ready`` from ``wrap_up`` ends the wrap-up straight into a break.
* An agent in ``wrap_up`` who says "ready" ends the wrap-up early: that is ``wrap_up_done``
  (:func:`ready_event`), the same event the per-queue timer sends, so the ACD closes the
  interaction's wrap-up phase either way.
* ``ring_no_answer`` puts the agent in not ready with reason ``missed``, which only this event
  sets: an agent or supervisor cannot pick it, so "missed" in a report always means a call
  rang out.

Not-ready reason codes are configuration (:func:`reason_codes`); :data:`DEFAULT_NOT_READY_REASONS`
is the default set. A not-ready event without a reason, or with one not in the set, is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from callcenter.acd.model import AgentProfile, AgentState
from callcenter.crm.vocabulary import Role
from callcenter.errors import Conflict, InvalidInput, NotFound


class AgentEvent(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    READY = "ready"
    NOT_READY = "not_ready"  # with a reason code
    OFFER = "offer"  # the ACD reserves the agent for a call: the phone rings
    ANSWER = "answer"
    RING_NO_ANSWER = "ring_no_answer"  # the ring timer ran out: not ready, reason "missed"
    CALLER_GONE = "caller_gone"  # the caller hung up while the agent's phone rang
    HANG_UP = "hang_up"  # either side ended an answered call: wrap-up starts
    WRAP_UP_DONE = "wrap_up_done"  # by the agent, early, or by the queue's wrap-up timer
    FORCE_NOT_READY = "force_not_ready"  # a supervisor, with a reason code
    FORCE_LOGOUT = "force_logout"  # a supervisor


S = AgentState
E = AgentEvent

TRANSITIONS: Mapping[tuple[AgentState, AgentEvent], AgentState] = {
    (S.LOGGED_OUT, E.LOGIN): S.READY,
    (S.READY, E.LOGOUT): S.LOGGED_OUT,
    (S.READY, E.NOT_READY): S.NOT_READY,
    (S.READY, E.OFFER): S.RESERVED,
    (S.READY, E.FORCE_NOT_READY): S.NOT_READY,
    (S.READY, E.FORCE_LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, E.LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, E.READY): S.READY,
    (S.NOT_READY, E.NOT_READY): S.NOT_READY,
    (S.NOT_READY, E.FORCE_NOT_READY): S.NOT_READY,
    (S.NOT_READY, E.FORCE_LOGOUT): S.LOGGED_OUT,
    (S.RESERVED, E.ANSWER): S.ON_CALL,
    (S.RESERVED, E.RING_NO_ANSWER): S.NOT_READY,
    (S.RESERVED, E.CALLER_GONE): S.READY,
    (S.ON_CALL, E.HANG_UP): S.WRAP_UP,
    (S.WRAP_UP, E.WRAP_UP_DONE): S.READY,
    (S.WRAP_UP, E.NOT_READY): S.NOT_READY,
    (S.WRAP_UP, E.LOGOUT): S.LOGGED_OUT,
    (S.WRAP_UP, E.FORCE_NOT_READY): S.NOT_READY,
    (S.WRAP_UP, E.FORCE_LOGOUT): S.LOGGED_OUT,
}

MISSED = "missed"  # set by ring_no_answer only
DEFAULT_NOT_READY_REASONS = frozenset(
    {"break", "lunch", "meeting", "training", "after_call_work", MISSED}
)
REASON_EVENTS = frozenset({E.NOT_READY, E.FORCE_NOT_READY})  # the caller names the reason
FIXED_REASONS: Mapping[AgentEvent, str] = {E.RING_NO_ANSWER: MISSED}
# The states in which an agent holds a call: the change and the status carry its interaction.
CALL_STATES = frozenset({S.RESERVED, S.ON_CALL, S.WRAP_UP})
AGENT_ROLES = frozenset({Role.AGENT, Role.ADVISOR})  # the people the ACD routes calls to
REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,23}")  # fits agent_state_changes.reason


# --- errors -----------------------------------------------------------------------------------


class IllegalAgentTransition(Conflict):
    error_id = "agent-illegal-transition"


class AgentAlreadyLoggedIn(IllegalAgentTransition):
    error_id = "agent-already-logged-in"


class AgentNotLoggedIn(IllegalAgentTransition):
    error_id = "agent-not-logged-in"


class ReasonRequired(InvalidInput):
    error_id = "agent-reason-required"


class ReasonNotExpected(InvalidInput):
    error_id = "agent-reason-not-expected"


class UnknownReason(InvalidInput):
    error_id = "agent-unknown-reason"


class ReasonReserved(InvalidInput):
    error_id = "agent-reason-reserved"


class AgentNotFound(NotFound):
    error_id = "agent-not-found"


class AgentHasNoPhone(Conflict):
    error_id = "agent-no-extension"


# --- configuration ----------------------------------------------------------------------------


def reason_codes(codes: Iterable[str]) -> frozenset[str]:
    """Validate a configured set of not-ready reasons; ``missed`` is always among them (the
    ring-no-answer rule sets it whatever the configuration says)."""
    found = frozenset(codes)
    bad = sorted(code for code in found if not REASON_CODE.fullmatch(code))
    if bad:
        raise ValueError(f"not-ready reason codes must be short lowercase slugs: {bad}")
    return found | {MISSED}


# --- the machine ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentChange:
    """What one legal event does: the state before and after, and the not-ready reason."""

    event: AgentEvent
    from_state: AgentState
    to_state: AgentState
    reason: str | None


def allowed_events(state: AgentState) -> list[AgentEvent]:
    return [event for (source, event) in TRANSITIONS if source is state]


def transition(
    state: AgentState,
    event: AgentEvent,
    reason: str | None = None,
    reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS,
) -> AgentChange:
    """The change ``event`` makes in ``state``, or a named error: the move first (409), then
    the reason (422)."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise _refusal(state, event)
    return AgentChange(event, state, target, _reason(event, reason, reasons))


def _refusal(state: AgentState, event: AgentEvent) -> IllegalAgentTransition:
    detail = {
        "state": state.value,
        "event": event.value,
        "allowed": [e.value for e in allowed_events(state)],
    }
    if event is E.LOGIN:
        return AgentAlreadyLoggedIn(f"the agent is logged in already ({state.value})", **detail)
    if state is S.LOGGED_OUT:
        return AgentNotLoggedIn(f"the agent is logged out: {event.value} needs a login", **detail)
    return IllegalAgentTransition(f"an agent in {state.value} cannot {event.value}", **detail)


def _reason(event: AgentEvent, reason: str | None, reasons: frozenset[str]) -> str | None:
    if event in FIXED_REASONS:
        if reason not in (None, FIXED_REASONS[event]):
            raise ReasonNotExpected(f"{event.value} always records {FIXED_REASONS[event]!r}")
        return FIXED_REASONS[event]
    if event not in REASON_EVENTS:
        if reason is not None:
            raise ReasonNotExpected(f"{event.value} takes no reason", field="reason")
        return None
    if not reason:
        raise ReasonRequired("not ready needs a reason code", field="reason")
    if reason in FIXED_REASONS.values():
        raise ReasonReserved(f"{reason!r} is recorded by the ACD only", field="reason")
    if reason not in reasons:
        raise UnknownReason(
            f"unknown not-ready reason {reason!r}", field="reason", known=sorted(reasons)
        )
    return reason


def ready_event(state: AgentState) -> AgentEvent:
    """What "I am ready" means in ``state``: in wrap-up it ends the wrap-up early."""
    return E.WRAP_UP_DONE if state is S.WRAP_UP else E.READY


# --- the agent's status after a change --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """Where an agent is now: the state, since when, why (not ready) and with which call."""

    agent_id: int
    state: AgentState
    since: dt.datetime | None  # None: never logged in
    reason: str | None = None
    interaction_id: int | None = None  # the call held in reserved, on_call and wrap_up


def logged_out(agent_id: int) -> AgentStatus:
    """The status of an agent who has never logged in."""
    return AgentStatus(agent_id, S.LOGGED_OUT, None)


def status_after(
    status: AgentStatus, change: AgentChange, at: dt.datetime, interaction_id: int | None
) -> AgentStatus:
    """The status once ``change`` is applied at ``at``.

    The call is the one named with the event, else the one the agent already holds; it stays
    with the agent while they hold the call (through wrap-up) and is dropped after.
    """
    call = interaction_id if interaction_id is not None else status.interaction_id
    return AgentStatus(
        agent_id=status.agent_id,
        state=change.to_state,
        since=at,
        reason=change.reason,
        interaction_id=call if change.to_state in CALL_STATES else None,
    )


def change_interaction(status: AgentStatus, interaction_id: int | None) -> int | None:
    """The call a stored change is about: the one named, else the one the agent holds (so
    ``wrap_up_done`` and ``ring_no_answer`` rows name their call without the caller having
    to)."""
    return interaction_id if interaction_id is not None else status.interaction_id


def effective_time(status: AgentStatus, at: dt.datetime) -> dt.datetime:
    """Never before the current state began: two clocks (the ACD's event time, the API's
    now) can disagree by a little, and a negative time in state would break the reports."""
    if status.since is not None and at < status.since:
        return status.since
    return at


# --- an agent as the service shows them ------------------------------------------------------


@dataclass(frozen=True)
class AgentRecord:
    """An agent as the API shows them: who, which phone, where they are, what they can take."""

    agent_id: int
    username: str
    display_name: str
    role: Role
    extension: str | None
    status: AgentStatus
    skills: Mapping[str, int]
    languages: frozenset[str]
    queues: frozenset[str]


def profile_of(record: AgentRecord) -> AgentProfile:
    """The routing view of an agent. An agent with no language recorded serves Chinese (the
    AgentProfile default)."""
    profile = AgentProfile(
        agent_id=record.agent_id,
        extension=record.extension or "",
        skills=dict(record.skills),
        queues=record.queues,
    )
    return replace(profile, languages=record.languages) if record.languages else profile
