"""Each person's own SIP credentials over HTTP (issue 19), on SQLite and PostgreSQL: handed
only to the logged-in person, never cached, audited without the secret; rotated by the
person or a supervisor/admin. The service here has no PBX: the secrets are made, stored
sealed and handed out, not applied to Asterisk (tests/integration/test_phone_credentials_
real_asterisk.py does that)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import AuditEntry, PhoneSecret, User
from tests.api.conftest import Api


async def credentials(api: Api, role: Role = Role.AGENT) -> Any:
    response = await api.http.get("/api/me/phone", headers=api.as_(role))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


async def audit(api: Api, action: str) -> list[tuple[int | None, dict[str, Any]]]:
    """The entries of ``action``, oldest first: (who, detail)."""
    stmt = (
        select(AuditEntry.actor_id, AuditEntry.detail)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
    )
    async with api.db.read() as session:
        return [(actor, dict(detail)) for actor, detail in (await session.execute(stmt)).all()]


async def test_a_person_gets_their_own_credentials_for_both_lines(api: Api) -> None:
    agent = api.users[Role.AGENT]
    body = await credentials(api)
    ext = agent.extension
    assert body["extension"] == ext
    web, desk = body["web"], body["desk"]
    secret = web["password"]
    assert len(secret) >= 20
    assert web == {
        "uri": f"sip:{ext}-web@127.0.0.1",
        "ws_url": "wss://127.0.0.1:8089/ws",
        "authorization_user": f"{ext}-web",
        "password": secret,
        "realm": "callcenter",
    }
    assert desk == {"username": ext, "password": secret, "server": "127.0.0.1:5060"}
    # The same secret until it is rotated; another person has another one.
    assert (await credentials(api))["web"]["password"] == secret
    other = await credentials(api, Role.SUPERVISOR)
    assert other["extension"] == api.users[Role.SUPERVISOR].extension
    assert other["web"]["password"] != secret


async def test_the_secret_is_stored_sealed_and_never_audited(api: Api) -> None:
    agent = api.users[Role.AGENT]
    secret = (await credentials(api))["web"]["password"]
    async with api.db.read() as session:
        sealed = (
            await session.execute(select(PhoneSecret.sealed).where(PhoneSecret.user_id == agent.id))
        ).scalar_one()
    assert secret not in sealed
    assert sealed.startswith("v1.")
    issued = await audit(api, "phone.credentials_issued")
    assert issued == [(agent.id, {"extension": agent.extension})]


async def test_credentials_need_a_session_and_an_extension(api: Api) -> None:
    anonymous = await api.http.get("/api/me/phone")
    assert anonymous.status_code == 401
    async with api.db.write() as session:
        await session.execute(
            update(User).where(User.id == api.users[Role.ADVISOR].id).values(extension=None)
        )
    none = await api.http.get("/api/me/phone", headers=api.as_(Role.ADVISOR))
    assert (none.status_code, none.json()["error"]) == (404, "no-extension")
    rotate = await api.http.post("/api/me/phone/rotate", headers=api.as_(Role.ADVISOR))
    assert (rotate.status_code, rotate.json()["error"]) == (404, "no-extension")


async def test_a_person_rotates_their_secret(api: Api) -> None:
    agent = api.users[Role.AGENT]
    old = (await credentials(api))["web"]["password"]
    rotated = await api.http.post("/api/me/phone/rotate", headers=api.as_(Role.AGENT))
    assert rotated.status_code == 204
    assert rotated.headers["cache-control"] == "no-store"
    new = (await credentials(api))["web"]["password"]
    assert new != old
    entries = await audit(api, "phone.credentials_rotated")
    assert entries == [(agent.id, {"user_id": agent.id})]


async def test_supervisors_and_admins_rotate_someone_elses_secret_agents_do_not(
    api: Api,
) -> None:
    agent = api.users[Role.AGENT]
    old = (await credentials(api))["web"]["password"]
    path = f"/api/users/{agent.id}/phone/rotate"
    for role in (Role.AGENT, Role.ADVISOR):
        refused = await api.http.post(path, headers=api.as_(role))
        assert refused.status_code == 403
    assert (await credentials(api))["web"]["password"] == old
    seen = {old}
    for role in (Role.SUPERVISOR, Role.ADMIN):
        assert (await api.http.post(path, headers=api.as_(role))).status_code == 204
        new = (await credentials(api))["web"]["password"]
        assert new not in seen
        seen.add(new)
    entries = await audit(api, "phone.credentials_rotated")
    assert [actor for actor, _ in entries] == [
        api.users[Role.SUPERVISOR].id,
        api.users[Role.ADMIN].id,
    ]
    unknown = await api.http.post("/api/users/999999/phone/rotate", headers=api.as_(Role.ADMIN))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "user-not-found")


async def test_a_secret_sealed_with_another_key_is_replaced_not_handed_out(api: Api) -> None:
    # The service's key changed (or the sealed value was copied from another user's row):
    # the old secret cannot be opened, so the person gets a new one, never an error.
    agent, other = api.users[Role.AGENT], api.users[Role.ADVISOR]
    await credentials(api, Role.ADVISOR)
    async with api.db.write() as session:
        theirs = (
            await session.execute(select(PhoneSecret.sealed).where(PhoneSecret.user_id == other.id))
        ).scalar_one()
        session.add(PhoneSecret(user_id=agent.id, sealed=theirs))
    body = await credentials(api)
    assert body["extension"] == agent.extension
    assert body["web"]["password"] != (await credentials(api, Role.ADVISOR))["web"]["password"]
    async with api.db.read() as session:
        mine = (
            await session.execute(select(PhoneSecret.sealed).where(PhoneSecret.user_id == agent.id))
        ).scalar_one()
    assert mine != theirs


async def test_a_manager_may_rotate_someone_who_has_no_line_any_more(api: Api) -> None:
    # Deactivated, or their extension taken away: the phones' file is written again without
    # them (no PBX here: nothing to write), which is what cuts off a phone still registered.
    advisor = api.users[Role.ADVISOR]
    async with api.db.write() as session:
        await session.execute(update(User).where(User.id == advisor.id).values(active=False))
    path = f"/api/users/{advisor.id}/phone/rotate"
    assert (await api.http.post(path, headers=api.as_(Role.SUPERVISOR))).status_code == 204
    assert await audit(api, "phone.credentials_rotated") == []  # nothing was rotated
