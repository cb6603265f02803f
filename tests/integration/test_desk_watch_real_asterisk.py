"""No "ready" without a desk, with the real service on the sandbox Asterisk (issue 19, point
3; callcenter/cti/desk_watch.py): agent01's phone is registered and their desk is open on the
CTI websocket; they go ready. Closing the desk takes them out of ready once the grace has run
out (not ready, reason ``desk_closed``); a desk closed and opened again within the grace (a
reload) leaves them ready."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_acd_real_asterisk import log_in, states_of, until
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.asgi_ws import AsgiWebSocket
from tests.support.hotline import Hotline
from tests.support.logins import log_in as log_in_as

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]

GRACE = 1.0


async def desk(line: Hotline, username: str) -> AsgiWebSocket:
    token = (await log_in_as(line.http, username))["Authorization"].removeprefix("Bearer ")
    return AsgiWebSocket(
        line.app,  # type: ignore[arg-type]
        headers=[("host", "test")],
        subprotocols=["cti.v1", f"bearer.{token}"],
    )


async def test_closing_the_desk_takes_the_ready_agent_out_and_a_reload_does_not(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory(agent_desk_grace_seconds=GRACE)
    async with AgentPhone(
        line.settings.sip_port, "1001", password=line.phone_secrets, behaviour=Answer(after=0.5)
    ):
        phones = line.runtime.phones
        assert phones is not None
        await until(lambda: phones.registered_now("1001") is True)
        async with await desk(line, "agent01") as first:
            assert first.accepted
            agent_id = await log_in(line, "agent01")
            assert (await states_of(line, agent_id))[-1][0] == "ready"
        # A reload: the page closed and opened again at once.
        async with await desk(line, "agent01") as again:
            assert again.accepted
            await asyncio.sleep(GRACE * 2)
            assert (await states_of(line, agent_id))[-1] == ("ready", None), "reloaded in time"
        # Closed for good: out of ready once the grace has run out.
        before = await states_of(line, agent_id)

        async def taken_out() -> None:
            while (await states_of(line, agent_id))[-1] != ("not_ready", "desk_closed"):  # noqa: ASYNC110 - polls the database, bounded by the timeout
                await asyncio.sleep(0.1)

        await asyncio.wait_for(taken_out(), GRACE + 5)
        assert (await states_of(line, agent_id))[: len(before)] == before
