"""Runs of the service: the bus counts events from 1 again after every restart, so each run has
its own ``epoch``, in the ``hello`` and on every message, and a seq is named by (epoch, seq).
A desk that kept seeing the old run's numbers dropped the new run's pop and wrap-up as repeats
(issue 14); the desk's side is tests/browser/test_desk_restart.py."""

from __future__ import annotations

import pytest

from callcenter.persistence.db import Database
from tests.support.cti_desk import Desk, offered, open_desk, restarted
from tests.support.events import bus_event

pytestmark = pytest.mark.timeout(60)


def pad_to(desk: Desk, seq: int) -> None:
    """Publish events no socket of the test gets (agent_b's state) until the next event
    published has ``seq``."""
    assert desk.events.published < seq, "this run has gone past that seq already"
    while desk.events.published < seq - 1:
        desk.events.publish(bus_event("agent.state", agent_id=desk.ids["agent_b"], state="ready"))


async def test_a_restart_starts_a_new_epoch_in_the_hello_and_on_the_repeated_seqs(
    database_url: str, database: Database
) -> None:
    async with open_desk(database_url, database) as first:
        a_id = first.ids["agent_a"]
        pad_to(first, first.events.published + 10)  # the second run's start stays below it
        async with first.socket("agent_a") as a:
            hello_1 = await a.receive_type("hello")
            ready = first.events.publish(bus_event("agent.state", agent_id=a_id, state="ready"))
            seen_1 = await a.receive_type("agent.state")
        epoch_1 = first.hub.epoch
    async with restarted(first) as second:
        pad_to(second, ready.seq)
        async with second.socket("agent_a") as a:
            hello_2 = await a.receive_type("hello")
            wrap_up = second.events.publish(
                bus_event("agent.state", agent_id=a_id, state="wrap_up", origin="acd")
            )
            seen_2 = await a.receive_type("agent.state")
        epoch_2 = second.hub.epoch

    assert epoch_1 != epoch_2
    assert (hello_1["epoch"], hello_2["epoch"]) == (epoch_1, epoch_2)
    # The same number in both runs: only the epoch tells the wrap-up from the old "ready".
    assert wrap_up.seq == ready.seq
    assert [(m["epoch"], m["seq"], m["data"]["state"]) for m in (seen_1, seen_2)] == [
        (epoch_1, ready.seq, "ready"),
        (epoch_2, ready.seq, "wrap_up"),
    ]


async def test_a_desk_resuming_from_the_last_run_gets_this_runs_state_and_no_old_pop(
    database_url: str, database: Database
) -> None:
    async with open_desk(database_url, database) as first:
        a_id = first.ids["agent_a"]
        async with first.socket("agent_a") as a:
            await a.receive_type("hello")
            first.events.publish(offered(a_id, "before-restart"))
            pop = await a.receive_type("call.offered")
    async with restarted(first) as second:
        async with second.socket("agent_a") as a:
            await a.receive_type("hello")
            # What the desk had: the old run's epoch and the pop's seq.
            await a.send_json({"type": "resume", "epoch": pop["epoch"], "last_seq": pop["seq"]})
            across = await a.messages_until("resumed")
            await a.send_json({"type": "resume", "epoch": second.hub.epoch, "last_seq": 1})
            within = await a.receive_type("resumed")
        epoch_2 = second.hub.epoch

    assert pop["epoch"] != epoch_2
    # This run's picture, whole: the state as stored; the old run's pop is not sent again.
    assert [m["type"] for m in across] == ["agent.state", "resumed"]
    assert {m["epoch"] for m in across} == {epoch_2}
    assert across[0]["data"]["origin"] == "snapshot"
    # The old run's seq names nothing in this one: not echoed as a position in it.
    assert across[1]["data"]["client_last_seq"] is None
    assert across[1]["data"]["pops"] == 0
    assert within["data"]["client_last_seq"] == 1
