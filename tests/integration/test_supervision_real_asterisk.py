"""Supervision on real calls: a sipp caller goes through the IVR to agent01's test phone
(1001); supervisor01's test phone (1901) is rung by the service's Originate and, once it
answers, spies on the agent's leg through ChanSpy (listen, whisper, barge). Waiting calls are
moved to another queue or offered to a named agent by a supervisor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.persistence.tables import AuditEntry
from tests.integration.test_acd_real_asterisk import log_in, short_queue, to_an_agent, until
from tests.integration.test_call_control_real_asterisk import answered_call, bearer, leg
from tests.support.agent_phone import AgentPhone, Answer, NeverAnswer
from tests.support.ami import next_event
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

OPTIONS = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}


async def spy_application(line: Hotline, channel: str) -> tuple[str, str]:
    """The application the channel runs now and its arguments, as Asterisk shows them."""
    listed = await line.runtime.ami.action_list("CoreShowChannels")
    for item in listed.events:
        if item.get("Channel") == channel:
            return item.get("Application") or "", item.get("ApplicationData") or ""
    raise AssertionError(f"{channel} is not up")


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
async def test_the_supervisors_phone_spies_on_the_agents_live_call(
    hotline_factory: Callable[..., Any], mode: str
) -> None:
    line: Hotline = await hotline_factory()
    password = line.phone_secrets
    with line.runtime.ami.subscribe({"chanspystart", "chanspystop"}) as spying:
        async with (
            AgentPhone(
                line.settings.sip_port, "1901", password=password, behaviour=Answer(0.2)
            ) as supervisor_phone,
            answered_call(line) as desk,
        ):
            agent_leg = leg(line, "1001")
            assert agent_leg is not None
            supervisor, _ = await bearer(line, "supervisor01")
            response = await line.http.post(
                "/api/supervision/monitor",
                json={"agent_id": desk.agent_id, "mode": mode},
                headers=supervisor,
            )
            assert response.status_code == 201, response.text
            monitoring = response.json()
            assert monitoring["mode"] == mode
            assert monitoring["interaction_id"] is not None
            await supervisor_phone.wait_answered(timeout=15)
            started = await next_event(spying, "ChanSpyStart", SpyeeChannel=agent_leg.name)
            spyer = started.get("SpyerChannel") or ""
            assert spyer.startswith("PJSIP/1901-")
            application, data = await spy_application(line, spyer)
            assert application == "ChanSpy"
            assert data == f"{agent_leg.name},{OPTIONS[mode]}"
            assert desk.agent_phone.current is not None  # the agent's call goes on
            current = await line.http.get("/api/supervision/monitor", headers=supervisor)
            assert current.json()["call_id"] == monitoring["call_id"]
            stopped = await line.http.delete("/api/supervision/monitor", headers=supervisor)
            assert stopped.status_code == 204, stopped.text
            await supervisor_phone.wait_ended()
            await next_event(spying, "ChanSpyStop", SpyeeChannel=agent_leg.name)
            assert desk.agent_phone.current is not None
            await desk.agent_phone.hang_up()
    async with line.db.read() as session:
        audit = (
            await session.execute(
                select(AuditEntry.interaction_id, AuditEntry.detail).where(
                    AuditEntry.action == "call.monitored"
                )
            )
        ).one()
    assert audit.interaction_id == monitoring["interaction_id"]
    assert audit.detail == {"agent_id": desk.agent_id, "mode": mode}


async def test_hanging_up_a_monitoring_while_it_rings_stops_the_supervisors_phone(
    hotline_factory: Callable[..., Any],
) -> None:
    """Hang up on the wallboard right after Listen: the supervisor's ringing phone stops
    ringing and never spies. (The narrower race, a stop before the Originate's channel even
    exists, is in tests/unit/test_supervision.py: here Asterisk is faster than the request.)"""
    line: Hotline = await hotline_factory()
    password = line.phone_secrets
    with line.runtime.ami.subscribe({"chanspystart"}) as spying:
        async with (
            AgentPhone(
                line.settings.sip_port, "1901", password=password, behaviour=NeverAnswer()
            ) as supervisor_phone,
            answered_call(line) as desk,
        ):
            supervisor, _ = await bearer(line, "supervisor01")
            started = await line.http.post(
                "/api/supervision/monitor",
                json={"agent_id": desk.agent_id, "mode": "listen"},
                headers=supervisor,
            )
            assert started.status_code == 201, started.text
            stopped = await line.http.delete("/api/supervision/monitor", headers=supervisor)
            assert stopped.status_code == 204, stopped.text
            await supervisor_phone.wait_invite(timeout=10)
            await supervisor_phone.wait_until(
                lambda: bool(supervisor_phone.cancelled), 10, "CANCEL of the monitoring"
            )
            assert desk.agent_phone.current is not None  # the agent's call goes on
            await desk.agent_phone.hang_up()
        assert len(spying) == 0  # ChanSpy never started


async def test_monitoring_an_agent_without_a_call_is_refused(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    supervisor, _ = await bearer(line, "supervisor01")
    _, agent_id = await bearer(line, "agent02")
    response = await line.http.post(
        "/api/supervision/monitor", json={"agent_id": agent_id}, headers=supervisor
    )
    assert (response.status_code, response.json()["error"]) == (409, "agent-not-on-call")


async def serve_only_complaints(line: Hotline, agent_id: int) -> None:
    admin = await log_in_as(line.http, "admin")
    response = await line.http.put(
        f"/api/agents/{agent_id}/profile",
        json={"skills": {"complaints": 3}, "languages": ["zh", "en"], "queues": ["complaints"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text


async def waiting_call(line: Hotline) -> str:
    acd = line.runtime.acd
    assert acd is not None
    await until(lambda: bool(acd.live("general")), timeout=20)
    return acd.live("general")[0].call_id


@pytest.mark.parametrize("target", ["queue", "agent"])
async def test_a_waiting_call_moved_by_a_supervisor_is_answered_by_the_agent_there(
    hotline_factory: Callable[..., Any], target: str
) -> None:
    """agent01 serves only complaints: a call waiting in general reaches them once moved to
    complaints (keeping its wait), or offered to them by name."""
    line: Hotline = await hotline_factory()
    await short_queue(line, "general", ring_seconds=10)
    await short_queue(line, "complaints", ring_seconds=10)
    password = line.phone_secrets
    _, agent_id = await bearer(line, "agent01")
    await serve_only_complaints(line, agent_id)
    async with AgentPhone(
        line.settings.sip_port, "1001", password=password, behaviour=Answer(0.2)
    ) as phone:
        await log_in(line, "agent01")
        caller = KeypadCaller(
            line.settings.sip_port, HOTLINE, to_an_agent(20.0), caller=line.client.phone
        )
        await caller.start()
        call_id = await waiting_call(line)
        acd = line.runtime.acd
        assert acd is not None
        enqueued_at = acd.live("general")[0].enqueued_at
        assert phone.invites == []  # agent01 does not serve general
        supervisor = await log_in_as(line.http, "supervisor01")
        body = {"queue": "complaints"} if target == "queue" else {"agent_id": agent_id}
        response = await line.http.post(
            f"/api/supervision/calls/{call_id}/move", json=body, headers=supervisor
        )
        assert response.status_code == 200, response.text
        assert response.json()["queue"] == ("complaints" if target == "queue" else "general")
        if target == "queue":
            assert [c.enqueued_at for c in acd.live("complaints")] in ([], [enqueued_at])
        await phone.wait_answered(timeout=15)
        await phone.hang_up()
        await caller.wait()
    call = await line.ended_interaction()
    assert call.answered_at is not None
    assert call.agent_id == agent_id
    if target == "queue":
        assert call.queue == "complaints"
        assert call.ivr_path[-1] == "moved:general=complaints"
    async with line.db.read() as session:
        detail = await session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "call.moved")
        )
    assert detail is not None
    assert detail["call_id"] == call_id
