"""The wallboard's picture over REST (GET /api/supervision/floor; roles in test_roles.py): it
follows what happens within the snapshot interval, and a service started on a day already
under way starts from the records: today's figures, the calls left open, the agents."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx

from callcenter.acd.model import QueueConfig
from callcenter.app import create_app
from callcenter.crm.vocabulary import Channel, Direction, Role, Tier
from callcenter.persistence import agents, queues
from callcenter.persistence.tables import Interaction
from callcenter.settings import load_settings
from tests.api.conftest import Api
from tests.support.crm_data import add_client

FLOOR = "/api/supervision/floor"


async def floor_until(api: Api, shows: Any, within: float = 5.0) -> dict[str, Any]:
    """GET the floor until ``shows(picture)`` holds (the fold is a task of its own)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        response = await api.http.get(FLOOR, headers=api.as_(Role.SUPERVISOR))
        assert response.status_code == 200, response.text
        picture: dict[str, Any] = response.json()
        if shows(picture) or loop.time() > deadline:
            return picture
        await asyncio.sleep(0.05)


def states(picture: dict[str, Any], agent_id: int) -> list[str]:
    return [a["state"] for a in picture["agents"] if a["agent_id"] == agent_id]


async def test_the_floor_shows_an_agent_who_logs_in_and_the_state_they_choose(api: Api) -> None:
    agent_id = api.users[Role.AGENT].id
    before = (await api.http.get(FLOOR, headers=api.as_(Role.ADMIN))).json()
    assert agent_id not in [a["agent_id"] for a in before["agents"]]
    login = await api.http.post("/api/agents/me/login", headers=api.as_(Role.AGENT))
    assert login.status_code == 200, login.text
    ready = await floor_until(api, lambda f: any(a["agent_id"] == agent_id for a in f["agents"]))
    (me,) = [a for a in ready["agents"] if a["agent_id"] == agent_id]
    assert (me["state"], me["reason"]) == ("ready", None)
    pause = await api.http.post(
        "/api/agents/me/state",
        json={"state": "not_ready", "reason": "break"},
        headers=api.as_(Role.AGENT),
    )
    assert pause.status_code == 200, pause.text
    paused = await floor_until(
        api,
        lambda f: [a["state"] for a in f["agents"] if a["agent_id"] == agent_id] == ["not_ready"],
    )
    (me,) = [a for a in paused["agents"] if a["agent_id"] == agent_id]
    assert (me["state"], me["reason"]) == ("not_ready", "break")
    assert dt.datetime.fromisoformat(paused["at"]) >= dt.datetime.fromisoformat(me["since"])


async def test_a_service_started_mid_day_starts_from_the_records(
    api: Api, database_url: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    agent_id = api.users[Role.AGENT].id
    client_id = await add_client(api.db, api.branch.id, tier=Tier.VIP)
    async with api.db.write() as session:
        await agents.login(session, agent_id)
        session.add_all(
            [
                Interaction(  # answered and talking
                    client_id=client_id,
                    channel=Channel.VOICE,
                    direction=Direction.INBOUND,
                    started_at=now - dt.timedelta(seconds=90),
                    queue="general",
                    queued_at=now - dt.timedelta(seconds=80),
                    answered_at=now - dt.timedelta(seconds=75),
                    agent_id=agent_id,
                    caller_number="+8613800138000",
                    call_id="talking-1",
                    ivr_outcome="queued",
                ),
                Interaction(  # still waiting
                    channel=Channel.VOICE,
                    direction=Direction.INBOUND,
                    started_at=now - dt.timedelta(seconds=40),
                    queue="general",
                    queued_at=now - dt.timedelta(seconds=30),
                    caller_number="+8613900139000",
                    call_id="waiting-1",
                    ivr_outcome="queued",
                ),
            ]
        )
    settings = load_settings(
        database_url=database_url, pbx_enabled=False, database_auto_migrate=False
    )
    second = create_app(settings, call_handler=None)  # a restart, on the same records
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(FLOOR, headers=api.as_(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    picture = response.json()
    (general,) = [q for q in picture["queues"] if q["queue"] == "general"]
    assert (general["waiting"], general["offered"], general["answered"]) == (1, 2, 1)
    assert 29 <= general["longest_wait_seconds"] <= 60
    assert general["service_level"] == 1.0  # answered in 5 s, of one call that finished waiting
    (call,) = picture["calls"]
    assert (call["call_id"], call["agent_id"], call["tier"]) == ("talking-1", agent_id, "vip")
    assert call["caller"] == "*" * 10 + "8000"
    assert [(a["agent_id"], a["state"]) for a in picture["agents"]] == [(agent_id, "ready")]


ZERO_FIGURES = {
    "waiting": 0,
    "kept_places": 0,
    "longest_wait_seconds": None,
    "longest_waiting_since": None,
    "offered": 0,
    "answered": 0,
    "service_level": None,
    "asa_seconds": None,
    "abandon_rate": None,
}


async def test_every_configured_queue_is_on_the_board_before_its_first_call(
    api: Api, database_url: str
) -> None:
    async with api.db.write() as session:
        for name in ("english", "general", "vip"):
            await queues.put_queue(session, QueueConfig(name), None)
        session.add(
            Interaction(  # today's one call, in general: english and vip had none yet
                channel=Channel.VOICE,
                direction=Direction.INBOUND,
                started_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=40),
                queue="general",
                queued_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30),
                call_id="waiting-1",
                ivr_outcome="queued",
            )
        )
    settings = load_settings(
        database_url=database_url, pbx_enabled=False, database_auto_migrate=False
    )
    started = create_app(settings, call_handler=None)  # seeded from the queue store
    async with started.router.lifespan_context(started):
        transport = httpx.ASGITransport(app=started)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get(FLOOR, headers=api.as_(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    rows = {q["queue"]: q for q in response.json()["queues"]}
    assert sorted(rows) == ["english", "general", "vip"]
    for quiet in ("english", "vip"):
        assert rows[quiet] == {"queue": quiet, **ZERO_FIGURES}
    assert (rows["general"]["waiting"], rows["general"]["offered"]) == (1, 1)


async def test_a_queue_added_over_the_api_is_on_the_board_without_a_restart(api: Api) -> None:
    before = (await api.http.get(FLOOR, headers=api.as_(Role.SUPERVISOR))).json()
    assert "billing" not in [q["queue"] for q in before["queues"]]
    created = await api.http.put("/api/queues/billing", json={}, headers=api.as_(Role.ADMIN))
    assert created.status_code == 201, created.text

    picture = await floor_until(api, lambda f: "billing" in [q["queue"] for q in f["queues"]])

    (billing,) = [q for q in picture["queues"] if q["queue"] == "billing"]
    assert billing == {"queue": "billing", **ZERO_FIGURES}
