"""The wallboard is pushed (issue 20, point 3), over the real websocket: a supervisor's open
connection receives a ``floor.snapshot`` showing an agent's state change, with the quiet
refresh set to an hour, so that no timer can have sent it. Asserted by order: each change
is published once the socket is open, and the next snapshot that shows it is read."""

from __future__ import annotations

from typing import Any

from callcenter.persistence.db import Database
from tests.support.asgi_ws import AsgiWebSocket
from tests.support.cti_desk import open_desk
from tests.support.events import bus_event


async def until_agent_is(socket: AsgiWebSocket, agent_id: int, state: str) -> dict[str, Any]:
    """Read on to the first snapshot showing ``agent_id`` in ``state``; every message on the
    way must be a snapshot (a manager's socket gets no raw floor event)."""
    while True:
        message = await socket.receive_json()
        assert message["type"] == "floor.snapshot", message["type"]
        agents = {a["agent_id"]: a["state"] for a in message["data"]["agents"]}
        if agents.get(agent_id) == state:
            return message


async def test_an_agents_state_change_reaches_an_open_wallboard_without_a_timer(
    database_url: str, database: Database
) -> None:
    async with open_desk(
        database_url,
        database,
        ws_floor_refresh_seconds=3600.0,  # no quiet refresh within the test
        ws_floor_snapshot_seconds=0.05,  # the gap between two snapshots
        ws_floor_batch_seconds=0.01,
    ) as desk:
        a_id = desk.ids["agent_a"]
        async with desk.socket("supervisor") as board:
            await board.receive_type("hello")
            desk.events.publish(bus_event("agent.state", agent_id=a_id, state="ready"))
            ready = await until_agent_is(board, a_id, "ready")
            # A second change, after the first was on the screen: pushed again.
            desk.events.publish(
                bus_event("agent.state", agent_id=a_id, state="not_ready", reason="break")
            )
            not_ready = await until_agent_is(board, a_id, "not_ready")

    assert not_ready["seq"] > ready["seq"]
    assert [a["reason"] for a in not_ready["data"]["agents"]] == ["break"]
