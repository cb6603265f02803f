"""The role filter of the CTI websocket, as a table: topic x role x whose event."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from callcenter.crm.vocabulary import Role
from callcenter.cti.routing import Viewer, delivers
from callcenter.events import EVENT_TYPES, Envelope, Event
from tests.support.events import bus_event, unknown_event

ME, OTHER = 7, 8
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)

# topic, whose (ME, OTHER or None: no agent_id), then: agent, advisor, supervisor, admin
TABLE = [
    ("call.offered", ME, True, True, True, True),
    ("call.offered", OTHER, False, False, False, False),
    ("call.offer_ended", ME, True, True, True, True),
    ("call.offer_ended", OTHER, False, False, False, False),
    ("call.answered", ME, True, True, True, True),
    ("call.answered", OTHER, False, False, False, False),
    ("call.ended", ME, True, True, True, True),
    ("call.ended", OTHER, False, False, False, False),
    ("call.control", ME, True, True, True, True),
    ("call.control", OTHER, False, False, False, False),
    ("call.wrap_up", ME, True, True, True, True),  # the wrap-up's deadline, to its agent
    ("call.wrap_up", OTHER, False, False, False, False),
    ("agent.state", ME, True, True, True, True),
    ("agent.state", OTHER, False, False, False, False),
    # Managers follow the floor through the wallboard's snapshot alone (cti/floor.py).
    ("floor.snapshot", None, False, False, True, True),
    ("queue.changed", None, False, False, False, False),
    ("call.queued", None, False, False, False, False),
    ("call.abandoned", None, False, False, False, False),
    ("call.overflowed", None, False, False, False, False),
    ("call.something_new", ME, True, True, True, True),
    ("call.something_new", OTHER, False, False, False, False),
    ("wallboard.tick", None, False, False, False, False),
    ("ivr.entered", ME, False, False, False, False),
]
ROLES = [Role.AGENT, Role.ADVISOR, Role.SUPERVISOR, Role.ADMIN]


def event(topic: str, agent_id: object) -> Envelope[Event]:
    if topic not in EVENT_TYPES:  # a topic a new publisher brings
        return Envelope(1, AT, unknown_event(topic, call_id="c1", agent_id=agent_id))
    fields: dict[str, object] = {}
    names = {f.name for f in dataclasses.fields(EVENT_TYPES[topic])}
    if topic.startswith("call.") and "call_id" in names:
        fields["call_id"] = "c1"
    if topic == "agent.state":
        fields["state"] = "ready"
    if "agent_id" not in names:
        assert agent_id is None
        return Envelope(1, AT, bus_event(topic, **fields))
    payload = bus_event(topic, **fields, agent_id=0)
    # As it is, even not a whole number: a typed publisher's bug that mypy did not catch.
    object.__setattr__(payload, "agent_id", agent_id)
    return Envelope(1, AT, payload)


@pytest.mark.parametrize(
    ("topic", "whose", "expected"),
    [(row[0], row[1], row[2:]) for row in TABLE],
    ids=[f"{row[0]}-{'mine' if row[1] == ME else 'other' if row[1] else 'none'}" for row in TABLE],
)
def test_who_receives_which_event(topic: str, whose: int | None, expected: tuple[bool]) -> None:
    got = tuple(delivers(Viewer(ME, "me", role), event(topic, whose)) for role in ROLES)
    assert got == expected


@pytest.mark.parametrize("odd", ["7", True, 7.0, None, [7]])
def test_an_agent_id_that_is_not_a_whole_number_matches_no_one(odd: object) -> None:
    viewer = Viewer(1 if odd is True else ME, "me", Role.AGENT)
    assert not delivers(viewer, event("call.offered", odd))
