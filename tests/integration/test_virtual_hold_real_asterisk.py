"""Virtual hold on the real Asterisk (issue 18, point 2; docs/outbound.md): a caller who
waited their queue's longest is offered a callback by the demo flow's ``queue_full`` node,
books it keeping their place, and hangs up. A second caller queues after them. When agent01
goes ready, the first caller's kept place has its turn before the second caller: their number
is dialled on the trunk (a sipp "client" answers), showing the hotline's number, and their
answered call is put through to agent01's phone (1001), the pop first."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.events import CallOffered, CallPlaceKept, CallPlaceLeft, OutboundCallEnded
from callcenter.persistence.tables import Client, ClientPhone
from tests.integration.test_acd_real_asterisk import log_in, until
from tests.integration.test_outbound_trunk_real_asterisk import client_port
from tests.integration.test_progressive_real_asterisk import (
    HOTLINE_NUMBER,
    applied,
    dial_ended,
    start_line,
)
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import ExpectHangup, Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as
from tests.support.sip_client import SipClient

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(240)]

MAX_WAIT = 2.0  # the queue's longest wait before its overflow node offers the callback


async def a_peer_of_the_first_caller(line: Hotline) -> str:
    """The number of another known client of the same tier and value class as the first
    caller: identified, they go straight to the main menu, and their call has the same
    priority, so that only the place decides who goes first."""
    async with line.db.read() as session:
        first = await session.get(Client, line.client.id)
        assert first is not None
        number = await session.scalar(
            select(ClientPhone.e164)
            .join(Client, Client.id == ClientPhone.client_id)
            .where(
                Client.id != first.id,
                Client.tier == first.tier,
                Client.value_class == first.value_class,
                Client.closed_on.is_(None),
                ClientPhone.e164 != line.client.phone,
            )
            .order_by(ClientPhone.id)
            .limit(1)
        )
    assert number is not None
    return number


async def queue_settings(line: Hotline, **settings: Any) -> None:
    admin = await log_in_as(line.http, "admin")
    current = (await line.http.get("/api/queues/general", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update(settings)
    response = await line.http.put("/api/queues/general", json=body, headers=admin)
    assert response.status_code == 200, response.text

    def applied_now() -> bool:
        acd = line.runtime.acd
        config = None if acd is None else acd.queue_config("general")
        return config is not None and config.max_wait_seconds == body["max_wait_seconds"]

    await until(applied_now)


async def test_a_caller_who_books_a_callback_keeps_their_place_and_is_called_back_first(
    hotline_factory: Callable[..., Any],
) -> None:
    port = client_port()
    line = await start_line(hotline_factory, port)
    await queue_settings(line, max_wait_seconds=MAX_WAIT, overflow_node="queue_full")
    booked = line.play_seconds("busy_callback_booked", "zh")
    keeps_place = [
        Wait(1.0),
        Keys("1"),  # Mandarin
        Wait(GAP),
        Keys("0"),  # an agent: queued; nobody is ready
        Wait(MAX_WAIT + 2.5),  # the queue's overflow node: a call back, a message, or wait
        Keys("1"),  # a call back
        Wait(GAP),
        Keys("1"),  # on this number
        ExpectHangup(within=booked + 15),  # booked, goodbye: the service hangs up
    ]
    with (
        line.runtime.events.subscribe(lambda e: isinstance(e.payload, CallPlaceKept)) as kept,
        line.runtime.events.subscribe(lambda e: isinstance(e.payload, CallPlaceLeft)) as left,
        line.runtime.events.subscribe(lambda e: isinstance(e.payload, CallOffered)) as pops,
        line.runtime.events.subscribe(lambda e: isinstance(e.payload, OutboundCallEnded)) as ends,
    ):
        result, first_call = await line.call(keeps_place, caller=line.client.phone)
        assert result.succeeded, result.output
        assert first_call.ivr_outcome == "callback"
        place = (await asyncio.wait_for(kept.get(), 5)).narrow(CallPlaceKept)
        assert place is not None
        assert place.payload.call_id == first_call.call_id
        assert first_call.queued_at is not None
        # Their place is the one they queued in, not the moment they booked.
        assert abs((place.payload.waiting_since - first_call.queued_at).total_seconds()) < 1.0

        # A second caller queues after them, in a queue that no longer sends callers away.
        await queue_settings(line, max_wait_seconds=300.0, overflow_node=None)
        second = KeypadCaller(
            line.settings.sip_port,
            HOTLINE,
            [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(60.0), Hangup()],
            caller=await a_peer_of_the_first_caller(line),
            hold=70.0,
        )
        await second.start()
        acd = line.runtime.acd
        assert acd is not None
        await until(lambda: len(acd.live("general")) == 2, timeout=30)
        order = acd.live("general")
        assert order[0].priority == order[1].priority, "only the place tells them apart"
        assert order[0].call_id == first_call.call_id, "the kept place is first"
        assert acd.places.is_kept(first_call.call_id)
        # The wallboard counts the kept place as waiting, from when the caller first queued.
        assert line.runtime.floor is not None
        floor = line.runtime.floor.state

        def board_counts_both() -> bool:
            rows = floor.view(dt.datetime.now(dt.UTC))["queues"]
            return any(r["queue"] == "general" and r["waiting"] == 2 for r in rows)

        await until(board_counts_both, timeout=10)
        board = floor.view(dt.datetime.now(dt.UTC))
        [row] = [r for r in board["queues"] if r["queue"] == "general"]
        assert row["kept_places"] == 1
        kept_rows = [w for w in board["waiting"] if w["kept_place"]]
        assert [w["call_id"] for w in kept_rows] == [first_call.call_id]

        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port,
                "1001",
                password=line.phone_secrets,
                behaviour=Answer(after=0.5, hang_up_after=2.0),
            ) as phone,
        ):
            agent_id = await log_in(line, "agent01")  # ready: the kept place's turn
            invite = await client.wait_invite(timeout=20)
            ring = await phone.wait_invite(timeout=20)
            pop = (await asyncio.wait_for(pops.get(), 5)).narrow(CallOffered)
            ended = await dial_ended(ends)
            gone = (await asyncio.wait_for(left.get(), 10)).narrow(CallPlaceLeft)
        await second.kill()
    # The first caller's number, called back from the hotline's, before the second caller.
    assert (invite.dialled, invite.caller_id) == (line.client.phone, HOTLINE_NUMBER)
    assert pop is not None
    assert pop.payload.agent_id == agent_id
    assert pop.payload.client is not None
    assert pop.payload.client.client_id == line.client.id
    assert pop.at.timestamp() < ring.at, "the pop reached the desk before the phone rang"
    assert ring.from_user == line.client.phone
    assert ended.outcome is DialOutcome.ANSWERED
    assert gone is not None
    assert (gone.payload.call_id, gone.payload.agent_id, gone.payload.outcome) == (
        first_call.call_id,
        agent_id,
        "reached",
    )
    attempt = await applied(line, place.payload.item_id)
    assert (attempt.mode, attempt.interaction_id) == ("progressive", ended.interaction_id)
