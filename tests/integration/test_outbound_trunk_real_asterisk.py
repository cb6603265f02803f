"""Outbound calls over the carrier trunk on the real Asterisk (issue 18 groundwork): agent01
clicks to dial a client's number; the agent's test phone (1001) answers the service's
Originate; Asterisk dials the number on the trunk, where a sipp "client" (tests/support/
sip_client.py) answers, rings, is busy or does not exist. The test checks what the client's
phone was shown (the hotline's number), what the agent's phone was shown (the client's), the
interaction's record, and the one ``call.outbound_ended`` event of each attempt."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.crm.phones import mask_phone
from callcenter.crm.recordings import RecordingStatus
from callcenter.events import CallControlChanged, EventSubscription, OutboundCallEnded
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.tables import Interaction
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_call_control_real_asterisk import bearer
from tests.integration.test_recording_real_asterisk import (
    AGENT_HZ,
    channel_stat,
    finished_recording,
    recordings_folder,
)
from tests.support.agent_phone import AgentPhone, Answer, NeverAnswer
from tests.support.hotline import Hotline
from tests.support.sip_client import TONE_HZ, ClientMode, SipClient
from tests.support.sipp import free_udp_port
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

NUMBER = "+8613900000001"  # the client's number: not an extension, so dialled on the trunk
HOTLINE_NUMBER = "95777"  # not the default, so the test sees the setting at work
RING_SECONDS = 5


def client_port() -> int:
    """The sipp client's port: the one a parallel checkout was given, else any free one."""
    given = os.environ.get("CALLCENTER_TEST_CLIENT_PORT")
    return int(given) if given else free_udp_port()


async def start_line(hotline_factory: Callable[..., Any], port: int, **overrides: Any) -> Hotline:
    settings: dict[str, Any] = {
        "outbound_trunk": f"127.0.0.1:{port}",
        "hotline_number": HOTLINE_NUMBER,
        "outbound_ring_seconds": RING_SECONDS,
    }
    line: Hotline = await hotline_factory(**(settings | overrides))
    return line


