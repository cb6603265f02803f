"""The service's events: one frozen class per topic, each with its version.

These are the facts the ACD, call control and the API announce on the bus, and what the hub,
the wallboard and (later) other processes read: fields, never a dict. Each serialises to
JSON and back exactly (:meth:`Event.to_json`, :meth:`Event.from_json`), so an event can
cross a process boundary on a message bus; the bus's envelope (seq, time) does too
(callcenter/events/bus.py).

What a websocket sends is not an event but a projection of it that names the fields a desk
gets (callcenter/cti/projections.py); docs/events.md is checked against both by a test.

Versions: a change a reader of the old version cannot read (a field renamed, removed, or
given another meaning) is a new ``VERSION``. A field added with a default is not.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.acd.model import AgentState, ClientSummary
from callcenter.acd.path_steps import PathStep
from callcenter.crm.vocabulary import Tier
from callcenter.events.codec import Codec, InvalidEvent, UnknownTopic, build_codec

# Closed vocabularies of a few fields, as they travel.
AgentStateOrigin = Literal["api", "acd"]  # the agent's own change (REST, websocket), the ACD's
OfferEndReason = Literal["no_answer", "caller_gone", "not_dialled"]
OverflowAction = Literal["queue", "ivr"]  # on into another queue; back to the caller's IVR flow
OverflowReason = Literal["max_wait", "closed", "moved"]  # moved: by a supervisor
PlaceOutcome = Literal["reached", "not_reached", "not_dialled"]
RecordingAlarmReason = Literal["disk-full", "unwritable"]  # callcenter/crm/recording_alarm.py
ControlStateName = Literal["talking", "held", "consulting", "conference", "transferred", "ended"]
RecordingStateName = Literal["paused", "recording", "ended"]  # a call's recording, paused or not

JsonObject = Mapping[str, Any]  # JSON-ready already (the wallboard's rows)


class Event:
    """A fact the service announces. Each topic is a frozen dataclass of this (keyword
    arguments only), with ``TOPIC`` and ``VERSION``, listed in :data:`EVENT_TYPES`."""

    __slots__ = ()
    TOPIC: ClassVar[str]
    VERSION: ClassVar[int]

    def __post_init__(self) -> None:
        _codec(type(self)).normalise(self)

    def to_data(self) -> dict[str, Any]:
        """The fields as a JSON-ready object (times and dates in ISO-8601, enums by value)."""
        return _codec(type(self)).encode(self)

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Self:
        """The event from JSON-ready data (or values of the fields' own types); an
        :class:`InvalidEvent` for a field missing, unknown, or of the wrong kind."""
        return cls(**_codec(cls).arguments(data))

    def to_json(self) -> str:
        return json.dumps(self.to_data(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidEvent(f"{cls.TOPIC}: not JSON") from None
        return cls.from_data(data)

    @property
    def about_agent(self) -> int | None:
        """The agent this event is about: its ``agent_id`` field, if it has one. (The hub
        sends a call's events to that agent's desk alone.)"""
        agent_id = getattr(self, "agent_id", None)
        # bool is an int in Python: True must never be agent 1.
        return agent_id if type(agent_id) is int else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(Event):
    """``agent.state``: an agent's state changed (stored first)."""

    TOPIC: ClassVar[str] = "agent.state"
    VERSION: ClassVar[int] = 1

    agent_id: int
    state: AgentState
    reason: str | None  # the not-ready reason, else None
    origin: AgentStateOrigin


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued(Event):
    """``call.queued``: a caller entered a queue (again, after an IVR overflow)."""

    TOPIC: ClassVar[str] = "call.queued"
    VERSION: ClassVar[int] = 1

    call_id: str
    interaction_id: int | None
    queue: str
    client_id: int | None  # None: a caller the IVR did not identify
    priority: int
    language: str
    # For the wallboard, which masks it: no socket gets this event.
    caller_number: str | None
    tier: Tier | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered(Event):
    """``call.offered``: the screen pop, published before the agent's phone is dialled, with
    the caller's client summary as the ACD read it when the call joined its queue; the
    summary was audited with the agent's reservation (action ``call.offered``) before it
    left."""

    TOPIC: ClassVar[str] = "call.offered"
    # 2: the client summary as one object, ``client``, for version 1's ``client_id``,
    # ``client_name``, ``tier`` and ``value_class`` (and the ``call.client`` that followed).
    VERSION: ClassVar[int] = 2

    agent_id: int
    extension: str
    call_id: str
    interaction_id: int | None
    queue: str
    client: ClientSummary | None  # None: a caller the IVR did not identify
    caller_number: str | None
    language: str
    priority: int
    authenticated: bool  # proved who they are (account and PIN)
    ivr_path: tuple[str, ...]  # what they did in the IVR: "main_menu=timeout,1", ...
    # The same path as typed steps, for the desk to tell in words (callcenter/acd/path_steps.py).
    ivr_steps: tuple[PathStep, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOfferEnded(Event):
    """``call.offer_ended``: the agent's phone stopped ringing without an answer."""

    TOPIC: ClassVar[str] = "call.offer_ended"
    VERSION: ClassVar[int] = 1

    agent_id: int
    call_id: str
    interaction_id: int | None
    queue: str
    client_id: int | None
    reason: OfferEndReason


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(Event):
    """``call.answered``: the agent answered; the caller is bridged to them."""

    TOPIC: ClassVar[str] = "call.answered"
    VERSION: ClassVar[int] = 1

    agent_id: int
    call_id: str
    interaction_id: int | None
    queue: str
    client_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(Event):
    """``call.ended``: the agent's part of a call is over (wrap-up starts)."""

    TOPIC: ClassVar[str] = "call.ended"
    VERSION: ClassVar[int] = 1

    agent_id: int
    call_id: str
    interaction_id: int | None
    queue: str | None  # None: a call a previous run left open, with no queue recorded
    client_id: int | None
    transferred: bool  # the caller talks on with the transfer's target


@dataclass(frozen=True, slots=True, kw_only=True)
class CallWrapUp(Event):
    """``call.wrap_up``: the agent's wrap-up of a call began, or was extended: when it ends
    (then the ACD makes the agent ready) and the latest it may be extended to."""

    TOPIC: ClassVar[str] = "call.wrap_up"
    VERSION: ClassVar[int] = 1

    agent_id: int
    interaction_id: int | None
    ends_at: dt.datetime
    limit_at: dt.datetime  # no extension goes past it (callcenter/acd/wrap_up.py)
    extended_seconds: int  # extensions so far, in all


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAbandoned(Event):
    """``call.abandoned``: the caller hung up while waiting (or while an agent was rung)."""

    TOPIC: ClassVar[str] = "call.abandoned"
    VERSION: ClassVar[int] = 1

    call_id: str
    interaction_id: int | None
    queue: str
    # None: the caller hung up while the service was down (found when it started again).
    waited_seconds: float | None
    client_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOverflowed(Event):
    """``call.overflowed``: a waiting call left its queue, for another or for the IVR."""

    TOPIC: ClassVar[str] = "call.overflowed"
    VERSION: ClassVar[int] = 1

    call_id: str
    interaction_id: int | None
    queue: str  # the queue it left
    to_queue: str | None  # None: back to the caller's IVR flow
    action: OverflowAction
    reason: OverflowReason


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPlaceKept(Event):
    """``call.place_kept``: a waiting caller asked to be called back and keeps their place
    (virtual hold, docs/outbound.md): the queue counts them as waiting, from when they first
    queued, until their turn comes and they are dialled (``call.place_left``)."""

    TOPIC: ClassVar[str] = "call.place_kept"
    VERSION: ClassVar[int] = 1

    call_id: str  # the call they waited on, which has ended or is ending
    interaction_id: int | None
    item_id: int  # the callback work item that keeps the promise
    queue: str
    priority: int
    waiting_since: dt.datetime  # when they first queued: their place
    # For the wallboard, which masks it: no socket gets this event.
    caller_number: str | None
    tier: Tier | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPlaceLeft(Event):
    """``call.place_left``: a kept place's turn came, or it ended: the client was dialled
    for ``agent_id`` and answered (``reached``) or did not (``not_reached``: the work item's
    retry rules go on), or nothing could be dialled (``not_dialled``: the item stays a
    callback for the dialler)."""

    TOPIC: ClassVar[str] = "call.place_left"
    VERSION: ClassVar[int] = 1

    call_id: str
    item_id: int
    queue: str
    agent_id: int | None
    outcome: PlaceOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueChanged(Event):
    """``queue.changed``: a queue's configuration changed (read it again)."""

    TOPIC: ClassVar[str] = "queue.changed"
    VERSION: ClassVar[int] = 1

    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallControlChanged(Event):
    """``call.control``: the state of an agent's call under call control, after every
    action; for a click-to-dial call, only its end (no call id yet)."""

    TOPIC: ClassVar[str] = "call.control"
    VERSION: ClassVar[int] = 1

    agent_id: int
    interaction_id: int | None
    state: ControlStateName
    call_id: str | None = None  # None: the end of a click-to-dial call
    target: str | None = None  # whom the agent consults or conferences
    hold_seconds: int | None = None  # the hold so far


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecordingChanged(Event):
    """``call.recording``: the agent's call's recording was paused or resumed (by the agent,
    a supervisor, the limit, or the call's end: ``resumed_by``); callcenter/crm/
    recording_pauses.py. ``paused_seconds``: how long it has been (or was) paused;
    ``limit_seconds``: when a pause resumes by itself."""

    TOPIC: ClassVar[str] = "call.recording"
    VERSION: ClassVar[int] = 1

    agent_id: int
    call_id: str
    interaction_id: int | None
    recording_id: int
    state: RecordingStateName
    paused_seconds: float
    limit_seconds: float
    resumed_by: str | None = None  # agent, supervisor, limit, hangup


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundCallEnded(Event):
    """``call.outbound_ended``: a click-to-dial attempt is over (its record says ended), with
    how it ended (callcenter/acd/dial_outcome.py): what the dialler (issue 18) counts and
    retries by. Published once per attempt, after the ``call.control`` ``ended``."""

    TOPIC: ClassVar[str] = "call.outbound_ended"
    VERSION: ClassVar[int] = 1

    agent_id: int
    interaction_id: int
    call_id: str
    number_masked: str  # callcenter.crm.phones.mask_phone: never the full number
    outcome: DialOutcome
    answered_at: dt.datetime | None  # None: the client never answered
    ended_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorSnapshot(Event):
    """``floor.snapshot``: the wallboard's whole picture (callcenter/cti/floor.py), callers'
    numbers masked. Its rows are the floor's view, JSON-ready; their fields are the REST
    schema's (callcenter/api/schemas/supervision.py ``FloorOut``)."""

    TOPIC: ClassVar[str] = "floor.snapshot"
    VERSION: ClassVar[int] = 1

    day: dt.date | None  # the business day the figures count
    queues: tuple[JsonObject, ...]
    agents: tuple[JsonObject, ...]
    waiting: tuple[JsonObject, ...]
    calls: tuple[JsonObject, ...]
    # The outbound campaigns' progress per kind (issue 18; callcenter/outbound/stats.py).
    campaigns: tuple[JsonObject, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingAlarmChanged(Event):
    """``recording.alarm``: the recording storage's alarm was raised, changed or cleared
    (issue 17 point 7): calls go on, their recordings fail (callcenter/crm/recording_alarm.py)."""

    TOPIC: ClassVar[str] = "recording.alarm"
    VERSION: ClassVar[int] = 1

    active: bool
    reason: RecordingAlarmReason | None  # None: cleared
    since: dt.datetime | None  # when the alarm was raised
    calls_affected: int  # calls whose recording failed for it since
    free_bytes: int | None  # the storage's free space at the last probe
    cleared_at: dt.datetime | None = None  # the end of the last alarm


EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(
    {
        cls.TOPIC: cls
        for cls in (
            AgentStateChanged,
            CallQueued,
            CallOffered,
            CallOfferEnded,
            CallAnswered,
            CallEnded,
            CallWrapUp,
            CallAbandoned,
            CallOverflowed,
            CallPlaceKept,
            CallPlaceLeft,
            QueueChanged,
            CallControlChanged,
            CallRecordingChanged,
            OutboundCallEnded,
            FloorSnapshot,
            RecordingAlarmChanged,
        )
    }
)


# Built at import: a class declaring a type JSON cannot carry fails here, not in a call.
_CODECS: Mapping[type[Event], Codec] = MappingProxyType(
    {cls: build_codec(cls) for cls in EVENT_TYPES.values()}
)


def _codec(cls: type[Event]) -> Codec:
    return _CODECS.get(cls) or build_codec(cls)  # or a test's own event class


def event_type(topic: str) -> type[Event]:
    """The class of ``topic``; :class:`UnknownTopic` if there is none."""
    try:
        return EVENT_TYPES[topic]
    except KeyError:
        raise UnknownTopic(f"no event has the topic {topic[:60]!r}") from None


def event_from_data(topic: str, data: Mapping[str, object]) -> Event:
    """The event of ``topic`` from its fields as a mapping (see :meth:`Event.from_data`)."""
    return event_type(topic).from_data(data)
