"""The events' typed vocabulary (callcenter/events/topics.py): every event to JSON and back
exactly, the registry of topics, and the refusals of an unknown topic or a bad field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any, ClassVar

import pytest

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.acd.model import AgentState, ClientSummary
from callcenter.crm.vocabulary import RiskProfile, Tier, ValueClass
from callcenter.cti.projections import PROJECTIONS
from callcenter.events import (
    EVENT_TYPES,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallControlChanged,
    CallEnded,
    CallOffered,
    CallOfferEnded,
    CallOverflowed,
    CallPlaceKept,
    CallPlaceLeft,
    CallQueued,
    CallRecordingChanged,
    CallWrapUp,
    Envelope,
    Event,
    FloorSnapshot,
    InvalidEvent,
    OutboundCallEnded,
    QueueChanged,
    RecordingAlarmChanged,
    UnknownTopic,
    UnknownVersion,
    event_from_data,
    event_type,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 3, 2, 17, 30, 0, 123456, tzinfo=SHANGHAI)

# Each type at least twice: every optional field set, and every optional field None.
SAMPLES: list[Event] = [
    AgentStateChanged(agent_id=12, state=AgentState.NOT_READY, reason="break", origin="api"),
    AgentStateChanged(agent_id=12, state=AgentState.READY, reason=None, origin="acd"),
    CallQueued(
        call_id="1741000000.7",
        interaction_id=5311,
        queue="general",
        client_id=8801,
        priority=3,
        language="zh",
        caller_number="+8613800138000",
        tier=Tier.GOLD,
    ),
    CallQueued(
        call_id="1741000000.8",
        interaction_id=None,
        queue="vip",
        client_id=None,
        priority=0,
        language="en",
        caller_number=None,
        tier=None,
    ),
    CallOffered(
        agent_id=12,
        extension="1001",
        call_id="1741000000.7",
        interaction_id=5311,
        queue="general",
        client=ClientSummary(
            client_id=8801,
            name="张伟",
            name_latin="Zhang Wei",
            tier=Tier.VIP,
            value_class=ValueClass.CORE_VOLUME,
            risk_profile=RiskProfile.BALANCED,
            advisor_id=31,
            advisor_name="李娜",
        ),
        caller_number="+8613800138000",
        language="zh",
        priority=3,
        authenticated=True,
        ivr_path=("language", "main_menu=timeout,1", "agent"),
    ),
    CallOffered(
        agent_id=13,
        extension="1002",
        call_id="1741000000.8",
        interaction_id=None,
        queue="general",
        client=ClientSummary(
            client_id=8802,
            name="John Smith",
            name_latin="John Smith",
            tier=Tier.STANDARD,
            value_class=ValueClass.ORDINARY,
            risk_profile=RiskProfile.CONSERVATIVE,
            advisor_id=None,
            advisor_name=None,
        ),
        caller_number=None,
        language="zh",
        priority=1,
        authenticated=False,
        ivr_path=(),
    ),
    CallOffered(
        agent_id=13,
        extension="1002",
        call_id="1741000000.9",
        interaction_id=None,
        queue="general",
        client=None,
        caller_number=None,
        language="zh",
        priority=1,
        authenticated=False,
        ivr_path=(),
    ),
    CallOfferEnded(
        agent_id=12,
        call_id="c1",
        interaction_id=5311,
        queue="general",
        client_id=8801,
        reason="no_answer",
    ),
    CallOfferEnded(
        agent_id=12,
        call_id="c1",
        interaction_id=None,
        queue="general",
        client_id=None,
        reason="caller_gone",
    ),
    CallAnswered(agent_id=12, call_id="c1", interaction_id=5311, queue="general", client_id=1),
    CallAnswered(agent_id=12, call_id="c1", interaction_id=None, queue="vip", client_id=None),
    CallEnded(
        agent_id=12,
        call_id="c1",
        interaction_id=5311,
        queue="general",
        client_id=8801,
        transferred=True,
    ),
    CallEnded(
        agent_id=12,
        call_id="c1",
        interaction_id=None,
        queue=None,
        client_id=None,
        transferred=False,
    ),
    CallWrapUp(
        agent_id=12,
        interaction_id=5311,
        ends_at=dt.datetime(2026, 3, 2, 9, 31, tzinfo=dt.UTC),
        limit_at=dt.datetime(2026, 3, 2, 9, 35, tzinfo=dt.UTC),
        extended_seconds=30,
    ),
    CallWrapUp(
        agent_id=12,
        interaction_id=None,
        ends_at=dt.datetime(2026, 3, 2, 9, 31, tzinfo=dt.UTC),
        limit_at=dt.datetime(2026, 3, 2, 9, 35, tzinfo=dt.UTC),
        extended_seconds=0,
    ),
    CallAbandoned(
        call_id="c1", interaction_id=5313, queue="general", waited_seconds=41.5, client_id=2
    ),
    CallAbandoned(call_id="c1", interaction_id=None, queue="general", waited_seconds=None),
    CallOverflowed(
        call_id="c1",
        interaction_id=5312,
        queue="vip",
        to_queue="general",
        action="queue",
        reason="max_wait",
    ),
    CallOverflowed(
        call_id="c1",
        interaction_id=None,
        queue="vip",
        to_queue=None,
        action="ivr",
        reason="closed",
    ),
    CallPlaceKept(
        call_id="c1",
        interaction_id=5312,
        item_id=7710,
        queue="general",
        priority=3,
        waiting_since=dt.datetime(2026, 3, 2, 9, 31, 2, tzinfo=dt.UTC),
        caller_number="+8613800138000",
        tier=Tier.GOLD,
    ),
    CallPlaceKept(
        call_id="c1",
        interaction_id=None,
        item_id=7711,
        queue="general",
        priority=0,
        waiting_since=dt.datetime(2026, 3, 2, 9, 31, 2, tzinfo=dt.UTC),
        caller_number=None,
        tier=None,
    ),
    CallPlaceLeft(call_id="c1", item_id=7710, queue="general", agent_id=12, outcome="reached"),
    CallPlaceLeft(
        call_id="c1", item_id=7711, queue="general", agent_id=None, outcome="not_dialled"
    ),
    QueueChanged(queue="general"),
    CallControlChanged(
        agent_id=12,
        call_id="c1",
        interaction_id=5311,
        state="consulting",
        target="1002",
        hold_seconds=14,
    ),
    CallControlChanged(agent_id=12, interaction_id=None, state="ended"),
    CallRecordingChanged(
        agent_id=12,
        call_id="c1",
        interaction_id=5311,
        recording_id=88,
        state="recording",
        paused_seconds=120.0,
        limit_seconds=120.0,
        resumed_by="limit",
    ),
    CallRecordingChanged(
        agent_id=12,
        call_id="c1",
        interaction_id=None,
        recording_id=88,
        state="paused",
        paused_seconds=0.0,
        limit_seconds=120.0,
    ),
    OutboundCallEnded(
        agent_id=12,
        interaction_id=5320,
        call_id="out-5be1c0a9e3d27f40a1b2",
        number_masked="+86139****0001",
        outcome=DialOutcome.ANSWERED,
        answered_at=AT,
        ended_at=AT + dt.timedelta(minutes=3),
    ),
    OutboundCallEnded(
        agent_id=12,
        interaction_id=5321,
        call_id="out-0c4d3f8a7b6e5d4c3b2a",
        number_masked="+86139****0002",
        outcome=DialOutcome.WRONG_NUMBER,
        answered_at=None,
        ended_at=AT,
    ),
    FloorSnapshot(
        day=dt.date(2026, 3, 2),
        queues=({"queue": "general", "waiting": 2, "service_level": 0.8421},),
        agents=({"agent_id": 12, "state": "on_call", "reason": None},),
        waiting=({"call_id": "c9", "caller": "*********9000", "priority": 5},),
        calls=({"call_id": "c7", "answered_at": "2026-03-02T09:27:55+00:00"},),
    ),
    FloorSnapshot(day=None, queues=(), agents=(), waiting=(), calls=()),
    RecordingAlarmChanged(
        active=True, reason="disk-full", since=AT, calls_affected=2, free_bytes=0, cleared_at=AT
    ),
    RecordingAlarmChanged(active=False, reason=None, since=None, calls_affected=0, free_bytes=None),
]


def sample_of(kind: type[Event]) -> Event:
    return next(event for event in SAMPLES if type(event) is kind)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Appointment(Event):
    """A topic of a test's own, for the kinds no event of ours declares yet."""

    TOPIC: ClassVar[str] = "test.appointment"
    VERSION: ClassVar[int] = 1

    at: dt.datetime
    until: dt.datetime | None = None


