"""Data scopes, role x scope x route (issue 15, point 2; callcenter/crm/scopes.py).

Two branches, two books: the test users' own (branch SH01, the test advisor's client) and
another (branch BJ01, another advisor's client, whose call another agent took). Each role
reads each record through every route that serves it: a record out of scope is 404 (never
403: existence does not leak), and every read that is answered writes exactly one audit row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence.tables import AgentStatusRow, AuditEntry, Complaint, User
from tests.api.conftest import Api
from tests.support.crm_data import (
    add_branch,
    add_call_in_hand,
    add_client,
    add_follow_up,
    add_interaction,
)


@dataclass(frozen=True)
class Book:
    """One client and what belongs to them."""

    client_id: int
    interaction_id: int
    complaint_id: int
    follow_up_id: int

    def ids(self) -> dict[str, int]:
        return {
            "client": self.client_id,
            "interaction": self.interaction_id,
            "complaint": self.complaint_id,
            "follow_up": self.follow_up_id,
        }


@dataclass(frozen=True)
class World:
    mine: Book  # the test users' branch; the test advisor's client
    other: Book  # another branch; another advisor's client


async def add_user(api: Api, username: str, role: Role, branch_id: int) -> int:
    async with api.db.write() as session:
        user = User(username=username, display_name=username, role=role, branch_id=branch_id)
        session.add(user)
        await session.flush()
        return user.id


async def add_complaint(api: Api, client_id: int, branch_id: int) -> int:
    now = dt.datetime.now(dt.UTC)
    async with api.db.write() as session:
        complaint = Complaint(
            client_id=client_id,
            category_code="account.opening",
            owner_branch_id=branch_id,
            status=ComplaintStatus.OPEN,
            summary="Opening took weeks",
            description="Documents asked for twice.",
            created_at=now,
            response_due_at=now + dt.timedelta(days=2),
        )
        session.add(complaint)
        await session.flush()
        return complaint.id


async def book(
    api: Api, branch_id: int, advisor_id: int, agent_id: int, account: str, phone: str
) -> Book:
    client_id = await add_client(
        api.db, branch_id, account_no=account, advisor_id=advisor_id, phones=(phone,)
    )
    return Book(
        client_id,
        await add_call_in_hand(api.db, client_id, agent_id, caller_number=phone),
        await add_complaint(api, client_id, branch_id),
        await add_follow_up(api.db, client_id),
    )


@pytest.fixture
async def world(api: Api) -> World:
    elsewhere = await add_branch(api.db, "BJ01")
    other_advisor = await add_user(api, "advisor-bj", Role.ADVISOR, elsewhere)
    other_agent = await add_user(api, "agent-bj", Role.AGENT, elsewhere)
    mine = await book(
        api,
        api.branch.id,
        api.users[Role.ADVISOR].id,
        other_agent,
        "1001000001",
        "+8613800138001",
    )
    other = await book(api, elsewhere, other_advisor, other_agent, "1001000002", "+8613800138002")
    return World(mine, other)


ONE = {
    "client": ("/api/clients/{}", "client.view"),
    "interaction": ("/api/interactions/{}", "interaction.view"),
    "complaint": ("/api/complaints/{}", "complaint.view"),
    "follow_up": ("/api/follow-ups/{}", "follow_up.view"),
}
LISTS = {
    "client": ("/api/clients?account_no={account}", "client.search"),
    "interaction": ("/api/interactions?client_id={client}", "interaction.list"),
    "complaint": ("/api/complaints?client_id={client}", "complaint.list"),
    "follow_up": ("/api/follow-ups?client_id={client}", "follow_up.list"),
}

# What each role sees of each book. The agent has no call of either client in hand here.
SEES = {
    Role.SUPERVISOR: {"mine", "other"},
    Role.COMPLIANCE: {"mine", "other"},
    Role.BRANCH: {"mine"},
    Role.ADVISOR: {"mine"},
    Role.AGENT: set(),
}


async def audit_count(api: Api, action: str) -> int:
    async with api.db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return count or 0


def listed_ids(kind: str, body: Any) -> list[int]:
    items = body["items"] if isinstance(body, dict) else body
    return [item["id"] for item in items]


@pytest.mark.parametrize("role", list(SEES))
@pytest.mark.parametrize("which", ["mine", "other"])
@pytest.mark.parametrize("kind", list(ONE))
async def test_one_record_is_read_in_scope_or_is_404(
    api: Api, world: World, role: Role, which: str, kind: str
) -> None:
    record = getattr(world, which).ids()[kind]
    path, action = ONE[kind]
    before = await audit_count(api, action)

    response = await api.http.get(path.format(record), headers=api.as_(role))

    if which in SEES[role]:
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert await audit_count(api, action) == before + 1
    else:
        assert response.status_code == 404, response.text  # not 403: existence stays hidden
        assert response.json()["error"].endswith("-not-found")
        assert await audit_count(api, action) == before


@pytest.mark.parametrize("role", list(SEES))
@pytest.mark.parametrize("which", ["mine", "other"])
@pytest.mark.parametrize("kind", list(LISTS))
async def test_a_list_shows_only_what_is_in_scope_and_is_audited(
    api: Api, world: World, role: Role, which: str, kind: str
) -> None:
    chosen: Book = getattr(world, which)
    account = "1001000001" if which == "mine" else "1001000002"
    path, action = LISTS[kind]
    before = await audit_count(api, action)

    response = await api.http.get(
        path.format(client=chosen.client_id, account=account), headers=api.as_(role)
    )

    assert response.status_code == 200, response.text
    expected = [chosen.ids()[kind]] if which in SEES[role] else []
    assert listed_ids(kind, response.json()) == expected
    assert await audit_count(api, action) == before + 1


async def test_admins_read_no_client_data(api: Api, world: World) -> None:
    for kind, (path, _action) in ONE.items():
        response = await api.http.get(
            path.format(world.mine.ids()[kind]), headers=api.as_(Role.ADMIN)
        )
        assert response.status_code == 403, kind


async def test_a_branch_user_sees_their_branchs_complaints_not_anothers(
    api: Api, world: World
) -> None:
    listed = await api.http.get("/api/complaints", headers=api.as_(Role.BRANCH))
    assert [c["id"] for c in listed.json()] == [world.mine.complaint_id]
    by_owner = await api.http.get(
        "/api/complaints",
        params={"owner_branch_id": world_branch_of_other(api)},
        headers=api.as_(Role.BRANCH),
    )
    assert by_owner.json() == []


def world_branch_of_other(api: Api) -> int:
    return api.branch.id + 1  # the BJ01 branch, added right after the test users' own


async def test_an_agent_sees_a_client_from_the_offer_until_their_wrap_up_ends(
    api: Api, world: World
) -> None:
    agent = api.users[Role.AGENT]
    url = f"/api/clients/{world.other.client_id}"
    assert (await api.http.get(url, headers=api.as_(Role.AGENT))).status_code == 404

    # The ACD reserves the agent for the client's call: the pop comes before the ring, and
    # before the offer is written to the call's record.
    call = await add_interaction(api.db, world.other.client_id, dt.datetime.now(dt.UTC))
    async with api.db.write() as session:
        session.add(
            AgentStatusRow(
                agent_id=agent.id,
                state=AgentState.RESERVED,
                since=dt.datetime.now(dt.UTC),
                interaction_id=call,
            )
        )
    assert (await api.http.get(url, headers=api.as_(Role.AGENT))).status_code == 200

    # Offered and answered, then wrapped up: the client is out of the agent's hands again.
    async with api.db.write() as session:
        row = await session.get_one(AgentStatusRow, agent.id)
        row.state, row.interaction_id = AgentState.READY, None
    in_hand = await add_call_in_hand(api.db, world.other.client_id, agent.id)
    assert (await api.http.get(url, headers=api.as_(Role.AGENT))).status_code == 200
    done = await api.http.patch(
        f"/api/interactions/{in_hand}",
        json={"phase": "wrapped_up", "at": dt.datetime.now(dt.UTC).isoformat()},
        headers=api.as_(Role.AGENT),
    )
    assert done.status_code == 200, done.text
    assert (await api.http.get(url, headers=api.as_(Role.AGENT))).status_code == 404
    # Their own call stays theirs to read.
    own = await api.http.get(f"/api/interactions/{in_hand}", headers=api.as_(Role.AGENT))
    assert own.status_code == 200


async def test_an_agent_reaches_another_client_only_with_a_reason_that_is_audited(
    api: Api, world: World
) -> None:
    agent = api.users[Role.AGENT]
    params = {"account_no": "1001000002"}
    blind = await api.http.get("/api/clients", params=params, headers=api.as_(Role.AGENT))
    assert blind.json()["items"] == []

    reason = "client called the branch line, transferred to me"
    found = await api.http.get(
        "/api/clients", params={**params, "reason": reason}, headers=api.as_(Role.AGENT)
    )
    [hit] = found.json()["items"]
    assert hit["id"] == world.other.client_id
    assert hit["phones_masked"] == ["+86138****8002"]
    opened = await api.http.get(
        f"/api/clients/{world.other.client_id}",
        params={"reason": reason},
        headers=api.as_(Role.AGENT),
    )
    assert opened.status_code == 200, opened.text

    async with api.db.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
                .where(AuditEntry.action.in_(("client.search", "client.view")))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(a, actor) for a, actor, _d in rows] == [
        ("client.search", agent.id),
        ("client.search", agent.id),
        ("client.view", agent.id),
    ]
    assert "reason" not in rows[0][2]
    assert rows[1][2]["reason"] == reason
    assert rows[2][2] == {"reason": reason}
    # A reason opens a client, not other people's lists of calls.
    calls = await api.http.get(
        "/api/interactions",
        params={"client_id": world.other.client_id},
        headers=api.as_(Role.AGENT),
    )
    assert calls.json()["items"] == []


async def test_a_reason_opens_nothing_for_an_advisor_and_must_say_something(
    api: Api, world: World
) -> None:
    url = f"/api/clients/{world.other.client_id}"
    advisor = await api.http.get(
        url, params={"reason": "a colleague asked me to"}, headers=api.as_(Role.ADVISOR)
    )
    assert (advisor.status_code, advisor.json()["error"]) == (403, "scope-reason-not-allowed")
    short = await api.http.get(url, params={"reason": "x"}, headers=api.as_(Role.AGENT))
    assert short.status_code == 422


async def test_changes_are_scoped_too(api: Api, world: World) -> None:
    other = world.other
    as_advisor = api.as_(Role.ADVISOR)
    note = await api.http.post(
        f"/api/clients/{other.client_id}/notes", json={"line": "x"}, headers=as_advisor
    )
    follow_up = await api.http.post(
        "/api/follow-ups",
        json={"client_id": other.client_id, "kind": "care_call", "due_on": "2026-12-20"},
        headers=as_advisor,
    )
    complaint_note = await api.http.post(
        f"/api/complaints/{other.complaint_id}/notes", json={"note": "x"}, headers=as_advisor
    )
    done = await api.http.post(
        f"/api/follow-ups/{other.follow_up_id}/complete",
        json={"outcome": "called"},
        headers=as_advisor,
    )
    assert [r.status_code for r in (note, follow_up, complaint_note, done)] == [
        404,
        422,
        404,
        404,
    ]
    assert follow_up.json()["error"] == "unknown-client"


async def test_live_channels_show_callers_to_supervisors_and_mask_them_for_admins(
    api: Api,
) -> None:
    from callcenter.pbx.channels import Channel

    tracker = api.app.state.runtime.tracker
    tracker.channels["1.1"] = Channel(
        "1.1", "PJSIP/trunk-1", "1.1", "Up", "+8613800138000", "张伟", "hotline", "95555"
    )
    whole = (await api.http.get("/api/channels", headers=api.as_(Role.SUPERVISOR))).json()
    masked = (await api.http.get("/api/channels", headers=api.as_(Role.ADMIN))).json()
    assert [(c["caller_number"], c["caller_name"]) for c in whole] == [("+8613800138000", "张伟")]
    assert [(c["caller_number"], c["caller_name"]) for c in masked] == [("+86138****8000", "**")]
