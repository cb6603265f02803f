"""Screen pops over the websocket: one message, the client summary in it, to the agent's desks
alone; sent again on resume while still ringing, from the hub's memory. The hub reads no
client record and writes no audit entry: the ACD read the summary when the call joined its
queue and audited the pop with the agent's reservation (tests/db/test_screen_pop_store.py,
tests/unit/test_acd_service.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry
from tests.support.crm_data import add_client, add_interaction
from tests.support.cti_desk import Desk, offered, open_desk
from tests.support.events import bus_event


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


async def audit_entries(db: Database) -> int:
    async with db.read() as session:
        count = await session.scalar(select(func.count()).select_from(AuditEntry))
    return count or 0


async def a_call(desk: Desk) -> tuple[int, int]:
    """A client (whose advisor is the desk's advisor) and their interaction."""
    client_id = await add_client(desk.db, desk.branch_id, advisor_id=desk.ids["advisor"])
    return client_id, await add_interaction(desk.db, client_id, call_id="1741.1")


async def test_the_pop_goes_out_in_one_message_with_the_client_summary(desk: Desk) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    client = await desk.summary(client_id)
    audits_before = await audit_entries(desk.db)
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        event = desk.events.publish(
            offered(a_id, "1741.1", interaction_id=interaction_id, client=client)
        )
        pop = await a.receive_json()
        desk.events.publish(bus_event("agent.state", agent_id=a_id, state="reserved"))
        after = await a.receive_json()
    assert pop["type"] == "call.offered"
    assert pop["seq"] == event.seq
    assert pop["data"]["caller_number"] == "+8613800138000"
    assert pop["data"]["ivr_path"] == ["welcome", "menu", "agent"]
    assert pop["data"]["client"] == {
        "client_id": client_id,
        "name": "张伟",
        "name_latin": "Zhang Wei",
        "tier": "gold",
        "value_class": "core_volume",
        "risk_profile": "balanced",
        "advisor_name": "Advisor",
    }
    assert after["type"] == "agent.state"  # no second message completes the pop
    # The pop's audit entry is the reservation's, written before the pop was published;
    # delivering it writes nothing.
    assert await audit_entries(desk.db) == audits_before


async def test_every_tab_of_the_agent_shows_the_pop_and_no_one_else_gets_it(desk: Desk) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    client = await desk.summary(client_id)
    async with (
        desk.socket("agent_a") as tab1,
        desk.socket("agent_a") as tab2,
        desk.socket("agent_b") as other,
        desk.socket("supervisor") as sup,
    ):
        for socket in (tab1, tab2, other, sup):
            await socket.receive_type("hello")
        desk.events.publish(offered(a_id, "1741.1", interaction_id=interaction_id, client=client))
        for tab in (tab1, tab2):
            assert (await tab.receive_type("call.offered"))["data"]["client"]["name"] == "张伟"
        floor = desk.app.state.runtime.floor
        floor.publish()  # the wallboard's snapshot: what a supervisor gets after the pop
        seen_by_supervisor = await sup.messages_until("floor.snapshot")
        desk.events.publish(bus_event("agent.state", agent_id=desk.ids["agent_b"], state="ready"))
        seen_by_other = await other.messages_until("agent.state")
    assert [m["type"] for m in seen_by_supervisor] == ["floor.snapshot"]
    assert [m["type"] for m in seen_by_other] == ["agent.state"]


async def test_a_pop_for_an_unknown_caller_says_no_client(desk: Desk) -> None:
    interaction_id = await add_interaction(desk.db, None, call_id="1741.9")
    a_id = desk.ids["agent_a"]
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        desk.events.publish(offered(a_id, "1741.9", interaction_id=interaction_id))
        pop = await a.receive_type("call.offered")
    assert pop["data"]["client"] is None
    assert pop["data"]["authenticated"] is False


async def test_resume_resends_a_pop_still_ringing_but_not_an_answered_one(desk: Desk) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    client = await desk.summary(client_id)
    answered = desk.events.publish(offered(a_id, "answered-call"))
    desk.events.publish(bus_event("call.answered", agent_id=a_id, call_id="answered-call"))
    ringing = desk.events.publish(
        offered(a_id, "1741.1", interaction_id=interaction_id, client=client)
    )
    async with desk.socket("agent_a") as a:
        hello = await a.receive_type("hello")
        await a.send_json({"type": "resume", "last_seq": answered.seq - 1})
        seen = await a.messages_until("resumed")
    assert hello["data"]["last_seq"] >= ringing.seq
    by_type = {m["type"]: m for m in seen}
    assert by_type["agent.state"]["seq"] is None
    assert by_type["agent.state"]["data"]["origin"] == "snapshot"
    assert by_type["agent.state"]["data"]["state"] == "logged_out"
    assert by_type["call.offered"]["seq"] == ringing.seq  # as first published
    assert by_type["call.offered"]["data"]["call_id"] == "1741.1"
    assert by_type["call.offered"]["data"]["client"]["name"] == "张伟"
    assert by_type["resumed"]["data"]["pops"] == 1
    assert [m["data"].get("call_id") for m in seen if m["type"] == "call.offered"] == ["1741.1"]


async def test_a_reconnected_agent_sees_the_pop_again_from_memory_not_audited_again(
    desk: Desk,
) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    client = await desk.summary(client_id)
    audits_before = await audit_entries(desk.db)
    async with desk.socket("agent_a") as first:
        await first.receive_type("hello")
        desk.events.publish(offered(a_id, "1741.1", interaction_id=interaction_id, client=client))
        shown = await first.receive_type("call.offered")
    async with desk.socket("agent_a") as again:
        await again.receive_type("hello")
        await again.send_json({"type": "resume"})
        resent = await again.receive_type("call.offered")
    assert resent == shown  # the same message: same seq, same summary
    assert resent["data"]["client"]["client_id"] == client_id
    # The same pop of the same offer to the same agent: nothing more disclosed, nothing more
    # written (docs/events.md, "Resume is not audited again").
    assert await audit_entries(desk.db) == audits_before


async def test_a_pop_is_no_longer_pending_once_the_agent_leaves_ringing(desk: Desk) -> None:
    a_id = desk.ids["agent_a"]
    desk.events.publish(bus_event("agent.state", agent_id=a_id, state="reserved"))
    desk.events.publish(offered(a_id, "c1"))
    desk.events.publish(
        bus_event("agent.state", agent_id=a_id, state="not_ready", reason="missed", origin="acd")
    )
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        await a.send_json({"type": "resume", "last_seq": 0})
        resumed = await a.receive_type("resumed")
    assert resumed["data"]["pops"] == 0
