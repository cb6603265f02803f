# ruff: noqa: RUF001
"""Queues past their longest wait, closed queues and announcements, on real calls.

The demo's general queue sends callers back to the hotline flow's ``queue_full`` menu (a call
back, a message, or keep waiting) and tells them their place; trading support overflows into
general. The tests shorten the waits through the API, as an administrator would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import urllib.parse
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.events import CallOverflowed, Envelope, Event
from callcenter.ivr.sounds import INDEX_NAME, SoundIndex
from callcenter.persistence.tables import CallbackRequest
from tests.integration.test_acd_real_asterisk import log_in, short_queue
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import ExpectHangup, Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def overflowed(event: Envelope[Event]) -> CallOverflowed:
    moved = event.narrow(CallOverflowed)
    assert moved is not None
    return moved.payload


def _path(call: Any) -> list[str]:
    return list(call.ivr_path or [])


async def test_a_caller_past_the_longest_wait_overflows_into_the_next_queue(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    await short_queue(line, "trading_support", max_wait_seconds=2)  # then into general
    password = line.phone_secrets
    with line.runtime.events.subscribe(lambda e: e.topic == "call.overflowed") as overflows:
        # agent07 serves general only: the caller waits in trading support until it overflows.
        async with AgentPhone(
            line.settings.sip_port, "1007", password=password, behaviour=Answer(0.3, 1.5)
        ) as phone:
            agent = await log_in(line, "agent07")
            script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("3"), Wait(10.0), Hangup()]
            caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
            await caller.start()
            await phone.wait_answered(timeout=20)
            moved = overflowed(await asyncio.wait_for(overflows.get(), 5))
            result = await caller.wait()
            call = await line.ended_interaction()
    assert result.succeeded, result.output
    assert moved.queue == "trading_support"
    assert moved.to_queue == "general"
    assert moved.reason == "max_wait"
    assert call.queue == "general"
    assert call.agent_id == agent
    assert "overflow:trading_support=general" in _path(call)
    assert call.queued_at is not None
    assert call.answered_at is not None
    assert (call.answered_at - call.queued_at).total_seconds() >= 2  # not before the longest wait


async def test_a_caller_past_the_longest_wait_books_a_callback_from_the_overflow_menu(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line, max_wait_seconds=2, announce_position=False)
    booked = line.play_seconds("busy_callback_booked", "zh")
    script = [
        Wait(1.0),
        Keys("1"),
        Wait(GAP),
        Keys("0"),  # an agent: none is logged in
        Wait(2.0 + 2.5),  # the longest wait, then the queue_full menu is playing
        Keys("1"),  # a call back
        Wait(GAP),
        Keys("1"),  # on this number
        ExpectHangup(within=booked + 15),
    ]
    result, call = await line.call(script, caller=line.client.phone)
    assert result.succeeded, result.output
    path = _path(call)
    assert call.ivr_outcome == "callback"
    assert "overflow:general=max_wait" in path
    after = path[path.index("overflow:general=max_wait") + 1 :]
    assert after[:2] == ["queue_full=1", "busy_callback=confirmed"]
    assert path[-1] == "hang_up"
    assert call.queue == "general"
    assert call.answered_at is None
    async with line.db.read() as session:
        [request] = (await session.scalars(select(CallbackRequest))).all()
        booked_for = (request.number, request.client_id, request.interaction_id)
    assert booked_for == (line.client.phone, line.client.id, call.id)


async def test_a_closed_queue_sends_its_callers_on_at_once(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    today = dt.datetime.now(SHANGHAI).isoweekday()
    other_days = [day for day in range(1, 8) if day != today]
    await short_queue(
        line,
        announce_position=False,
        hours={"opens": "00:00", "closes": "23:59", "weekdays": other_days},  # type: ignore[arg-type]
    )
    with line.runtime.events.subscribe(lambda e: e.topic == "call.overflowed") as overflows:
        script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(3.0), Hangup()]
        result, call = await line.call(script, caller=line.client.phone)
        moved = overflowed(await asyncio.wait_for(overflows.get(), 5))
    assert result.succeeded, result.output
    assert moved.reason == "closed"
    assert moved.action == "ivr"
    path = _path(call)
    assert path[path.index("overflow:general=closed") + 1].startswith("queue_full")
    assert call.ivr_outcome == "abandoned_in_ivr"  # hung up in the menu


async def test_a_waiting_caller_hears_their_place_until_an_agent_is_free(
    hotline_factory: Callable[..., Any],
) -> None:
    """The announcement on joining says "you are next"; an agent going ready stops it at
    once (ControlPlayback), so the agent does not wait for the end of a sentence."""
    line: Hotline = await hotline_factory()
    await short_queue(line, announce_position=True)
    index = SoundIndex.load(line.asterisk.prompts_dir / INDEX_NAME, str(line.asterisk.prompts_dir))
    next_file = index.sound_for("您是下一位，请稍候。", "zh")
    with wave.open(next_file + ".wav") as audio:
        full_length = audio.getnframes()
    file_name = Path(next_file).name  # Asterisk sees it under the sandbox root
    password = line.phone_secrets
    ends: list[str] = []
    with line.runtime.ami.subscribe({"agiexecstart", "asyncagiexec"}) as agi_events:
        async with AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3, 1.0)
        ) as phone:
            script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(12.0), Hangup()]
            caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
            await caller.start()
            channel = ""
            while not channel:  # the announcement starts: now an agent goes ready
                message = await asyncio.wait_for(agi_events.get(), 20)
                command = message.get("Command") or ""
                if message.name.lower() == "agiexecstart" and file_name in command:
                    channel = message.get("Channel") or ""
            await log_in(line, "agent01")
            while not ends:  # commands run one at a time: the next result on it is this one's
                message = await asyncio.wait_for(agi_events.get(), 20)
                if message.name.lower() == "asyncagiexec" and message.get("Channel") == channel:
                    ends.append(urllib.parse.unquote(message.get("Result") or ""))
            await phone.wait_answered(timeout=20)
            result = await caller.wait()
    assert result.succeeded, result.output
    endpos = re.search(r"endpos=(\d+)", ends[0])
    assert endpos is not None, ends[0]
    assert int(endpos.group(1)) < full_length / 2, (endpos.group(1), full_length)
