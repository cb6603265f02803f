"""docs/events.md against the event types: its table is the one the types give, and each
example of a bus event shows exactly the fields a socket gets (or, for an event no socket
gets, the event's own fields)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from callcenter.cti.projections import PROJECTIONS
from callcenter.events import EVENT_TYPES
from scripts.events_doc import DOC, render

TEXT = DOC.read_text(encoding="utf-8")


def examples() -> list[dict[str, Any]]:
    """Every server message shown in the page's "Server to client" section."""
    section = TEXT.split("## Server to client", 1)[1].split("\n## ", 1)[0]
    found = []
    decoder = json.JSONDecoder()
    for block in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL):
        at = 0
        while block[at:].strip():
            at += len(block[at:]) - len(block[at:].lstrip())
            message, at = decoder.raw_decode(block, at)
            found.append(message)
    return found


EXAMPLES = examples()


def test_the_table_is_the_one_the_types_give() -> None:
    assert render() in TEXT, "run .venv/bin/python scripts/events_doc.py"


@pytest.mark.parametrize("topic", sorted(EVENT_TYPES))
def test_every_topic_has_an_example_with_exactly_its_fields(topic: str) -> None:
    kind = EVENT_TYPES[topic]
    projection = PROJECTIONS.get(kind)
    fields = (
        projection.fields
        if projection is not None
        else tuple(f.name for f in dataclasses.fields(kind))  # type: ignore[arg-type]
    )
    parts = projection.parts if projection is not None else {}
    shown = [m for m in EXAMPLES if m["type"] == topic]
    assert shown, f"docs/events.md shows no {topic}"
    for message in shown:
        assert list(message["data"]) == list(fields), topic
        for name, names in parts.items():  # an object field: exactly the fields sent of it
            if message["data"][name] is not None:
                assert list(message["data"][name]) == list(names), f"{topic}.{name}"


def test_no_example_shows_a_bus_topic_the_types_do_not_know() -> None:
    made_by_the_hub = {"hello", "ping", "pong", "resumed", "state.ok", "error"}
    assert {m["type"] for m in EXAMPLES} - made_by_the_hub <= set(EVENT_TYPES)
