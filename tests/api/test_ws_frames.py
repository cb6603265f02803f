"""Hostile frames on the CTI websocket: whatever a client sends, the server closes that socket
with a code and a reason that say what was wrong (docs/events.md, "Close codes"), never 1011,
and logs no traceback; a frame at the limits is still read."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from callcenter.cti.messages import MAX_NESTING
from callcenter.persistence.db import Database
from tests.support.cti_desk import Desk, open_desk


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


def nested(depth: int) -> str:
    """A ping whose extra field nests arrays and objects, the message itself the first level."""
    inner = "1"
    for level in range(depth - 1):
        inner = f"[{inner}]" if level % 2 else f'{{"a":{inner}}}'
    return f'{{"type":"ping","x":{inner}}}'


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("frame", "code", "said"),
    [
        ("[" * 30_000 + "]" * 30_000, 1003, "nested deeper than"),
        (nested(10_000), 1003, "nested deeper than"),
        (nested(MAX_NESTING + 1), 1003, "nested deeper than"),
        ('{"type":"ping","ref":"a\\ud800b"}', 1003, "surrogate"),
        ('{"type":"dial","ref":"\\udfff"}', 1003, "surrogate"),
        ('{"type":"ping","\\ud800":1}', 1003, "surrogate"),
        ('{"type":"ping","pad":"' + "\\ud800" * 10_000 + '"}', 1003, "surrogate"),
        ("\x00\x01", 1003, "not JSON"),
        ('{"type": "ping", "n": ' + "9" * 5_000 + "}", 1003, "not JSON"),
        ('{"type":"ping","x":"' + "张" * 30_000 + '"}', 1009, "at most"),
    ],
    ids=[
        "deep-array",
        "deep-in-a-message",
        "one-level-too-deep",
        "lone-surrogate-in-ref",
        "lone-surrogate-unknown-type",
        "lone-surrogate-key",
        "many-lone-surrogates",
        "control-bytes",
        "huge-number",
        "too-many-bytes",
    ],
)
async def test_a_hostile_frame_closes_its_socket_clearly_without_a_traceback(
    desk: Desk, caplog: pytest.LogCaptureFixture, frame: str, code: int, said: str
) -> None:
    async with desk.socket("agent_a") as socket:
        await socket.receive_type("hello")
        await socket.send_text(frame)
        closed_with, reason = await socket.closed()
    assert (closed_with, said in reason) == (code, True), reason
    assert len(reason.encode()) <= 123
    assert tracebacks(caplog) == []
    assert desk.hub.connections == []


@pytest.mark.parametrize(
    "frame",
    [nested(MAX_NESTING), '{"type":"ping","x":"' + "[" * 1_000 + '"}'],
    ids=["deepest-allowed", "brackets-in-a-string-nest-nothing"],
)
async def test_a_frame_at_the_limits_is_read(desk: Desk, frame: str) -> None:
    async with desk.socket("agent_a") as socket:
        await socket.receive_type("hello")
        await socket.send_text(frame)
        pong = await socket.receive_json()
    assert pong["type"] == "pong"


async def test_a_surrogate_pair_is_one_character_and_travels_back(desk: Desk) -> None:
    async with desk.socket("agent_a") as socket:
        await socket.receive_type("hello")
        await socket.send_text('{"type":"dial","ref":"\\ud83d\\ude00"}')
        error = await socket.receive_json()
    assert (error["type"], error["data"]["ref"]) == ("error", "\U0001f600")
