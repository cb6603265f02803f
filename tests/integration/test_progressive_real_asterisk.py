"""Progressive dialling on the real Asterisk (issue 18, point 3): agent01 turns progressive
mode on and goes ready; the dialler dials the client of a due work item on the trunk, where a
sipp "client" (tests/support/sip_client.py) answers or lets it ring; an answered client is put
through to agent01's test phone (1001), the pop reaching the desk's channel before the phone's
INVITE; an unanswered one is never put through and the item waits for its retry."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.acd.model import AgentState
from callcenter.crm.recordings import RecordingStatus
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.events import CallOffered, EventSubscription, OutboundCallEnded
from callcenter.persistence.tables import CallbackRequest, FollowUp, FollowUpAttempt, Interaction
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in, short_queue
from tests.integration.test_outbound_trunk_real_asterisk import client_port
from tests.integration.test_recording_real_asterisk import finished_recording, recordings_folder
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import ExpectHangup, Keys, Wait
from tests.support.hotline import GAP, Hotline
from tests.support.logins import log_in as log_in_as
from tests.support.sip_client import SipClient

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

HOTLINE_NUMBER = "95777"
RING_SECONDS = 5
ALL_DAY = {  # calling hours that hold whenever the suite runs
    f"outbound_{days}_{end}": value
    for days in ("weekday", "weekend")
    for end, value in (("start", dt.time(0, 0)), ("end", dt.time(23, 59, 59, 999999)))
}


async def start_line(hotline_factory: Callable[..., Any], port: int, **overrides: Any) -> Hotline:
    line: Hotline = await hotline_factory(
        outbound_trunk=f"127.0.0.1:{port}",
        hotline_number=HOTLINE_NUMBER,
        outbound_ring_seconds=RING_SECONDS,
        **ALL_DAY,
        **overrides,
    )
    await short_queue(line, ring_seconds=10)
    return line


async def due_return_visit(line: Hotline, agent_id: int) -> int:
    """A return visit of the demo client, agent01's, first in the dialler's order."""
    async with line.db.write() as session:
        item = FollowUp(
            client_id=line.client.id,
            kind=FollowUpKind.RETURN_VISIT,
            status=FollowUpStatus.OPEN,
            due_on=dt.date(2000, 1, 1),
            priority=1,
            assigned_to_id=agent_id,
            reason="account opened two weeks ago",
            version=1,
        )
        session.add(item)
        await session.flush()
        return item.id


async def progressive_on(line: Hotline, username: str) -> tuple[dict[str, str], int]:
    headers = await log_in_as(line.http, username)
    me = (await line.http.get("/api/auth/me", headers=headers)).json()
    response = await line.http.put("/api/outbound/progressive", json={"on": True}, headers=headers)
    assert response.json()["on"] is True, response.text
    return headers, int(me["id"])


async def dial_ended(events: EventSubscription, timeout: float = 30.0) -> OutboundCallEnded:
    async def wait() -> OutboundCallEnded:
        while True:
            payload = (await events.get()).payload
            if isinstance(payload, OutboundCallEnded):
                return payload

    return await asyncio.wait_for(wait(), timeout)


async def attempts_of(line: Hotline, item_id: int) -> list[FollowUpAttempt]:
    async with line.db.read() as session:
        rows = list(
            await session.scalars(
                select(FollowUpAttempt).where(FollowUpAttempt.follow_up_id == item_id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


async def applied(line: Hotline, item_id: int, timeout: float = 10.0) -> FollowUpAttempt:
    """The item's one attempt, once the dial's end was applied to it (the dialler reads the
    same event as the test, in its own task)."""

    async def poll() -> FollowUpAttempt:
        while True:
            (attempt,) = await attempts_of(line, item_id)
            if attempt.outcome is not None:
                return attempt
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


async def item_row(line: Hotline, item_id: int) -> FollowUp:
    async with line.db.read() as session:
        row = await session.get(FollowUp, item_id)
        assert row is not None
        session.expunge(row)
        return row


async def test_an_answered_client_is_put_through_to_the_agent_with_the_pop_before_the_ring(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port, **recordings_folder(asterisk))
    _headers, agent_id = await progressive_on(line, "agent01")
    item_id = await due_return_visit(line, agent_id)
    password = line.phone_secrets
    with (
        line.runtime.events.subscribe(lambda e: e.topic == "call.offered") as pops,
        line.runtime.events.subscribe(lambda e: e.topic == "call.outbound_ended") as ends,
    ):
        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port,
                "1001",
                password=password,
                behaviour=Answer(after=0.5, hang_up_after=2.0),
            ) as phone,
        ):
            await log_in(line, "agent01")  # ready: the dialler dials for them
            invite = await client.wait_invite(timeout=20)
            ring = await phone.wait_invite(timeout=20)
            pop = (await asyncio.wait_for(pops.get(), 5)).narrow(CallOffered)
            ended = await dial_ended(ends)
            await client.wait_ended(timeout=20)
            recording = await finished_recording(line)
    # The client's phone: their number dialled on the trunk, the hotline's shown.
    assert (invite.dialled, invite.caller_id) == (line.client.phone, HOTLINE_NUMBER)
    # The pop for this client reached the desk's channel before the agent's phone rang.
    assert pop is not None
    assert pop.payload.agent_id == agent_id
    assert pop.payload.client is not None
    assert pop.payload.client.client_id == line.client.id
    assert pop.at.timestamp() < ring.at
    assert ring.from_user == line.client.phone  # the agent's phone shows the client's number
    # One attempt, progressive, with the call's record, answered.
    assert ended.outcome is DialOutcome.ANSWERED
    attempt = await applied(line, item_id)
    assert (attempt.mode, attempt.agent_id, attempt.interaction_id) == (
        "progressive",
        agent_id,
        ended.interaction_id,
    )
    async with line.db.read() as session:
        call = await session.get(Interaction, ended.interaction_id)
        assert call is not None
        assert (call.direction, call.client_id, call.agent_id) == (
            "outbound",
            line.client.id,
            agent_id,
        )
        assert call.offered_at is not None
        assert call.answered_at is not None
    item = await item_row(line, item_id)
    assert (item.attempts, item.last_outcome, item.status) == (1, "answered", "open")
    # Recorded as an inbound call is: the call's file, tied to the attempt's interaction.
    assert recording.status is RecordingStatus.COMPLETE, recording.failure_reason
    assert recording.interaction_id == ended.interaction_id


async def test_a_client_who_does_not_answer_is_never_put_through_and_waits_for_the_retry(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    _headers, agent_id = await progressive_on(line, "agent01")
    item_id = await due_return_visit(line, agent_id)
    password = line.phone_secrets
    with line.runtime.events.subscribe(lambda e: e.topic == "call.outbound_ended") as ends:
        async with (
            SipClient(port, "ring_no_answer") as client,
            AgentPhone(
                line.settings.sip_port, "1001", password=password, behaviour=Answer(after=0.5)
            ) as phone,
        ):
            await log_in(line, "agent01")
            await client.wait_invite(timeout=20)
            ended = await dial_ended(ends, timeout=RING_SECONDS + 20)
            acd = line.runtime.acd
            assert acd is not None
            assert acd.router.agent_state(agent_id) is AgentState.READY  # never reserved
    assert phone.invites == []  # the agent's phone never rang
    assert ended.outcome is DialOutcome.NO_ANSWER
    attempt = await applied(line, item_id)
    assert attempt.outcome == "no_answer"
    item = await item_row(line, item_id)
    assert (item.attempts, item.last_outcome, item.status) == (1, "no_answer", "open")
    assert item.next_attempt_at is not None
    assert item.next_attempt_at - ended.ended_at >= dt.timedelta(hours=1, minutes=59)


async def test_a_callback_booked_in_the_ivr_is_dialled_and_put_through_to_a_ready_agent(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    line = await start_line(hotline_factory, port, business_holidays=[today])  # closed: IVR
    after = line.play_seconds("callback_booked", "zh") + 6.0
    script = [
        Wait(1.0),
        Keys("1"),
        Wait(GAP),
        Keys("1"),  # after-hours menu: a call back
        Wait(GAP),
        Keys("1"),  # on this number
        ExpectHangup(within=after + 10),
    ]
    result, call = await line.call(script, caller=line.client.phone)
    assert result.succeeded, result.output
    assert call.ivr_outcome == "callback"
    async with line.db.read() as session:
        request_id = await session.scalar(select(CallbackRequest.id))
        item_id = await session.scalar(
            select(FollowUp.id).where(FollowUp.callback_request_id == request_id)
        )
    assert item_id is not None  # the promise is a work item
    password = line.phone_secrets
    _headers, agent_id = await progressive_on(line, "agent01")
    with (
        line.runtime.events.subscribe(lambda e: e.topic == "call.offered") as pops,
        line.runtime.events.subscribe(lambda e: e.topic == "call.outbound_ended") as ends,
    ):
        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port,
                "1001",
                password=password,
                behaviour=Answer(after=0.5, hang_up_after=2.0),
            ) as phone,
        ):
            await log_in(line, "agent01")
            invite = await client.wait_invite(timeout=20)
            ring = await phone.wait_invite(timeout=20)
            pop = (await asyncio.wait_for(pops.get(), 5)).narrow(CallOffered)
            ended = await dial_ended(ends)
    # The caller's own number, called back from the hotline's; put through to agent01, the
    # pop first.
    assert (invite.dialled, invite.caller_id) == (line.client.phone, HOTLINE_NUMBER)
    assert pop is not None
    assert pop.payload.agent_id == agent_id
    assert pop.at.timestamp() < ring.at
    assert ended.outcome is DialOutcome.ANSWERED
    attempt = await applied(line, item_id)
    assert (attempt.interaction_id, attempt.mode) == (ended.interaction_id, "progressive")
