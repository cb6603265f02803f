"""Screen pops over the websocket: bare first, then the client summary once audited; re-sent
on resume while still ringing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.persistence import screen_pop
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry
from tests.support.crm_data import add_client, add_interaction
from tests.support.cti_desk import Desk, offered, open_desk
from tests.support.events import bus_event


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


@dataclass(frozen=True)
class Audit:
    actor_id: int | None
    client_id: int | None
    interaction_id: int | None
    detail: dict[str, Any]


async def pop_audits(db: Database) -> list[Audit]:
    async with db.read() as session:
        rows = await session.execute(
            select(
                AuditEntry.actor_id,
                AuditEntry.client_id,
                AuditEntry.interaction_id,
                AuditEntry.detail,
            )
            .where(AuditEntry.action == "pop.viewed")
            .order_by(AuditEntry.id)
        )
        return [Audit(*row) for row in rows]


async def a_call(desk: Desk) -> tuple[int, int]:
    """A client (whose advisor is the desk's advisor) and their interaction."""
    client_id = await add_client(desk.db, desk.branch_id, advisor_id=desk.ids["advisor"])
    return client_id, await add_interaction(desk.db, client_id, uniqueid="1741.1")


async def test_the_pop_goes_out_bare_then_with_the_client_summary_once_audited(
    desk: Desk,
) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        event = desk.events.publish(
            offered(a_id, "1741.1", interaction_id=interaction_id, client_id=client_id)
        )
        pop = await a.receive_json()
        summary = await a.receive_json()
        audits = await pop_audits(desk.db)
    assert pop["type"] == "call.offered"
    assert pop["seq"] == event.seq
    assert pop["data"]["caller_number"] == "+8613800138000"
    assert pop["data"]["ivr_path"] == ["welcome", "menu", "agent"]
    assert "张伟" not in str(pop)  # nothing of the record before its audit entry
    assert summary["type"] == "call.client"
    assert summary["seq"] == event.seq
    assert summary["data"]["call_id"] == "1741.1"
    assert summary["data"]["client"] == {
        "client_id": client_id,
        "name": "张伟",
        "name_latin": "Zhang Wei",
        "tier": "gold",
        "value_class": "core_volume",
        "risk_profile": "balanced",
        "advisor_name": "Advisor",
    }
    # Already stored when the summary arrived: the summary is sent after the audit commits.
    assert [(r.actor_id, r.client_id, r.interaction_id) for r in audits] == [
        (a_id, client_id, interaction_id)
    ]
    assert audits[0].detail["call_id"] == "1741.1"
    assert audits[0].detail["resumed"] is False


async def test_every_screen_that_shows_the_pop_is_audited(desk: Desk) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    async with (
        desk.socket("agent_a") as tab1,
        desk.socket("agent_a") as tab2,
        desk.socket("supervisor") as sup,
    ):
        for socket in (tab1, tab2, sup):
            await socket.receive_type("hello")
        desk.events.publish(
            offered(a_id, "1741.1", interaction_id=interaction_id, client_id=client_id)
        )
        for tab in (tab1, tab2):
            assert (await tab.receive_type("call.client"))["data"]["client"]["name"] == "张伟"
        floor = desk.app.state.runtime.floor
        floor.tick()  # the wallboard's snapshot: what a supervisor gets after the pop
        seen_by_supervisor = await sup.messages_until("floor.snapshot")
        audits = await pop_audits(desk.db)
    assert [m["type"] for m in seen_by_supervisor] == ["floor.snapshot"]
    assert [r.actor_id for r in audits] == [a_id, a_id]
    assert len({r.detail["connection"] for r in audits}) == 2


async def test_a_pop_for_an_unknown_caller_is_audited_and_says_no_client(desk: Desk) -> None:
    interaction_id = await add_interaction(desk.db, None, uniqueid="1741.9")
    a_id = desk.ids["agent_a"]
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        desk.events.publish(offered(a_id, "1741.9", interaction_id=interaction_id))
        summary = await a.receive_type("call.client")
        audits = await pop_audits(desk.db)
    assert summary["data"]["client"] is None
    assert [(r.actor_id, r.client_id, r.interaction_id) for r in audits] == [
        (a_id, None, interaction_id)
    ]


async def test_no_summary_leaves_when_its_audit_cannot_be_written(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    tried = asyncio.Event()

    async def failing_audit(*args: Any, **kwargs: Any) -> None:
        tried.set()
        raise OSError("the database went away")

    monkeypatch.setattr(screen_pop, "record_audit", failing_audit)
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        desk.events.publish(
            offered(a_id, "1741.1", interaction_id=interaction_id, client_id=client_id)
        )
        assert (await a.receive_json())["type"] == "call.offered"
        await asyncio.wait_for(tried.wait(), 10)
        desk.events.publish(bus_event("agent.state", agent_id=a_id, state="on_call"))
        after = await a.receive_json()
    assert after["type"] == "agent.state"  # the summary never came


async def test_resume_resends_a_pop_still_ringing_but_not_an_answered_one(desk: Desk) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    answered = desk.events.publish(offered(a_id, "answered-call"))
    desk.events.publish(bus_event("call.answered", agent_id=a_id, call_id="answered-call"))
    ringing = desk.events.publish(
        offered(a_id, "1741.1", interaction_id=interaction_id, client_id=client_id)
    )
    async with desk.socket("agent_a") as a:
        hello = await a.receive_type("hello")
        await a.send_json({"type": "resume", "last_seq": answered.seq - 1})
        seen = await a.messages_until("resumed")
        if "call.client" not in [m["type"] for m in seen]:
            seen.append(await a.receive_type("call.client"))
    assert hello["data"]["last_seq"] >= ringing.seq
    by_type = {m["type"]: m for m in seen}
    assert by_type["agent.state"]["seq"] is None
    assert by_type["agent.state"]["data"]["origin"] == "snapshot"
    assert by_type["agent.state"]["data"]["state"] == "logged_out"
    assert by_type["call.offered"]["seq"] == ringing.seq  # as first published
    assert by_type["call.offered"]["data"]["call_id"] == "1741.1"
    assert by_type["call.client"]["data"]["client"]["name"] == "张伟"
    assert by_type["resumed"]["data"]["pops"] == 1
    assert [m["data"].get("call_id") for m in seen if m["type"] == "call.offered"] == ["1741.1"]
    audits = await pop_audits(desk.db)
    assert [r.detail["resumed"] for r in audits] == [True]


async def test_a_reconnected_agent_sees_the_pop_again_and_each_showing_is_audited(
    desk: Desk,
) -> None:
    client_id, interaction_id = await a_call(desk)
    a_id = desk.ids["agent_a"]
    async with desk.socket("agent_a") as first:
        await first.receive_type("hello")
        desk.events.publish(
            offered(a_id, "1741.1", interaction_id=interaction_id, client_id=client_id)
        )
        await first.receive_type("call.client")
    async with desk.socket("agent_a") as again:
        await again.receive_type("hello")
        await again.send_json({"type": "resume"})
        await again.receive_type("call.offered")
        summary = await again.receive_type("call.client")
    assert summary["data"]["client"]["client_id"] == client_id
    assert [r.detail["resumed"] for r in await pop_audits(desk.db)] == [False, True]


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
