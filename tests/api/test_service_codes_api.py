"""Service codes over HTTP, on SQLite and PostgreSQL: the seeded reasons and dispositions the
desk offers, an admin's changes (validated, versioned, audited), an agent's not-ready reason
checked against the active codes, and a code in use deactivated rather than deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import AuditEntry
from tests.api.conftest import Api

REASONS = "/api/service-codes/not_ready_reason"
DISPOSITIONS = "/api/service-codes/disposition"


@dataclass(frozen=True)
class Audited:
    action: str
    actor_id: int | None
    detail: dict[str, Any]


async def audit(api: Api, prefix: str) -> list[Audited]:
    """The audit entries whose action starts with ``prefix``, in order."""
    async with api.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
        return [Audited(*row) for row in rows]


async def put(api: Api, path: str, body: dict[str, Any], role: Role = Role.ADMIN) -> Any:
    return await api.http.put(path, json=body, headers=api.as_(role))


async def test_the_desk_offers_the_seeded_reasons_and_dispositions_with_their_labels(
    api: Api,
) -> None:
    reasons = (await api.http.get("/api/agents/reasons", headers=api.as_(Role.AGENT))).json()
    assert reasons["reasons"] == ["after_call_work", "break", "lunch", "meeting", "training"]
    assert {"code": "lunch", "label_zh": "用餐", "label_en": "Lunch"} in reasons["labels"]
    answer = await api.http.get("/api/agents/dispositions", headers=api.as_(Role.ADVISOR))
    dispositions = answer.json()
    assert dispositions["dispositions"][:2] == ["information_given", "resolved"]
    assert len(dispositions["dispositions"]) == 9
    assert {"code": "other", "label_zh": "其他", "label_en": "Other"} in dispositions["labels"]


async def test_an_admin_adds_a_reason_agents_can_then_choose_and_it_is_audited(
    api: Api,
) -> None:
    body = {"label_zh": "辅导", "label_en": "Coaching", "sort_order": 5}
    created = await put(api, f"{REASONS}/coaching", body)
    assert created.status_code == 201, created.text
    assert (created.json()["version"], created.json()["active"]) == (1, True)

    reasons = (await api.http.get("/api/agents/reasons", headers=api.as_(Role.AGENT))).json()
    assert reasons["reasons"][0] == "coaching"  # sort order 5 comes before the seeded 10...
    login = await api.http.post("/api/agents/me/login", headers=api.as_(Role.AGENT))
    assert login.status_code == 200, login.text
    away = await api.http.post(
        "/api/agents/me/state",
        json={"state": "not_ready", "reason": "coaching"},
        headers=api.as_(Role.AGENT),
    )
    assert (away.status_code, away.json()["reason"]) == (200, "coaching")

    [entry] = await audit(api, "admin.service_code")
    assert entry.action == "admin.service_code.create"
    assert entry.actor_id == api.users[Role.ADMIN].id
    assert entry.detail["code"] == "coaching"
    assert entry.detail["changes"]["label_en"] == {"from": None, "to": "Coaching"}


async def test_a_deactivated_reason_is_no_longer_offered_nor_accepted(api: Api) -> None:
    codes = (
        await api.http.get(
            "/api/service-codes?kind=not_ready_reason", headers=api.as_(Role.SUPERVISOR)
        )
    ).json()
    lunch = next(c for c in codes if c["code"] == "lunch")
    body = {"label_zh": "用餐", "label_en": "Lunch", "active": False, "version": lunch["version"]}
    changed = await put(api, f"{REASONS}/lunch", body)
    assert (changed.status_code, changed.json()["active"]) == (200, False)

    reasons = (await api.http.get("/api/agents/reasons", headers=api.as_(Role.AGENT))).json()
    assert "lunch" not in reasons["reasons"]
    await api.http.post("/api/agents/me/login", headers=api.as_(Role.AGENT))
    refused = await api.http.post(
        "/api/agents/me/state",
        json={"state": "not_ready", "reason": "lunch"},
        headers=api.as_(Role.AGENT),
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "agent-unknown-reason")
    [entry] = await audit(api, "admin.service_code")
    assert entry.detail["changes"] == {"active": {"from": True, "to": False}}


async def test_a_stale_version_is_409_and_changes_nothing(api: Api) -> None:
    body = {"label_zh": "午饭", "label_en": "Lunch break", "version": 1}
    first = await put(api, f"{REASONS}/lunch", body)
    assert first.status_code == 200, first.text
    again = await put(api, f"{REASONS}/lunch", {**body, "label_en": "Meal"})
    assert (again.status_code, again.json()["error"]) == (409, "stale-version")
    assert again.json()["detail"]["current_version"] == 2
    exists = await put(api, f"{REASONS}/lunch", {"label_zh": "x", "label_en": "x"})
    assert (exists.status_code, exists.json()["error"]) == (409, "service-code-exists")
    missing = await put(api, f"{REASONS}/nap", {"label_zh": "x", "label_en": "x", "version": 1})
    assert (missing.status_code, missing.json()["error"]) == (404, "service-code-not-found")


async def test_bad_codes_and_labels_are_422_naming_the_field(api: Api) -> None:
    missing_en = await put(api, f"{REASONS}/coaching", {"label_zh": "辅导"})
    assert missing_en.status_code == 422
    assert [e["loc"] for e in missing_en.json()["detail"]] == [["body", "label_en"]]
    blank = await put(api, f"{DISPOSITIONS}/sold", {"label_zh": "  ", "label_en": "Sold"})
    assert [e["loc"] for e in blank.json()["detail"]] == [["body", "label_zh"]]
    not_a_slug = await put(api, f"{REASONS}/Coffee-Break", {"label_zh": "a", "label_en": "b"})
    assert (not_a_slug.status_code, not_a_slug.json()["error"]) == (422, "invalid-request")
    assert not_a_slug.json()["detail"][0]["loc"] == ["path", "code"]
    bad_kind = await put(api, "/api/service-codes/mood/happy", {"label_zh": "a", "label_en": "b"})
    assert bad_kind.json()["detail"][0]["loc"] == ["path", "kind"]
    missed = await put(api, f"{REASONS}/missed", {"label_zh": "未接", "label_en": "Missed"})
    assert (missed.status_code, missed.json()["error"]) == (422, "service-code-reserved")
    assert missed.json()["detail"] == {"field": "code"}
    assert await audit(api, "admin.") == []


async def test_only_admins_change_codes_and_supervisors_read_them(api: Api) -> None:
    for role in (Role.SUPERVISOR, Role.AGENT, Role.COMPLIANCE):
        refused = await put(api, f"{REASONS}/coaching", {"label_zh": "a", "label_en": "b"}, role)
        assert refused.status_code == 403, role
        removed = await api.http.delete(f"{REASONS}/lunch?version=1", headers=api.as_(role))
        assert removed.status_code == 403, role
    listed = await api.http.get("/api/service-codes", headers=api.as_(Role.SUPERVISOR))
    assert listed.status_code == 200
    assert {c["kind"] for c in listed.json()} == {"not_ready_reason", "disposition"}
    assert (
        await api.http.get("/api/service-codes", headers=api.as_(Role.AGENT))
    ).status_code == 403
    assert await audit(api, "admin.") == []


async def test_a_code_no_record_uses_is_deleted_one_in_use_is_deactivated(api: Api) -> None:
    unused = await api.http.delete(f"{REASONS}/training?version=1", headers=api.as_(Role.ADMIN))
    assert unused.json() == {"deleted": True, "code": None}

    await api.http.post("/api/agents/me/login", headers=api.as_(Role.AGENT))
    await api.http.post(
        "/api/agents/me/state",
        json={"state": "not_ready", "reason": "meeting"},
        headers=api.as_(Role.AGENT),
    )
    used = await api.http.delete(f"{REASONS}/meeting?version=1", headers=api.as_(Role.ADMIN))
    assert used.status_code == 200, used.text
    assert used.json()["deleted"] is False
    assert (used.json()["code"]["active"], used.json()["code"]["version"]) == (False, 2)

    codes = (
        await api.http.get("/api/service-codes?kind=not_ready_reason", headers=api.as_(Role.ADMIN))
    ).json()
    assert "training" not in {c["code"] for c in codes}
    assert next(c for c in codes if c["code"] == "meeting")["active"] is False
    actions = [(e.action, e.detail["code"]) for e in await audit(api, "admin.service_code")]
    assert actions == [
        ("admin.service_code.delete", "training"),
        ("admin.service_code.deactivate", "meeting"),
    ]


async def test_queue_and_agent_profile_changes_are_audited(api: Api) -> None:
    created = await put(api, "/api/queues/wealth", {"ring_seconds": 20})
    assert created.status_code == 201, created.text
    changed = await put(api, "/api/queues/wealth", {"version": 1, "ring_seconds": 25})
    assert changed.status_code == 200, changed.text
    agent = api.users[Role.AGENT].id
    profile = await put(
        api,
        f"/api/agents/{agent}/profile",
        {"skills": {"funds": 4}, "languages": ["zh", "en"], "queues": ["wealth"]},
    )
    assert profile.status_code == 200, profile.text

    entries = await audit(api, "admin.")
    assert [e.action for e in entries] == [
        "admin.queue.create",
        "admin.queue.update",
        "admin.agent.profile",
    ]
    assert entries[1].detail["changes"] == {"ring_seconds": {"from": 20.0, "to": 25.0}}
    assert entries[2].detail["to"] == {
        "skills": {"funds": 4},
        "languages": ["en", "zh"],
        "queues": ["wealth"],
    }
    assert entries[2].detail["from"]["skills"] == {}
    assert {e.actor_id for e in entries} == {api.users[Role.ADMIN].id}