async def dial(line: Hotline, agent: dict[str, str]) -> dict[str, Any]:
    response = await line.http.post(
        "/api/calls/me/dial", json={"number": NUMBER, "client_id": line.client.id}, headers=agent
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def attempt_ended(
    events: EventSubscription, call_id: str, timeout: float = 20.0
) -> OutboundCallEnded:
    """The attempt's call.outbound_ended; the call.control ended came before it."""
    control_ended = False

    async def wait() -> OutboundCallEnded:
        nonlocal control_ended
        while True:
            event = (await events.get()).payload
            if isinstance(event, CallControlChanged) and event.state == "ended":
                control_ended = True
            if isinstance(event, OutboundCallEnded) and event.call_id == call_id:
                return event

    ended = await asyncio.wait_for(wait(), timeout)
    assert control_ended, "call.control ended first"
    return ended


async def no_second_end(events: EventSubscription, call_id: str) -> None:
    """Nothing more about the attempt for a second after its end: it was announced once."""

    async def another() -> OutboundCallEnded:
        while True:
            event = (await events.get()).payload
            if isinstance(event, OutboundCallEnded) and event.call_id == call_id:
                return event

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(another(), 1.0)


async def record(line: Hotline, interaction_id: int) -> Interaction:
    async with line.db.read() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        session.expunge(row)
        return row


async def ended_record(line: Hotline, interaction_id: int, timeout: float = 10.0) -> Interaction:
    async def poll() -> Interaction:
        while (row := await record(line, interaction_id)).ended_at is None:  # noqa: ASYNC110 - polls the database, bounded by the timeout
            await asyncio.sleep(0.1)
        return row

    return await asyncio.wait_for(poll(), timeout)


def outbound_events(line: Hotline) -> EventSubscription:
    return line.runtime.events.subscribe(
        lambda e: isinstance(e.payload, OutboundCallEnded | CallControlChanged)
    )


async def test_an_answered_call_shows_the_hotline_number_to_the_client_and_ends_answered(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port, **recordings_folder(asterisk))
    password = line.phone_secrets
    agent_audio = tone_packets(AGENT_HZ)
    async with (
        SipClient(port, "answer", hang_up_after=4.0) as client,
        AgentPhone(
            line.settings.sip_port,
            "1001",
            password=password,
            behaviour=Answer(0.3),
            audio=agent_audio,
        ) as phone,
    ):
        agent, agent_id = await bearer(line, "agent01")  # logged out: no ACD call can come
        with outbound_events(line) as events:
            out = await dial(line, agent)
            answered = await phone.wait_answered(timeout=15)
            invite = await client.wait_invite()
            await client.wait_logged("ANSWERED")
            await client.wait_ended(timeout=20)
            await phone.wait_ended(timeout=10)
            ended = await attempt_ended(events, out["call_id"])
            await no_second_end(events, out["call_id"])
            recording = await finished_recording(line)
    # The client's phone: called at the number dialled, shown the hotline's number.
    assert (invite.dialled, invite.caller_id) == (NUMBER, HOTLINE_NUMBER)
    assert invite.asserted in (None, HOTLINE_NUMBER)  # the trunk sends no PAI; if it did
    assert len(client.invites) == 1
    assert client.logged("CALLER-BYE")  # the client hung up after 4 s
    # The agent's phone: shown whom it is calling (the client's number, not the hotline's).
    assert answered.invite.from_user == NUMBER
    # The recorded branch works with the caller ID: the call's file has the client's tone on
    # the left (so their RTP came through the trunk) and the agent's on the right.
    assert recording.status is RecordingStatus.COMPLETE, recording.failure_reason
    assert recording.interaction_id == out["interaction_id"]
    wav = recording_storage_for(line.settings).root / recording.path
    client_side, agent_side = channel_stat(wav, 1), channel_stat(wav, 2)
    assert abs(client_side["Rough   frequency"] - TONE_HZ) < 60, client_side
    assert abs(agent_side["Rough   frequency"] - AGENT_HZ) < 100, agent_side
    call = await ended_record(line, out["interaction_id"])
    assert call.direction == "outbound"
    assert (call.agent_id, call.client_id, call.called_number) == (
        agent_id,
        line.client.id,
        NUMBER,
    )
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert call.answered_at < call.ended_at
    assert ended.outcome is DialOutcome.ANSWERED
    assert (ended.agent_id, ended.interaction_id) == (agent_id, out["interaction_id"])
    assert ended.number_masked == mask_phone(NUMBER) != NUMBER
    assert ended.answered_at is not None
    assert ended.answered_at <= ended.ended_at


def what_asterisk_said(seen: Subscription[Message], call_id: str) -> tuple[str, str]:
    """The DialEnd's DialStatus on the agent's channel and the dialled channel's Hangup
    Cause, from the AMI events read during the attempt."""
    status = cause = "?"
    while (message := seen.get_nowait()) is not None:
        if message.name == "DialEnd" and message.get("Uniqueid") == call_id:
            status = message.get("DialStatus") or "?"
        dialled = message.get("Linkedid") == call_id and message.get("Uniqueid") != call_id
        if message.name == "Hangup" and dialled:  # not the agent's own channel
            cause = message.get("Cause") or "?"
    return status, cause


# What Asterisk 22 reports for each refusal, asserted so that the quirk the outcome rule rests
# on (callcenter/acd/dial_outcome.py) is seen on the real PBX: a 404 and a 603 both give
# DialStatus NOANSWER; only the dialled channel's cause tells them apart.
@pytest.mark.parametrize(
    ("mode", "status", "cause", "outcome"),
    [
        ("busy", "BUSY", "17", DialOutcome.BUSY),
        ("not_found", "NOANSWER", "1", DialOutcome.WRONG_NUMBER),
        ("reject", "NOANSWER", "21", DialOutcome.FAILED),
    ],
)
async def test_a_client_who_refuses_the_call_ends_it_with_that_outcome(
    hotline_factory: Callable[..., Any],
    mode: ClientMode,
    status: str,
    cause: str,
    outcome: DialOutcome,
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    password = line.phone_secrets
    async with (
        SipClient(port, mode) as client,
        AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
        ) as phone,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        with (
            outbound_events(line) as events,
            line.runtime.ami.subscribe({"dialend", "hangup"}, maxsize=2000) as seen,
        ):
            out = await dial(line, agent)
            await phone.wait_answered(timeout=15)
            invite = await client.wait_invite()
            ended = await attempt_ended(events, out["call_id"])
            await phone.wait_ended(timeout=10)  # the agent's leg ends with the attempt
            said = what_asterisk_said(seen, out["call_id"])
    assert (invite.dialled, invite.caller_id) == (NUMBER, HOTLINE_NUMBER)
    assert client.logged("REFUSED")
    assert said == (status, cause)
    assert ended.outcome is outcome
    assert ended.answered_at is None
    call = await ended_record(line, out["interaction_id"])
    assert call.answered_at is None
    assert call.ended_at is not None


async def test_a_client_who_never_answers_is_no_answer_after_the_ring_time(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    password = line.phone_secrets
    async with (
        SipClient(port, "ring_no_answer") as client,
        AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
        ) as phone,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        with outbound_events(line) as events:
            out = await dial(line, agent)
            await phone.wait_answered(timeout=15)
            await client.wait_invite()
            rang_from = asyncio.get_running_loop().time()
            ended = await attempt_ended(events, out["call_id"], timeout=RING_SECONDS + 15)
            rang = asyncio.get_running_loop().time() - rang_from
            await client.wait_logged("CANCELLED")  # Asterisk gave up: CANCEL
    assert ended.outcome is DialOutcome.NO_ANSWER
    assert ended.answered_at is None
    # It rang for the setting's seconds, not the 60 the dialplan used to fix.
    assert RING_SECONDS - 1 <= rang <= RING_SECONDS + 5, rang
    call = await ended_record(line, out["interaction_id"])
    assert call.answered_at is None


async def test_an_agent_phone_that_never_answers_is_the_agents_no_answer(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    password = line.phone_secrets
    async with (
        SipClient(port, "answer") as client,
        AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=NeverAnswer()
        ) as phone,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        with outbound_events(line) as events:
            out = await dial(line, agent)
            await phone.wait_invite(timeout=15)
            # The Originate rings the agent's phone for 30 s (click_to_dial.ORIGINATE_RING_MS).
            ended = await attempt_ended(events, out["call_id"], timeout=45)
    assert ended.outcome is DialOutcome.AGENT_NO_ANSWER
    assert ended.answered_at is None
    assert client.invites == []  # the client was never dialled
    assert phone.cancelled  # the agent's phone stopped ringing
    call = await ended_record(line, out["interaction_id"])
    assert call.answered_at is None


async def test_the_agent_hanging_up_while_the_client_rings_is_cancelled(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port, outbound_ring_seconds=30)
    password = line.phone_secrets
    async with (
        SipClient(port, "ring_no_answer") as client,
        AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
        ) as phone,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        with outbound_events(line) as events:
            out = await dial(line, agent)
            await phone.wait_answered(timeout=15)
            await client.wait_invite()
            # Ringing: a CANCEL that overtakes the client's own 180 is not this case (sipp
            # then answers it for the scenario, which never sees it).
            await client.wait_logged("RINGING")
            await phone.hang_up()  # the agent gives up before the client answers
            ended = await attempt_ended(events, out["call_id"])
            await client.wait_logged("CANCELLED")
    assert ended.outcome is DialOutcome.CANCELLED
    assert ended.answered_at is None


async def test_a_colleague_dialled_at_their_extension_is_not_shown_the_hotline_number(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    password = line.phone_secrets
    sip_port = line.settings.sip_port
    async with (
        SipClient(port, "answer") as client,
        AgentPhone(sip_port, "1001", password=password, behaviour=Answer(0.3)) as phone,
        AgentPhone(sip_port, "1002", password=password, behaviour=Answer(0.3)) as colleague,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        with outbound_events(line) as events:
            response = await line.http.post(
                "/api/calls/me/dial", json={"number": "1002"}, headers=agent
            )
            assert response.status_code == 201, response.text
            out = response.json()
            await phone.wait_answered(timeout=15)
            rung = await colleague.wait_answered(timeout=15)
            await colleague.hang_up()
            ended = await attempt_ended(events, out["call_id"])
    # As before this change: the agent's channel's caller ID (what its Originate set).
    assert rung.invite.from_user == "1002"
    assert rung.invite.from_user != HOTLINE_NUMBER
    assert client.invites == []  # nothing went to the trunk
    assert ended.outcome is DialOutcome.ANSWERED
    assert ended.number_masked == mask_phone("1002")
