"""Call control on real calls: a sipp caller goes through the IVR to agent01's test phone
(1001); the agent then holds, transfers, consults, conferences, hangs up or dials out through
the API, and the test checks what Asterisk did (bridges, music on hold, the phones' SIP) and
what the interaction says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from callcenter.acd.model import AgentState
from callcenter.asterisk.errors import AmiEventsLost
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.pbx.channels import Channel
from callcenter.persistence.tables import AuditEntry, Interaction, User
from tests.api.conftest import open_test_session
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.ami import next_event
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

CALLER_STAYS = 40.0  # seconds the sipp caller stays after choosing an agent


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - polls a condition, bounded by the timeout
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def bearer(line: Hotline, username: str) -> tuple[dict[str, str], int]:
    async with line.db.read() as session:
        user_id = await session.scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    token = await open_test_session(line.db, user_id)
    return {"Authorization": f"Bearer {token}"}, user_id


def leg(line: Hotline, extension: str) -> Channel | None:
    found = [
        c
        for c in line.runtime.tracker.channels.values()
        if c.name.startswith(f"PJSIP/{extension}-")
    ]
    return found[-1] if found else None


def caller_leg(line: Hotline) -> Channel | None:
    found = [
        c for c in line.runtime.tracker.channels.values() if c.name.startswith("PJSIP/carrier-")
    ]
    return found[-1] if found else None


def bridged(line: Hotline, *extensions: str) -> bool:
    """Whether the caller and these phones are in one bridge."""
    legs = [caller_leg(line), *(leg(line, e) for e in extensions)]
    if any(c is None or not c.bridge_id for c in legs):
        return False
    return len({c.bridge_id for c in legs if c is not None}) == 1


async def interaction(line: Hotline, interaction_id: int) -> Interaction:
    async with line.db.read() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        session.expunge(row)
        return row


async def ended_record(line: Hotline, interaction_id: int, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while (await interaction(line, interaction_id)).ended_at is None:  # noqa: ASYNC110 - polls the database, bounded by the timeout
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def controlled_call(line: Hotline, agent: dict[str, str], timeout: float = 10.0) -> Any:
    """The agent's call as the desktop sees it (GET /api/calls/me), once call control has it."""

    async def poll() -> Any:
        while True:
            response = await line.http.get("/api/calls/me", headers=agent)
            if response.status_code == 200:
                return response.json()
            assert response.json()["error"] == "no-live-call", response.text
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


@dataclass
class Desk:
    line: Hotline
    agent: dict[str, str]
    agent_id: int
    agent_phone: AgentPhone
    target_phone: AgentPhone
    caller: KeypadCaller

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.line.http.post(f"/api/calls/me/{path}", json=body, headers=self.agent)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def state(self) -> AgentState | None:
        acd = self.line.runtime.acd
        assert acd is not None
        return acd.router.agent_state(self.agent_id)


# What says where a call through the IVR to an agent stopped: the keys Asterisk received, the
# AGI commands the service ran and their results, and the ACD's Dial.
STORY_EVENTS = {"dtmfend", "agiexecend", "asyncagiexec", "dialbegin", "dialend"}