@dataclasses.dataclass
class Loose:
    """A dataclass that is not frozen: an event holding it could change after it is sent."""

    n: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HoldsLoose(Event):
    TOPIC: ClassVar[str] = "test.holds_loose"
    VERSION: ClassVar[int] = 1

    loose: Loose


def test_an_object_in_an_event_must_be_a_frozen_dataclass() -> None:
    with pytest.raises(TypeError, match=r"HoldsLoose\.loose: unsupported Loose: a frozen"):
        HoldsLoose(loose=Loose(1))


def test_every_topic_has_samples_with_and_without_its_optional_fields() -> None:
    assert {type(event) for event in SAMPLES} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TOPIC)
def test_an_event_goes_to_json_and_back_exactly(event: Event) -> None:
    text = event.to_json()
    again = type(event).from_json(text)
    assert again == event
    assert again.to_json() == text
    assert json.loads(text) == event.to_data()  # plain JSON: no type of ours in it


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TOPIC)
def test_an_envelope_goes_to_json_and_back_exactly(event: Event) -> None:
    envelope = Envelope(1207, AT, event)
    again = Envelope.from_json(envelope.to_json())
    assert again == envelope
    assert again.at.utcoffset() == dt.timedelta(hours=8)  # the offset and microseconds kept
    assert json.loads(envelope.to_json())["version"] == event.VERSION


