"""Staff accounts over HTTP (the admin console), on SQLite and PostgreSQL: an admin creates a
user who can then log in, changes role, branch and extension, deactivates them (their
sessions end, a logged-in agent is logged out first), sets a new password; every change is
audited without the password; refusals carry their ids and fields; only admins change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import AuditEntry, User
from tests.api.conftest import Api, bearer

NEW_PASSWORD = "a-long-first-password"


def new_user(**fields: Any) -> dict[str, Any]:
    return {
        "username": "agent11",
        "display_name": "王芳",
        "role": "agent",
        "extension": "1011",
        "password": NEW_PASSWORD,
        **fields,
    }


async def create(api: Api, acting: Role = Role.ADMIN, **fields: Any) -> Any:
    return await api.http.post("/api/admin/users", json=new_user(**fields), headers=api.as_(acting))


async def patch(api: Api, user_id: int, body: dict[str, Any], role: Role = Role.ADMIN) -> Any:
    return await api.http.patch(f"/api/admin/users/{user_id}", json=body, headers=api.as_(role))


async def audited(api: Api, prefix: str = "admin.user") -> list[tuple[str, int | None, Any]]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


async def log_in(api: Api, username: str, password: str) -> Any:
    return await api.http.post("/api/auth/login", json={"username": username, "password": password})


async def test_an_admin_creates_an_agent_who_can_log_in(api: Api) -> None:
    created = await create(api)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["username"], user["role"], user["extension"], user["active"]) == (
        "agent11",
        "agent",
        "1011",
        True,
    )
    assert "password" not in created.text

    login = await log_in(api, "agent11", NEW_PASSWORD)
    assert login.status_code == 200, login.text
    [(action, actor, detail)] = await audited(api)
    assert (action, actor) == ("admin.user.create", api.users[Role.ADMIN].id)
    assert detail["username"] == "agent11"
    assert NEW_PASSWORD not in str(detail)
    async with api.db.read() as session:
        stored = await session.scalar(select(User.password_hash).where(User.username == "agent11"))
    assert stored is not None
    assert stored.startswith("$argon2id$")


async def test_refusals_name_their_error_and_field(api: Api) -> None:
    weak = await create(api, password="short")
    assert (weak.status_code, weak.json()["error"]) == (422, "weak-password")
    assert weak.json()["detail"] == {"field": "password"}
    taken = await create(api, username="test-agent")
    assert (taken.status_code, taken.json()["error"]) == (409, "username-taken")
    assert taken.json()["detail"]["field"] == "username"
    phone = await create(api, extension="1001")  # test-agent's
    assert (phone.status_code, phone.json()["error"]) == (409, "extension-taken")
    assert phone.json()["detail"]["field"] == "extension"
    branchless = await create(api, role="branch", extension=None)
    assert (branchless.status_code, branchless.json()["error"]) == (422, "branch-required")
    nowhere = await create(api, branch_id=9999)
    assert (nowhere.status_code, nowhere.json()["error"]) == (422, "unknown-branch")
    schema = await create(api, username="Bad Name", role="janitor")
    assert schema.status_code == 422
    assert sorted(e["loc"][-1] for e in schema.json()["detail"]) == ["role", "username"]
    async with api.db.read() as session:
        assert await session.scalar(select(User.id).where(User.username == "agent11")) is None
    assert await audited(api) == []


async def test_role_branch_and_extension_change_and_are_audited(api: Api) -> None:
    user_id = (await create(api)).json()["id"]
    changed = await patch(
        api, user_id, {"role": "branch", "branch_id": api.branch.id, "extension": None}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()["user"]
    assert (body["role"], body["branch_id"], body["extension"]) == ("branch", api.branch.id, None)
    [_, (action, _, detail)] = await audited(api)
    assert action == "admin.user.update"
    assert detail["changes"] == {
        "role": {"from": "agent", "to": "branch"},
        "branch_id": {"from": None, "to": api.branch.id},
        "extension": {"from": "1011", "to": None},
    }
    unbranched = await patch(api, user_id, {"branch_id": None})
    assert (unbranched.status_code, unbranched.json()["error"]) == (422, "branch-required")


async def test_deactivating_ends_the_users_sessions_and_logs_an_agent_out(api: Api) -> None:
    agent = api.users[Role.AGENT]
    agent_headers = api.as_(Role.AGENT)
    assert (await api.http.post("/api/agents/me/login", headers=agent_headers)).status_code == 200

    off = await patch(api, agent.id, {"active": False})
    assert off.status_code == 200, off.text
    assert off.json()["sessions_ended"] == 1
    assert off.json()["user"]["active"] is False

    refused = await api.http.get("/api/auth/me", headers=agent_headers)
    assert refused.status_code == 401
    board = await api.http.get("/api/agents?state=ready", headers=api.as_(Role.SUPERVISOR))
    assert agent.id not in {row["agent_id"] for row in board.json()}
    forced = await audited(api, "agent.state_forced")
    assert [d["to"] for _, _, d in forced] == ["logged_out"]
    login = await log_in(api, agent.username, "whatever-it-was")
    assert login.status_code == 401


async def test_an_admin_cannot_lock_themselves_out(api: Api) -> None:
    admin = api.users[Role.ADMIN].id
    off = await patch(api, admin, {"active": False})
    assert (off.status_code, off.json()["error"]) == (409, "admin-self-lockout")
    demoted = await patch(api, admin, {"role": "supervisor"})
    assert (demoted.status_code, demoted.json()["detail"]["field"]) == (409, "role")
    renamed = await patch(api, admin, {"display_name": "The Admin"})
    assert renamed.status_code == 200


async def test_a_new_password_works_and_ends_the_old_sessions(api: Api) -> None:
    user_id = (await create(api)).json()["id"]
    first = await log_in(api, "agent11", NEW_PASSWORD)
    old = bearer(first.json()["token"])
    api.http.cookies.clear()
    reset = await api.http.post(
        f"/api/admin/users/{user_id}/password",
        json={"password": "another-long-password"},
        headers=api.as_(Role.ADMIN),
    )
    assert (reset.status_code, reset.json()["sessions_ended"]) == (200, 1)
    assert (await api.http.get("/api/auth/me", headers=old)).status_code == 401
    assert (await log_in(api, "agent11", NEW_PASSWORD)).status_code == 401
    assert (await log_in(api, "agent11", "another-long-password")).status_code == 200
    entries = await audited(api)
    assert [action for action, _, _ in entries] == [
        "admin.user.create",
        "admin.user.password_reset",
    ]
    assert not any("long-password" in str(detail) for _, _, detail in entries)


async def test_only_admins_change_accounts_supervisors_read_them(api: Api) -> None:
    target = api.users[Role.AGENT].id
    for role in (Role.SUPERVISOR, Role.AGENT, Role.COMPLIANCE, Role.BRANCH):
        assert (await create(api, role)).status_code == 403, role
        assert (await patch(api, target, {"active": False}, role)).status_code == 403, role
        password = await api.http.post(
            f"/api/admin/users/{target}/password",
            json={"password": "another-long-password"},
            headers=api.as_(role),
        )
        assert password.status_code == 403, role
    listed = await api.http.get("/api/admin/users", headers=api.as_(Role.SUPERVISOR))
    assert listed.status_code == 200
    assert {u["username"] for u in listed.json()} >= {"test-agent", "test-admin"}
    branches = await api.http.get("/api/admin/branches", headers=api.as_(Role.SUPERVISOR))
    assert [b["code"] for b in branches.json()] == ["SH01"]
    assert (await api.http.get("/api/admin/users", headers=api.as_(Role.AGENT))).status_code == 403
    assert await audited(api) == []


async def test_an_admin_resets_a_users_second_factor(api: Api) -> None:
    supervisor = api.users[Role.SUPERVISOR].id
    reset = await api.http.post(
        f"/api/admin/users/{supervisor}/mfa-reset", headers=api.as_(Role.ADMIN)
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["sessions_ended"] == 1
    assert (await api.http.get("/api/auth/me", headers=api.as_(Role.SUPERVISOR))).status_code == 401
    [(action, actor, detail)] = await audited(api, "auth.mfa_reset")
    assert (action, actor, detail["user_id"]) == (
        "auth.mfa_reset",
        api.users[Role.ADMIN].id,
        supervisor,
    )
    refused = await api.http.post(
        f"/api/admin/users/{supervisor}/mfa-reset", headers=api.as_(Role.COMPLIANCE)
    )
    assert refused.status_code == 403