async def call_story(line: Hotline, agent_id: int, seen: Subscription[Message]) -> str:
    """Where the call stopped, for a failure message: what Asterisk reported (keys, AGI
    commands, Dial), the ACD's view of the agent and the queue, the call's record and the
    channels. The only keys in these tests are menu choices, never a PIN."""
    lines = []
    while True:
        try:
            message = seen.get_nowait()
        except AmiEventsLost as lost:
            lines.append(f"  ({lost} events lost)")
            continue
        if message is None:
            break
        at = message.get("Timestamp") or "?"
        if message.name == "DTMFEnd":
            what = f"key {message.get('Digit')} {message.get('Direction')}"
        elif message.name == "AGIExecEnd":
            what = f"AGI {message.get('Command')} done"
        elif message.name == "AsyncAGIExec":  # the command's reply, e.g. 200 result=49
            what = f"AGI reply {unquote(message.get('Result') or '').strip()}"
        else:
            what = f"{message.name} {message.get('DestChannel')} {message.get('DialStatus') or ''}"
        lines.append(f"  {at} {message.get('Channel')}: {what}")
    acd = line.runtime.acd
    if acd is not None:
        state = acd.router.agent_state(agent_id) if acd.serves(agent_id) else "not served"
        waiting = [(w.call_id, w.queue) for w in acd.live("general")]
        lines.append(f"  ACD: agent {agent_id} {state}; waiting in general: {waiting}")
    async with line.db.read() as session:
        record = await session.scalar(select(Interaction).order_by(Interaction.id.desc()))
        if record is not None:
            lines.append(
                f"  record {record.id}: outcome {record.ivr_outcome}, path {record.ivr_path}, "
                f"queued {record.queued_at}, offered {record.offered_at} to {record.agent_id}"
            )
    for c in line.runtime.tracker.channels.values():
        lines.append(f"  channel {c.name} {c.state} at {c.context},{c.exten} bridge {c.bridge_id}")
    return "what happened:\n" + "\n".join(lines)