def test_times_keep_their_offset_and_none_stays_none() -> None:
    for event in (Appointment(at=AT, until=AT + dt.timedelta(minutes=30)), Appointment(at=AT)):
        assert Appointment.from_json(event.to_json()) == event
    assert json.loads(Appointment(at=AT).to_json()) == {
        "at": "2026-03-02T17:30:00.123456+08:00",
        "until": None,
    }


def test_fields_travel_as_plain_json_and_come_back_as_their_types() -> None:
    offer = sample_of(CallOffered)
    data = json.loads(offer.to_json())
    assert (data["client"]["tier"], data["client"]["value_class"], data["ivr_path"][0]) == (
        "vip",
        "core_volume",
        "language",
    )
    again = CallOffered.from_data(data)
    assert isinstance(again.client, ClientSummary)  # an object comes back as its class
    assert again.client.tier is Tier.VIP
    assert again.client.risk_profile is RiskProfile.BALANCED
    assert again.ivr_path == ("language", "main_menu=timeout,1", "agent")
    assert (
        AgentStateChanged.from_data(
            {"agent_id": 1, "state": "ready", "reason": None, "origin": "api"}
        ).state
        is AgentState.READY
    )


def test_the_registry_knows_each_topic_once_with_a_version() -> None:
    kinds = list(EVENT_TYPES.values())
    assert len({kind.TOPIC for kind in kinds}) == len(kinds)
    for topic, kind in EVENT_TYPES.items():
        assert topic == kind.TOPIC
        assert event_type(topic) is kind
        assert type(kind.VERSION) is int
        assert kind.VERSION >= 1
        assert dataclasses.is_dataclass(kind)
        assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_an_unknown_topic_is_refused_by_name() -> None:
    with pytest.raises(UnknownTopic, match=r"call\.teleported"):
        event_from_data("call.teleported", {"call_id": "c1"})


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"agent_id": True}, "field agent_id: expected int, got bool"),  # True is not agent 1
        ({"agent_id": "12"}, "field agent_id: expected int, got str"),
        ({"state": "dancing"}, "field state: not a AgentState: one of logged_out, ready"),
        ({"origin": "snapshot"}, "field origin: not one of acd, api"),
        ({"reason": 3}, "field reason: expected str, got int"),
        ({"colour": "red"}, "no field colour"),
        ({"origin": None}, "field origin: not one of"),
    ],
)
def test_a_bad_field_is_refused_naming_the_topic_and_field(
    change: dict[str, Any], says: str
) -> None:
    data = {"agent_id": 12, "state": "ready", "reason": None, "origin": "api", **change}
    with pytest.raises(InvalidEvent, match=re.escape("agent.state: " + says)):
        event_from_data("agent.state", data)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"tier": "platinum"}, "field client: ClientSummary.tier: not a Tier: one of standard"),
        ({"client_id": "8801"}, "field client: ClientSummary.client_id: expected int, got str"),
        ({"colour": "red"}, "field client: ClientSummary: no field colour"),
    ],
)
def test_a_bad_field_of_the_client_summary_is_refused_naming_it(
    change: dict[str, Any], says: str
) -> None:
    data = sample_of(CallOffered).to_data()
    data["client"] = {**data["client"], **change}
    with pytest.raises(InvalidEvent, match=re.escape("call.offered: " + says)):
        CallOffered.from_data(data)


