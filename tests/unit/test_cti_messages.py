"""The CTI websocket's wire format: the server's envelope and the client frames it reads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from callcenter.crm.vocabulary import Tier
from callcenter.cti.messages import (
    MAX_FRAME_BYTES,
    FrameNotText,
    FrameTooLarge,
    InvalidMessage,
    MalformedFrame,
    Ping,
    Pong,
    Resume,
    StateChange,
    UnknownMessageType,
    encode,
    event_message,
    parse_frame,
)
from callcenter.events import Envelope
from tests.support.events import bus_event, summary

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_an_event_becomes_type_epoch_seq_at_and_data() -> None:
    client = summary(tier=Tier.VIP)
    offer = bus_event("call.offered", agent_id=7, call_id="c1", queue="vip", client=client)
    text = event_message(Envelope(42, AT, offer), "run-2")
    assert text is not None
    message = json.loads(text)
    assert {k: v for k, v in message.items() if k != "data"} == {
        "type": "call.offered",
        "epoch": "run-2",  # seq 42 of this run of the service, not of the one before a restart
        "seq": 42,
        "at": "2026-03-02T09:30:00+00:00",
    }
    assert (message["data"]["queue"], message["data"]["client"]["tier"]) == ("vip", "vip")
    # The projection's choice: the desk gets the summary's id and what the pop shows, not the
    # advisor's id (the ACD's, for routing).
    assert list(message["data"]["client"]) == [
        "client_id",
        "name",
        "name_latin",
        "tier",
        "value_class",
        "risk_profile",
        "advisor_name",
    ]


def test_an_event_without_a_projection_is_no_message() -> None:
    # call.queued carries the caller's number for the wallboard, which masks it.
    queued = bus_event("call.queued", call_id="c1", caller_number="+8613800138000")
    assert event_message(Envelope(42, AT, queued), "run-1") is None


def test_chinese_names_travel_unescaped() -> None:
    data = {"client": {"name": "张伟"}, "day": dt.date(2026, 3, 2)}
    assert "张伟" in encode("call.offered", 1, AT, data, epoch="run-1")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"type":"ping"}', Ping()),
        ('{"type":"pong"}', Pong()),
        ('{"type":"resume","last_seq":17}', Resume(17)),
        ('{"type":"resume"}', Resume(None)),
        (
            '{"type":"resume","epoch":"9f2c4e1a7b3d5068","last_seq":17}',
            Resume(17, "9f2c4e1a7b3d5068"),
        ),
        ('{"type":"resume","epoch":null,"last_seq":0}', Resume(0)),
        (
            '{"type":"state","state":"not_ready","reason":"break","ref":"a1"}',
            StateChange("not_ready", "break", "a1"),
        ),
        ('{"type":"state","state":"ready"}', StateChange("ready", None, None)),
    ],
)
def test_the_messages_a_client_may_send(frame: str, message: object) -> None:
    assert parse_frame(frame, None) == message


@pytest.mark.parametrize(
    ("text", "data", "error"),
    [
        (None, b"\x00", FrameNotText),
        ("{", None, MalformedFrame),
        ("", None, MalformedFrame),
        ('"ping"', None, MalformedFrame),
        ("[]", None, MalformedFrame),
        ('{"type": 3}', None, MalformedFrame),
        ("1" * 5000, None, MalformedFrame),  # an integer too long to convert
        ('{"type":"dial"}', None, UnknownMessageType),
        ('{"type":"resume","last_seq":-1}', None, InvalidMessage),
        ('{"type":"resume","last_seq":"9"}', None, InvalidMessage),
        ('{"type":"resume","last_seq":true}', None, InvalidMessage),
        ('{"type":"resume","epoch":7}', None, InvalidMessage),
        ('{"type":"resume","epoch":"' + "e" * 65 + '"}', None, InvalidMessage),
        ('{"type":"state","state":"busy"}', None, InvalidMessage),
        ('{"type":"state","state":"ready","reason":5}', None, InvalidMessage),
        ('{"type":"ping","ref":' + json.dumps("r" * 65) + "}", None, InvalidMessage),
    ],
)
def test_frames_refused_and_how(text: str | None, data: bytes | None, error: type) -> None:
    with pytest.raises(error):
        parse_frame(text, data)


def test_the_frame_limit_counts_bytes_not_characters() -> None:
    pad = "张" * ((MAX_FRAME_BYTES - 100) // 3)  # three bytes each in UTF-8: just under
    just_fits = json.dumps({"type": "ping", "p": pad}, ensure_ascii=False)
    assert len(just_fits.encode()) <= MAX_FRAME_BYTES
    assert parse_frame(just_fits, None) == Ping()
    assert len(just_fits) < MAX_FRAME_BYTES // 2  # a count of characters would let in twice
    over: dict[str, Any] = {"type": "ping", "p": pad + "张" * 40}
    with pytest.raises(FrameTooLarge) as refused:
        parse_frame(json.dumps(over, ensure_ascii=False), None)
    assert refused.value.detail["bytes"] > MAX_FRAME_BYTES


def test_an_unknown_type_echoes_the_clients_ref() -> None:
    with pytest.raises(UnknownMessageType) as refused:
        parse_frame('{"type":"dial","ref":"r1"}', None)
    assert refused.value.detail["ref"] == "r1"
