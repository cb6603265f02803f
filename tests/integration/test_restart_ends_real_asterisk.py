"""A call that ends while the service is down ends, in its record, when its channel ended in
Asterisk (issue 16): the restart's adoption reads the hang-up from Asterisk's own record (CEL),
not the time it found the channel gone. On the real Asterisk: the service stops, the caller's
channel is hung up, seconds pass, the service starts again on the same database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.acd.model import AgentState
from callcenter.persistence.tables import Interaction
from tests.integration.test_acd_real_asterisk import (
    last_three_states,
    log_in,
    short_queue,
    to_an_agent,
    until,
)
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import HOTLINE, Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

DOWN_SECONDS = 4.0  # the service stays down this long after the hang-up
TOLERANCE = dt.timedelta(seconds=1)


async def newest_call(line: Hotline) -> Interaction:
    async with line.db.read() as session:
        row = await session.scalar(
            select(Interaction)
            .where(Interaction.call_id.is_not(None))
            .order_by(Interaction.id.desc())
            .limit(1)
        )
        assert row is not None
        session.expunge(row)
        return row


async def hang_up_in_asterisk(line: Hotline, uniqueid: str) -> tuple[dt.datetime, dt.datetime]:
    """Hang up the caller's channel from Asterisk's console (no service is there to do it);
    the times just before and just after."""
    listing = await asyncio.to_thread(line.asterisk.cli, "core show channels concise")
    # Channel!Context!Exten!Priority!State!App!Data!CallerID!...!BridgeID!Uniqueid
    names = [row.split("!")[0] for row in listing.splitlines() if row.endswith(f"!{uniqueid}")]
    assert len(names) == 1, listing
    before = dt.datetime.now(dt.UTC)
    await asyncio.to_thread(line.asterisk.cli, f"channel request hangup {names[0]}")
    return before, dt.datetime.now(dt.UTC)


async def test_a_bridged_call_hung_up_while_the_service_is_down_ends_at_the_hang_up(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    port = line.settings.sip_port
    password = line.phone_secrets
    async with AgentPhone(port, "1001", password=password, behaviour=Answer(0.3)) as phone:
        agent = await log_in(line, "agent01")
        caller = KeypadCaller(port, HOTLINE, to_an_agent(60.0), caller=line.client.phone)
        await caller.start()
        talk = await phone.wait_answered(timeout=20)
        await asyncio.sleep(1.5)
        open_call = await newest_call(line)
        assert open_call.answered_at is not None
        assert open_call.ended_at is None
        await line.stop()
        assert open_call.call_id is not None
        before, after = await hang_up_in_asterisk(line, open_call.call_id)
        await phone.wait_until(lambda: not talk.up, 10, "the agent's leg hung up")
        await caller.wait()
        await asyncio.sleep(DOWN_SECONDS)
        restarted_at = dt.datetime.now(dt.UTC)
        again: Hotline = await hotline_factory(restart=line)
        call = await again.ended_interaction()
        acd = again.runtime.acd
        assert acd is not None
        await until(lambda: acd.router.agent_state(agent) is AgentState.READY)

    assert call.id == open_call.id
    assert call.ended_at is not None
    assert before - TOLERANCE <= call.ended_at <= after + TOLERANCE
    assert restarted_at - call.ended_at > dt.timedelta(seconds=DOWN_SECONDS - 1)
    assert call.end_source == "asterisk"
    assert call.answered_at is not None
    assert call.talk_seconds == round((call.ended_at - call.answered_at).total_seconds())
    assert call.anomaly is None
    # The agent went on as after any call: wrap-up, then ready.
    assert await last_three_states(again, agent) == [
        ("on_call", None),
        ("wrap_up", None),
        ("ready", None),
    ]


async def test_a_queued_call_abandoned_while_the_service_is_down_ends_at_the_hang_up(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)  # no agent logged in: the caller waits
    demo_history = (await newest_call(line)).id  # the demo's calls are in the database too
    caller = KeypadCaller(
        line.settings.sip_port, HOTLINE, to_an_agent(60.0), caller=line.client.phone
    )
    await caller.start()

    async def queued() -> Interaction:
        while True:
            call = await newest_call(line)
            if call.id > demo_history and call.queued_at is not None:
                return call
            await asyncio.sleep(0.1)

    open_call = await asyncio.wait_for(queued(), 20)
    await asyncio.sleep(1.0)
    await line.stop()
    assert open_call.call_id is not None
    before, after = await hang_up_in_asterisk(line, open_call.call_id)
    await caller.wait()
    await asyncio.sleep(DOWN_SECONDS)
    restarted_at = dt.datetime.now(dt.UTC)
    again: Hotline = await hotline_factory(restart=line)
    call = await again.ended_interaction()

    assert call.id == open_call.id
    assert call.ended_at is not None
    assert before - TOLERANCE <= call.ended_at <= after + TOLERANCE
    assert restarted_at - call.ended_at > dt.timedelta(seconds=DOWN_SECONDS - 1)
    assert call.end_source == "asterisk"
    assert call.answered_at is None
    assert call.queued_at is not None
    # The caller's wait is up to their hang-up, not to the restart.
    assert call.wait_seconds == round((call.ended_at - call.queued_at).total_seconds())