@asynccontextmanager
async def answered_call(line: Hotline) -> AsyncIterator[Desk]:
    """agent01 (1001) logged in and talking to a sipp caller; 1002 registered, answering."""
    admin, _ = await bearer(line, "admin")
    current = (await line.http.get("/api/queues/general", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update({"ring_seconds": 5, "wrap_up_seconds": 1})
    assert (await line.http.put("/api/queues/general", json=body, headers=admin)).status_code == 200
    password = line.phone_secrets
    port = line.settings.sip_port
    async with (
        AgentPhone(port, "1001", password=password, behaviour=Answer(0.3)) as agent_phone,
        AgentPhone(port, "1002", password=password, behaviour=Answer(0.3)) as target_phone,
    ):
        agent, agent_id = await bearer(line, "agent01")
        response = await line.http.post("/api/agents/me/login", headers=agent)
        assert response.status_code == 200, response.text
        acd = line.runtime.acd
        assert acd is not None
        await until(lambda: acd.serves(agent_id))
        script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(CALLER_STAYS), Hangup()]
        caller = KeypadCaller(port, HOTLINE, script, caller=line.client.phone)
        with line.runtime.ami.subscribe(STORY_EVENTS, maxsize=2000) as seen:
            await caller.start()
            try:
                await agent_phone.wait_answered(timeout=30)
            except TimeoutError as exc:
                story = await call_story(line, agent_id, seen)
                await caller.kill()  # a caller left in the IVR would ring the next test
                raise AssertionError(f"{exc}\n{story}") from None
        await until(lambda: bridged(line, "1001"))
        # The phone is up before the service has recorded the answer and handed the call to
        # call control: until then the desktop's buttons answer 404 no-live-call.
        await controlled_call(line, agent)
        desk = Desk(line, agent, agent_id, agent_phone, target_phone, caller)
        try:
            yield desk
        finally:
            with_call = [p for p in (agent_phone, target_phone) if p.current is not None]
            for phone in with_call:
                await phone.hang_up()
            await caller.wait()


async def test_hold_plays_music_to_the_caller_and_resume_brings_the_agent_back(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    with line.runtime.ami.subscribe({"musiconholdstart", "musiconholdstop"}) as moh:
        async with answered_call(line) as desk:
            caller = caller_leg(line)
            assert caller is not None
            held = await desk.post("hold")
            assert held["state"] == "held"
            await next_event(moh, "MusicOnHoldStart", Uniqueid=caller.uniqueid)
            await until(lambda: not bridged(line, "1001"))
            assert desk.agent_phone.current is not None  # the agent's call stays up
            call_id = held["call_id"]
            assert line.runtime.tracker.channels.get(call_id) is not None
            await asyncio.sleep(1.5)  # on hold for a while: the hold time is measured
            talking = await desk.post("resume")
            assert talking["state"] == "talking"
            await next_event(moh, "MusicOnHoldStop", Uniqueid=caller.uniqueid)
            await until(lambda: bridged(line, "1001"))
            await desk.agent_phone.hang_up()
            await until(lambda: desk.state() is AgentState.READY)
    call = await interaction(line, held["interaction_id"])
    assert call.ended_at is not None
    assert call.hold_seconds is not None
    assert call.hold_seconds >= 1
    assert call.talk_seconds is not None
    assert call.answered_at is not None
    total = round((call.ended_at - call.answered_at).total_seconds())
    assert call.talk_seconds == max(0, total - call.hold_seconds)


async def test_a_second_resume_is_refused_as_not_on_hold(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        response = await line.http.post("/api/calls/me/resume", headers=desk.agent)
        assert response.status_code == 409
        assert response.json()["error"] == "not-on-hold"
        await desk.post("hangup")
        await desk.agent_phone.wait_ended()


async def test_blind_transfer_puts_the_caller_through_to_the_target_and_ends_the_agents_part(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        status = await desk.post("transfer", {"to": "1002", "mode": "blind"})
        assert status["state"] == "transferred"
        await desk.agent_phone.wait_ended()
        await desk.target_phone.wait_answered(timeout=15)
        await until(lambda: bridged(line, "1002"))
        assert desk.target_phone.invites[-1].from_user == line.client.phone
        await until(lambda: desk.state() in (AgentState.WRAP_UP, AgentState.READY))
        during = await interaction(line, status["interaction_id"])
        assert caller_leg(line) is not None  # the caller talks on with the target
        await desk.target_phone.hang_up()
        result = await desk.caller.wait()
    assert result.succeeded, result.output
    assert during.ended_at is not None  # the agent's part ended at the transfer
    assert during.ivr_path[-1] == "transfer:blind=1002"
    async with line.db.read() as session:
        audit = await session.scalar(
            select(AuditEntry.detail).where(
                AuditEntry.action == "call.transferred",
                AuditEntry.interaction_id == status["interaction_id"],
            )
        )
    assert audit == {"mode": "blind", "to": "1002"}


async def test_consult_then_complete_joins_caller_and_target(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    with line.runtime.ami.subscribe({"musiconholdstart"}) as moh:
        async with answered_call(line) as desk:
            caller = caller_leg(line)
            assert caller is not None
            status = await desk.post("transfer", {"to": "1002", "mode": "consult"})
            assert status["state"] == "consulting"
            await next_event(moh, "MusicOnHoldStart", Uniqueid=caller.uniqueid)
            await desk.target_phone.wait_answered(timeout=15)
            await until(lambda: _together(line, "1001", "1002"))
            assert desk.agent_phone.current is not None  # the same call of the agent's phone
            assert len(desk.agent_phone.calls) == 1
            await asyncio.sleep(1.0)
            done = await desk.post("transfer/complete")
            assert done["state"] == "transferred"
            await until(lambda: bridged(line, "1002"))
            await desk.agent_phone.wait_ended()
            await until(lambda: desk.state() in (AgentState.WRAP_UP, AgentState.READY))
            await desk.target_phone.hang_up()
    call = await interaction(line, status["interaction_id"])
    assert call.ivr_path[-1] == "transfer:consult=1002"
    assert call.hold_seconds is not None
    assert call.hold_seconds >= 1
    assert call.ended_at is not None


def _together(line: Hotline, *extensions: str) -> bool:
    legs = [leg(line, e) for e in extensions]
    if any(c is None or not c.bridge_id for c in legs):
        return False
    return len({c.bridge_id for c in legs if c is not None}) == 1


async def test_consult_then_cancel_hangs_up_the_target_and_brings_the_caller_back(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        await desk.post("transfer", {"to": "1002", "mode": "consult"})
        await desk.target_phone.wait_answered(timeout=15)
        back = await desk.post("transfer/cancel")
        assert back["state"] == "talking"
        await desk.target_phone.wait_ended()
        assert desk.target_phone.calls[-1].bye_received
        await until(lambda: bridged(line, "1001"))
        assert desk.state() is AgentState.ON_CALL
        await desk.agent_phone.hang_up()
        result = await desk.caller.wait()
    assert result.succeeded, result.output


async def test_conference_puts_three_together_and_the_caller_stays_when_the_agent_leaves(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        status = await desk.post("transfer", {"to": "1002", "mode": "consult"})
        await desk.target_phone.wait_answered(timeout=15)
        await until(lambda: _together(line, "1001", "1002"))
        joined = await desk.post("conference")
        assert joined["state"] == "conference"
        await until(lambda: bridged(line, "1001", "1002"))
        await desk.post("hangup")  # the agent leaves the conference
        await desk.agent_phone.wait_ended()
        await until(lambda: desk.state() in (AgentState.WRAP_UP, AgentState.READY))
        assert bridged(line, "1002")  # caller and target talk on
        assert desk.target_phone.current is not None
        await desk.target_phone.hang_up()
        result = await desk.caller.wait()
    assert result.succeeded, result.output
    call = await interaction(line, status["interaction_id"])
    assert call.ivr_path[-1] == "transfer:conference=1002"


async def test_hang_up_ends_the_agents_leg_and_the_call(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        status = (await line.http.get("/api/calls/me", headers=desk.agent)).json()
        await desk.post("hangup")
        ended = await desk.agent_phone.wait_ended()
        assert ended.bye_received
        await until(lambda: desk.state() in (AgentState.WRAP_UP, AgentState.READY))
        result = await desk.caller.wait()
        missing = await line.http.post("/api/calls/me/hold", headers=desk.agent)
    assert result.succeeded, result.output
    assert missing.status_code == 404
    assert missing.json()["error"] == "no-live-call"
    call = await interaction(line, status["interaction_id"])
    assert call.ended_at is not None


async def test_click_to_dial_rings_the_agent_then_the_number_and_records_an_outbound_call(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    password = line.phone_secrets
    port = line.settings.sip_port
    async with (
        AgentPhone(port, "1001", password=password, behaviour=Answer(0.3)) as agent_phone,
        AgentPhone(port, "1002", password=password, behaviour=Answer(0.5)) as far_end,
    ):
        agent, agent_id = await bearer(line, "agent01")  # logged out: no ACD call can come
        response = await line.http.post(
            "/api/calls/me/dial",
            json={"number": "1002", "client_id": line.client.id},
            headers=agent,
        )
        assert response.status_code == 201, response.text
        out = response.json()
        answered = await agent_phone.wait_answered(timeout=15)
        await far_end.wait_answered(timeout=15)
        assert answered.invite.from_user == "1002"  # the phone shows whom it is calling
        await until(lambda: _together(line, "1001", "1002"))
        await asyncio.sleep(1.0)
        await far_end.hang_up()
        await agent_phone.wait_ended()

        await ended_record(line, out["interaction_id"])
    call = await interaction(line, out["interaction_id"])
    assert call.direction == "outbound"
    assert call.agent_id == agent_id
    assert call.client_id == line.client.id
    assert call.called_number == "1002"
    assert call.answered_at is not None
    assert call.ended_at is not None
    assert call.talk_seconds is not None
    assert call.talk_seconds >= 1


async def test_click_to_dial_is_refused_while_the_agent_is_ready(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    password = line.phone_secrets
    async with AgentPhone(line.settings.sip_port, "1001", password=password) as phone:
        agent, _ = await bearer(line, "agent01")
        assert (await line.http.post("/api/agents/me/login", headers=agent)).status_code == 200
        response = await line.http.post(
            "/api/calls/me/dial", json={"number": "1002"}, headers=agent
        )
    assert response.status_code == 409
    assert response.json()["error"] == "agent-not-free-to-dial"
    assert phone.invites == []