def test_a_client_summary_missing_a_field_is_refused() -> None:
    data = sample_of(CallOffered).to_data()
    del data["client"]["name"]
    with pytest.raises(InvalidEvent, match="field client: ClientSummary: field name missing"):
        CallOffered.from_data(data)


def test_a_missing_field_is_refused_unless_it_has_a_default() -> None:
    with pytest.raises(InvalidEvent, match=r"call\.answered: field queue, client_id missing"):
        event_from_data("call.answered", {"agent_id": 1, "call_id": "c1", "interaction_id": None})
    abandoned = {"call_id": "c1", "interaction_id": None, "queue": "q", "waited_seconds": 2}
    assert event_from_data("call.abandoned", abandoned) == CallAbandoned(
        call_id="c1", interaction_id=None, queue="q", waited_seconds=2.0, client_id=None
    )


GOOD = {"topic": "queue.changed", "version": 1, "seq": 1, "at": "2026-03-02T09:30:00+00:00"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{", InvalidEvent),
        ("[]", InvalidEvent),
        (json.dumps(GOOD), InvalidEvent),  # no data
        (json.dumps({**GOOD, "version": 2, "data": {"queue": "q"}}), UnknownVersion),
        (json.dumps({**GOOD, "topic": "queue.moved", "data": {"queue": "q"}}), UnknownTopic),
        (json.dumps({**GOOD, "at": "2026-03-02T09:30:00", "data": {"queue": "q"}}), InvalidEvent),
        (json.dumps({**GOOD, "seq": "1", "data": {"queue": "q"}}), InvalidEvent),
        (json.dumps({**GOOD, "data": {"queue": 7}}), InvalidEvent),
    ],
    ids=["not-json", "not-an-object", "no-data", "version", "topic", "naive", "seq", "field"],
)
def test_an_envelope_from_another_process_must_be_one_we_read(
    text: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Envelope.from_json(text)


def test_a_typed_event_of_the_wrong_kind_is_refused_where_it_is_built() -> None:
    with pytest.raises(InvalidEvent, match="field agent_id"):
        AgentStateChanged(agent_id=True, state=AgentState.READY, reason=None, origin="api")
    with pytest.raises(InvalidEvent, match="field at: expected a time with its UTC offset"):
        Appointment(at=dt.datetime(2026, 3, 2, 9, 30))  # no offset: the point


def test_a_websocket_gets_only_fields_its_event_has() -> None:
    for kind, projection in PROJECTIONS.items():
        assert kind in EVENT_TYPES.values()
        names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
        assert set(projection.fields) <= names, kind.TOPIC
        for event in (e for e in SAMPLES if type(e) is kind):
            assert set(projection.data(event)) <= set(projection.fields)


def test_a_click_to_dial_end_carries_the_agent_the_interaction_and_the_state_alone() -> None:
    end = CallControlChanged(agent_id=12, interaction_id=77, state="ended")
    assert PROJECTIONS[CallControlChanged].data(end) == {
        "agent_id": 12,
        "interaction_id": 77,
        "state": "ended",
    }
