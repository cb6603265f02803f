"""The do-not-call list over HTTP, on SQLite and PostgreSQL: numbers stored in E.164 whatever
form they are typed in, one entry per number, versioned changes, audited with the number
masked, what the dialler will ask (care calls vs all calls, expiry), and who may do what."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence import dnc
from callcenter.persistence.tables import AuditEntry
from tests.api.conftest import Api


async def add(api: Api, role: Role = Role.ADMIN, **fields: Any) -> Any:
    body = {"number": "138 0013 8000", "scope": "care", "reason": "asked on the phone", **fields}
    return await api.http.post("/api/dnc", json=body, headers=api.as_(role))


async def audited(api: Api) -> list[tuple[str, int | None, Any]]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
            .where(AuditEntry.action.startswith("admin.dnc"))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_an_entry_is_stored_in_e164_and_audited_with_the_number_masked(api: Api) -> None:
    created = await add(api)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["number"], entry["scope"], entry["version"]) == ("+8613800138000", "care", 1)
    assert entry["added_by_id"] == api.users[Role.ADMIN].id

    [(action, actor, detail)] = await audited(api)
    assert (action, actor) == ("admin.dnc.create", api.users[Role.ADMIN].id)
    assert detail["number"] == "+86138****8000"
    assert "13800138000" not in str(detail)

    again = await add(api, number="+86 13800138000", scope="all")
    assert (again.status_code, again.json()["error"]) == (409, "dnc-exists")
    assert again.json()["detail"]["field"] == "number"
    found = await api.http.get("/api/dnc?number=86138", headers=api.as_(Role.SUPERVISOR))
    assert [e["id"] for e in found.json()["items"]] == [entry["id"]]
    other = await api.http.get("/api/dnc?number=+852", headers=api.as_(Role.SUPERVISOR))
    assert other.json()["total"] == 0


async def test_bad_input_is_422_naming_the_field(api: Api) -> None:
    not_a_number = await add(api, number="call me maybe")
    assert (not_a_number.status_code, not_a_number.json()["error"]) == (
        422,
        "invalid-phone-number",
    )
    assert not_a_number.json()["detail"] == {"field": "number"}
    schema = await add(api, scope="sometimes", reason=" ")
    assert schema.status_code == 422
    assert sorted(e["loc"][-1] for e in schema.json()["detail"]) == ["reason", "scope"]
    naive = await add(api, expires_at="2027-01-01T00:00:00")
    assert [e["loc"][-1] for e in naive.json()["detail"]] == ["expires_at"]
    assert await audited(api) == []


async def test_changes_are_versioned_and_removal_is_audited(api: Api) -> None:
    entry = (await add(api)).json()
    path = f"/api/dnc/{entry['id']}"
    body = {"scope": "all", "reason": "complained about calls", "version": 1}
    changed = await api.http.put(path, json=body, headers=api.as_(Role.ADMIN))
    assert (changed.status_code, changed.json()["scope"], changed.json()["version"]) == (
        200,
        "all",
        2,
    )
    stale = await api.http.put(path, json=body, headers=api.as_(Role.ADMIN))
    assert (stale.status_code, stale.json()["error"]) == (409, "stale-version")
    stale_delete = await api.http.delete(f"{path}?version=1", headers=api.as_(Role.ADMIN))
    assert stale_delete.status_code == 409
    removed = await api.http.delete(f"{path}?version=2", headers=api.as_(Role.ADMIN))
    assert removed.status_code == 204
    gone = await api.http.get(path, headers=api.as_(Role.ADMIN))
    assert (gone.status_code, gone.json()["error"]) == (404, "dnc-not-found")
    entries = await audited(api)
    assert [action for action, _, _ in entries] == [
        "admin.dnc.create",
        "admin.dnc.update",
        "admin.dnc.delete",
    ]
    assert entries[1][2]["changes"]["scope"] == {"from": "care", "to": "all"}


async def test_what_the_dialler_asks_scope_and_expiry(api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    await add(api, number="+8613800138000", scope="care")
    await add(api, number="+8613900139000", scope="all")
    expired = (now - dt.timedelta(days=1)).isoformat()
    await add(api, number="+8613700137000", scope="all", expires_at=expired)
    async with api.db.read() as session:
        care_only = "+8613800138000"
        assert await dnc.blocks(session, care_only, care_call=True) is not None
        assert await dnc.blocks(session, care_only, care_call=False) is None
        assert await dnc.blocks(session, "+8613900139000", care_call=False) is not None
        assert await dnc.blocks(session, "+8613700137000", care_call=False) is None
        assert await dnc.blocks(session, "+8613600136000", care_call=True) is None
    live = await api.http.get("/api/dnc?include_expired=false", headers=api.as_(Role.ADMIN))
    assert {e["number"] for e in live.json()["items"]} == {"+8613800138000", "+8613900139000"}


async def test_only_admins_change_the_list_supervisors_read_it(api: Api) -> None:
    entry = (await add(api)).json()
    path = f"/api/dnc/{entry['id']}"
    for role in (Role.SUPERVISOR, Role.AGENT, Role.ADVISOR, Role.COMPLIANCE, Role.BRANCH):
        assert (await add(api, role, number="+8613900139000")).status_code == 403, role
        body = {"scope": "all", "reason": "x", "version": 1}
        assert (await api.http.put(path, json=body, headers=api.as_(role))).status_code == 403
        assert (
            await api.http.delete(f"{path}?version=1", headers=api.as_(role))
        ).status_code == 403
    assert (await api.http.get(path, headers=api.as_(Role.SUPERVISOR))).status_code == 200
    assert (await api.http.get("/api/dnc", headers=api.as_(Role.AGENT))).status_code == 403
    assert len(await audited(api)) == 1
