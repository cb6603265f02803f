"""The ACD on real calls: a sipp caller goes through the IVR into a queue, the service dials a
registered agent phone (tests/support/agent_phone.py) from the caller's Async AGI session.

Agents log in and go ready through the API, as the desktop will; queue settings are made short
(ring and wrap-up seconds) through the API too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import Tier
from callcenter.events import CallOffered, Envelope, Event
from callcenter.persistence.tables import AgentStateChange, Client, ClientPhone, Interaction, User
from tests.support.agent_phone import AgentPhone, Answer, NeverAnswer
from tests.support.ami import next_event
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Step, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


def to_an_agent(then: float) -> list[Step]:
    """Mandarin, then 0 (an agent) in the main menu; then stay ``then`` seconds."""
    return [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(then), Hangup()]


async def short_queue(line: Hotline, name: str = "general", **settings: float) -> None:
    admin = await log_in_as(line.http, "admin")
    current = (await line.http.get(f"/api/queues/{name}", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update({"ring_seconds": 3, "wrap_up_seconds": 1, **settings})
    response = await line.http.put(f"/api/queues/{name}", json=body, headers=admin)
    assert response.status_code == 200, response.text
    await until(lambda: line.runtime.acd is not None and _ring(line, name) == body["ring_seconds"])


def _ring(line: Hotline, name: str) -> float | None:
    assert line.runtime.acd is not None
    config = line.runtime.acd.queue_config(name)
    return None if config is None else config.ring_seconds


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - polls a condition, bounded by the timeout
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def log_in(line: Hotline, username: str) -> int:
    headers = await log_in_as(line.http, username)
    response = await line.http.post("/api/agents/me/login", headers=headers)
    assert response.status_code == 200, response.text
    agent_id: int = response.json()["agent_id"]
    acd = line.runtime.acd
    assert acd is not None
    await until(lambda: acd.serves(agent_id))
    return agent_id


async def states_of(line: Hotline, agent_id: int) -> list[tuple[str, str | None]]:
    async with line.db.read() as session:
        rows = await session.scalars(
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            .order_by(AgentStateChange.id)
        )
        return [(row.to_state, row.reason) for row in rows]


async def test_a_queued_caller_reaches_the_ready_agent_who_then_wraps_up(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    offered: list[Envelope[Event]] = []
    with line.runtime.events.subscribe(lambda e: e.topic == "call.offered") as pops:
        async with AgentPhone(
            line.settings.sip_port,
            "1001",
            password=line.phone_secrets,
            behaviour=Answer(after=0.5, hang_up_after=2.0),
        ) as phone:
            agent = await log_in(line, "agent01")
            caller = KeypadCaller(
                line.settings.sip_port, HOTLINE, to_an_agent(8.0), caller=line.client.phone
            )
            await caller.start()
            invite = await phone.wait_invite(timeout=20)
            offered.append(await asyncio.wait_for(pops.get(), 5))
            result = await caller.wait()
            call = await line.ended_interaction()
            await until(lambda: line.runtime.acd.router.agent_state(agent) is AgentState.READY)  # type: ignore[union-attr]

    assert result.succeeded, result.output
    # The pop event went out before the agent's phone saw the INVITE.
    pop = offered[0].narrow(CallOffered)
    assert pop is not None
    assert pop.payload.agent_id == agent
    assert pop.payload.client is not None  # the summary travels in the pop
    assert pop.payload.client.client_id == line.client.id
    assert pop.at.timestamp() < invite.at
    assert invite.from_user == line.client.phone
    assert invite.from_display  # the client's name
    assert call.agent_id == agent
    assert call.queue == "general"
    assert call.queued_at is not None
    assert call.offered_at is not None
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert call.queued_at <= call.offered_at <= call.answered_at <= call.ended_at
    assert (await states_of(line, agent))[-4:] == [
        ("reserved", None),
        ("on_call", None),
        ("wrap_up", None),
        ("ready", None),
    ]
    async with line.db.read() as session:
        wrapped = await session.scalar(
            select(Interaction.wrapup_ended_at).where(Interaction.id == call.id)
        )
    assert wrapped is not None


async def test_ring_no_answer_makes_the_agent_not_ready_and_the_next_agent_answers(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line, ring_seconds=2)
    password = line.phone_secrets
    port = line.settings.sip_port
    async with (
        AgentPhone(port, "1001", password=password, behaviour=NeverAnswer()) as deaf,
        AgentPhone(port, "1002", password=password, behaviour=Answer(0.3, 1.5)) as good,
    ):
        first = await log_in(line, "agent01")  # the longest idle: offered first
        second = await log_in(line, "agent02")
        caller = KeypadCaller(port, HOTLINE, to_an_agent(10.0), caller=line.client.phone)
        await caller.start()
        await good.wait_answered(timeout=25)
        result = await caller.wait()
        call = await line.ended_interaction()

    assert result.succeeded, result.output
    assert len(deaf.invites) == 1
    assert deaf.calls[0].cancelled
    assert call.agent_id == second
    assert (await states_of(line, first))[-2:] == [("reserved", None), ("not_ready", "missed")]
    assert line.runtime.acd is not None
    assert line.runtime.acd.router.agent_state(first) is AgentState.NOT_READY


async def test_a_caller_who_hangs_up_in_the_queue_is_an_abandon_with_its_wait(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    caller = KeypadCaller(
        line.settings.sip_port, HOTLINE, to_an_agent(4.0), caller=line.client.phone
    )
    await caller.start()
    result = await caller.wait()
    call = await line.ended_interaction()
    assert result.succeeded, result.output
    assert call.queued_at is not None
    assert call.offered_at is None
    assert call.answered_at is None
    assert call.ended_at is not None
    assert call.wait_seconds is not None
    assert 3 <= call.wait_seconds <= 6
    assert line.runtime.acd is not None
    assert line.runtime.acd.live("general") == []


async def test_a_vip_caller_reaches_their_own_advisor_before_a_longer_idle_agent(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    async with line.db.write() as session:
        client = await session.get(Client, line.client.id)
        assert client is not None
        advisor = await session.scalar(
            select(User).where(User.role == "advisor").order_by(User.id).limit(1)
        )
        assert advisor is not None
        client.tier, client.advisor_id = Tier.VIP, advisor.id
        advisor_name, advisor_id, extension = advisor.username, advisor.id, advisor.extension
    assert extension in line.settings.advisor_extensions  # the demo advisor's own phone
    password = line.phone_secrets
    port = line.settings.sip_port
    async with (
        AgentPhone(port, "1001", password=password, behaviour=Answer(0.3, 1.0)) as agent_phone,
        AgentPhone(port, extension, password=password, behaviour=Answer(0.3, 1.0)) as own,
    ):
        await log_in(line, "agent01")  # longest idle
        assert await log_in(line, advisor_name) == advisor_id
        caller = KeypadCaller(port, HOTLINE, to_an_agent(6.0), caller=line.client.phone)
        await caller.start()
        await own.wait_answered(timeout=20)
        result = await caller.wait()
        call = await line.ended_interaction()

    assert result.succeeded, result.output
    assert agent_phone.invites == []
    assert call.agent_id == advisor_id


async def other_clients(line: Hotline, count: int) -> list[tuple[int, str]]:
    """Open demo clients besides ``line.client``, each with a number no one else has."""
    async with line.db.read() as session:
        rows = (
            await session.execute(
                select(Client.id, ClientPhone.e164)
                .join(ClientPhone, ClientPhone.client_id == Client.id)
                .where(Client.closed_on.is_(None), Client.id != line.client.id)
                .order_by(Client.id)
            )
        ).all()
    by_phone: dict[str, list[int]] = {}
    for client_id, phone in rows:
        by_phone.setdefault(phone, []).append(client_id)
    chosen: dict[int, str] = {}
    for phone, ids in by_phone.items():
        if len(ids) == 1:
            chosen.setdefault(ids[0], phone)  # a client may have several numbers: one each
    return list(chosen.items())[:count]


async def test_one_agent_serves_waiting_callers_by_priority_then_waiting_time(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    (first, first_phone), (later, later_phone), (vip, vip_phone) = await other_clients(line, 3)
    async with line.db.write() as session:
        await session.execute(
            update(Client)
            .where(Client.id.in_([first, later]))
            .values(tier=Tier.STANDARD, value_class="ordinary", advisor_id=None)
        )
        await session.execute(
            update(Client).where(Client.id == vip).values(tier=Tier.VIP, advisor_id=None)
        )
    agent_headers = await log_in_as(line.http, "agent01")
    port = line.settings.sip_port
    password = line.phone_secrets
    async with AgentPhone(port, "1001", password=password, behaviour=Answer(0.3, 1.0)) as phone:
        await log_in(line, "agent01")
        busy = {"state": "not_ready", "reason": "break"}
        response = await line.http.post("/api/agents/me/state", json=busy, headers=agent_headers)
        assert response.status_code == 200, response.text
        callers = []
        for number in (first_phone, later_phone, vip_phone):  # the VIP calls last
            caller = KeypadCaller(port, HOTLINE, to_an_agent(25.0), caller=number)
            await caller.start()
            callers.append(caller)
            await asyncio.sleep(1.0)
        await until(lambda: len(line.runtime.acd.live("general")) == 3, timeout=15)  # type: ignore[union-attr]
        admin = await log_in_as(line.http, "admin")
        live = (await line.http.get("/api/queues/general/live", headers=admin)).json()
        ready = {"state": "ready"}
        response = await line.http.post("/api/agents/me/state", json=ready, headers=agent_headers)
        assert response.status_code == 200, response.text
        await phone.wait_until(lambda: len(phone.answered) == 3, 30, "three answered calls")
        results = [await caller.wait() for caller in callers]  # each ends with its call

    assert all(result.succeeded for result in results), [r.output for r in results]
    assert [call["client_id"] for call in live["waiting"]] == [vip, first, later]
    assert live["waiting"][0]["priority"] > live["waiting"][1]["priority"]
    assert [invite.from_user for invite in phone.invites] == [vip_phone, first_phone, later_phone]


# An agent's last three states after an answered call: on the call, wrap-up, ready again.
WHOLE_CALL = [("on_call", None), ("wrap_up", None), ("ready", None)]


async def last_three_states(line: Hotline, agent_id: int) -> list[tuple[str, str | None]]:
    return (await states_of(line, agent_id))[-3:]


@dataclass
class Restarted:
    """A bridged call the service was restarted under: the new service, the agent's phone
    and its conversation, the caller."""

    again: Hotline
    agent: int
    phone: AgentPhone
    talk: Any
    caller: KeypadCaller


@asynccontextmanager
async def restarted_mid_call(hotline_factory: Callable[..., Any]) -> AsyncIterator[Restarted]:
    line: Hotline = await hotline_factory()
    await short_queue(line)
    port = line.settings.sip_port
    password = line.phone_secrets
    async with AgentPhone(port, "1001", password=password, behaviour=Answer(0.3)) as phone:
        agent = await log_in(line, "agent01")
        caller = KeypadCaller(port, HOTLINE, to_an_agent(40.0), caller=line.client.phone)
        await caller.start()
        talk = await phone.wait_answered(timeout=20)
        await asyncio.sleep(1.0)
        # The service goes away mid-conversation and comes back on the same database.
        again: Hotline = await hotline_factory(restart=line)
        yield Restarted(again, agent, phone, talk, caller)


async def test_a_restart_during_a_bridged_call_keeps_the_call_and_completes_its_record(
    hotline_factory: Callable[..., Any],
) -> None:
    async with restarted_mid_call(hotline_factory) as restarted:
        again, agent, phone, talk, caller = (
            restarted.again,
            restarted.agent,
            restarted.phone,
            restarted.talk,
            restarted.caller,
        )
        await asyncio.sleep(1.0)
        assert talk.up  # the conversation never noticed
        async with again.db.read() as session:
            record = await session.scalar(select(Interaction).order_by(Interaction.id.desc()))
            assert record is not None
            assert record.answered_at is not None
            assert record.ended_at is None
        await phone.hang_up()  # the agent ends the call: the caller is hung up too
        result = await caller.wait()
        call = await again.ended_interaction()
        acd = again.runtime.acd
        assert acd is not None
        await until(lambda: acd.router.agent_state(agent) is AgentState.READY)

    assert result.succeeded, result.output
    assert result.log.far_end_hung_up
    assert call.agent_id == agent
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert call.answered_at < call.ended_at
    assert await last_three_states(again, agent) == WHOLE_CALL


async def test_a_call_adopted_after_a_restart_is_held_resumed_and_hung_up_from_the_desk(
    hotline_factory: Callable[..., Any],
) -> None:
    """Calls adopted after a restart used to answer 404 to every button of the desk."""
    async with restarted_mid_call(hotline_factory) as restarted:
        again, agent, talk, caller = (
            restarted.again,
            restarted.agent,
            restarted.talk,
            restarted.caller,
        )
        desk = await log_in_as(again.http, "agent01")

        async def call_control(path: str) -> dict[str, Any]:
            async def poll() -> dict[str, Any]:
                while True:
                    response = await again.http.post(f"/api/calls/me/{path}", headers=desk)
                    if response.status_code != 404:  # not adopted yet
                        assert response.status_code == 200, response.text
                        body: dict[str, Any] = response.json()
                        return body
                    await asyncio.sleep(0.1)

            return await asyncio.wait_for(poll(), 15)

        with again.runtime.ami.subscribe({"musiconholdstart", "musiconholdstop"}) as moh:
            held = await call_control("hold")
            assert held["state"] == "held"
            await next_event(moh, "MusicOnHoldStart")
            assert talk.up  # the agent's leg waits, held
            await asyncio.sleep(1.2)
            assert (await call_control("resume"))["state"] == "talking"
            await next_event(moh, "MusicOnHoldStop")
        hung_up = await again.http.post("/api/calls/me/hangup", headers=desk)
        assert hung_up.status_code == 204, hung_up.text
        result = await caller.wait()
        call = await again.ended_interaction()
        acd = again.runtime.acd
        assert acd is not None
        await until(lambda: acd.router.agent_state(agent) is AgentState.READY)

    assert result.succeeded, result.output
    assert call.agent_id == agent
    assert call.ended_at is not None
    assert call.hold_seconds is not None
    assert call.hold_seconds >= 1
    assert call.anomaly is None
    assert await last_three_states(again, agent) == WHOLE_CALL


async def test_a_call_ringing_at_a_restart_and_answered_after_it_is_recorded_answered(
    hotline_factory: Callable[..., Any],
) -> None:
    """Fault runs (issue 14): such a call was recorded offered and ended, never answered,
    and its agent went from reserved to ready with no wrap-up."""
    line: Hotline = await hotline_factory()
    await short_queue(line, ring_seconds=20)
    port = line.settings.sip_port
    password = line.phone_secrets
    async with AgentPhone(port, "1001", password=password, behaviour=Answer(6.0)) as phone:
        agent = await log_in(line, "agent01")
        caller = KeypadCaller(port, HOTLINE, to_an_agent(40.0), caller=line.client.phone)
        await caller.start()
        await phone.wait_until(lambda: len(phone.invites) == 1, 20, "the agent's phone rings")
        again: Hotline = await hotline_factory(restart=line)  # while it rings
        talk = await phone.wait_answered(timeout=20)
        acd = again.runtime.acd
        assert acd is not None
        await until(lambda: acd.router.agent_state(agent) is AgentState.ON_CALL, timeout=10)
        desk = await log_in_as(again.http, "agent01")
        response = await again.http.post("/api/calls/me/hold", headers=desk)
        assert response.status_code == 200, response.text  # controllable, as any call
        await phone.hang_up()
        result = await caller.wait()
        call = await again.ended_interaction()
        await until(lambda: acd.router.agent_state(agent) is AgentState.READY)

    assert talk is not None
    assert result.succeeded, result.output
    assert call.agent_id == agent
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert call.anomaly is None
    assert await last_three_states(again, agent) == WHOLE_CALL
