"""Clients over HTTP: search with masking, the audited 360-degree view, the audited ID reveal,
versioned updates that change everything or nothing."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.vocabulary import ComplaintStatus, FollowUpStatus, Role
from callcenter.persistence import audit
from callcenter.persistence.tables import AuditEntry, Client, ClientPhone, Complaint, FollowUp
from tests.api.conftest import Api
from tests.support.crm_data import (
    RESIDENT_ID,
    T0,
    add_account_months,
    add_call_in_hand,
    add_client,
    add_follow_up,
    add_interaction,
)

MASKED_ID = "3101**********1234"


@dataclass(frozen=True)
class Seeded:
    client_id: int
    interaction_id: int


@pytest.fixture
async def seeded(api: Api) -> Seeded:
    advisor = api.users[Role.ADVISOR]
    client_id = await add_client(
        api.db, api.branch.id, phones=("+8613800138000", "+862150001234"), advisor_id=advisor.id
    )
    # The client's call is in the test agent's hands: the agent may open their record
    # (callcenter/crm/scopes.py); the advisor advises them.
    interaction_id = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    return Seeded(client_id, interaction_id)


async def audit_rows(
    api: Api,
) -> list[tuple[str, int | None, int | None, int | None, dict[str, Any]]]:
    async with api.db.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.action, r.actor_id, r.client_id, r.interaction_id, r.detail) for r in rows]


def field_errors(response: Any) -> dict[tuple[Any, ...], str]:
    """FastAPI's 422 body as {location: message}."""
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["13800138000", "+86 138 0013 8000", "008613800138000"])
async def test_search_by_phone_in_any_form_finds_the_client(
    api: Api, seeded: Seeded, typed: str
) -> None:
    response = await api.http.get(
        "/api/clients", params={"phone": typed}, headers=api.as_(Role.AGENT)
    )
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [seeded.client_id]


async def test_list_items_mask_id_number_and_phones(api: Api, seeded: Seeded) -> None:
    response = await api.http.get(
        "/api/clients", params={"name": "zhang"}, headers=api.as_(Role.AGENT)
    )
    (item,) = response.json()["items"]
    assert item["id_number_masked"] == MASKED_ID
    assert item["phones_masked"] == ["+86138****8000", "+8621****1234"]
    assert RESIDENT_ID not in response.text
    assert "13800138000" not in response.text


async def test_list_items_show_tier_value_class_branch_and_advisor(
    api: Api, seeded: Seeded
) -> None:
    response = await api.http.get(
        "/api/clients", params={"account_no": "1001000001"}, headers=api.as_(Role.AGENT)
    )
    (item,) = response.json()["items"]
    assert (item["tier"], item["value_class"]) == ("gold", "core_volume")
    assert item["branch_name"] == api.branch.name
    assert item["advisor_name"] == api.users[Role.ADVISOR].display_name


@pytest.mark.parametrize("typed", ["ZHANG W", "zhang", "张", "张伟"])
async def test_search_by_name_matches_the_start_of_name_or_latin_spelling_in_any_case(
    api: Api, seeded: Seeded, typed: str
) -> None:
    response = await api.http.get(
        "/api/clients", params={"name": typed}, headers=api.as_(Role.AGENT)
    )
    assert [item["id"] for item in response.json()["items"]] == [seeded.client_id]


@pytest.mark.parametrize("typed", ["wei", "伟", "zhang_", "%"])
async def test_search_by_name_does_not_match_inside_the_name_or_treat_wildcards_as_such(
    api: Api, seeded: Seeded, typed: str
) -> None:
    response = await api.http.get(
        "/api/clients", params={"name": typed}, headers=api.as_(Role.AGENT)
    )
    assert response.json()["items"] == []


async def test_search_by_id_number_is_exact_and_ignores_case_and_spaces(api: Api) -> None:
    client_id = await add_client(api.db, api.branch.id, id_number="31010119900101123X")
    await add_client(api.db, api.branch.id, account_no="1001000002", id_number="310101199001011231")
    # Searched by a supervisor: every client is in their scope (scopes: test_data_scopes.py).
    hits = await api.http.get(
        "/api/clients",
        params={"id_number": "3101 0119 9001 01123x"},
        headers=api.as_(Role.SUPERVISOR),
    )
    prefix = await api.http.get(
        "/api/clients", params={"id_number": "3101011990"}, headers=api.as_(Role.SUPERVISOR)
    )
    assert [item["id"] for item in hits.json()["items"]] == [client_id]
    assert prefix.json()["items"] == []


async def test_search_pages_with_limit_and_offset(api: Api) -> None:
    ids = [
        await add_client(api.db, api.branch.id, account_no=f"10020000{n:02}", name_latin=f"Li {n}")
        for n in range(3)
    ]
    first = await api.http.get(
        "/api/clients", params={"name": "li", "limit": 2}, headers=api.as_(Role.SUPERVISOR)
    )
    second = await api.http.get(
        "/api/clients",
        params={"name": "li", "limit": 2, "offset": 2},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert [i["id"] for i in first.json()["items"]] == ids[:2]
    assert first.json()["has_more"] is True
    assert [i["id"] for i in second.json()["items"]] == ids[2:]
    assert second.json()["has_more"] is False


async def test_search_without_a_criterion_is_refused(api: Api) -> None:
    response = await api.http.get("/api/clients", params={"limit": 5}, headers=api.as_(Role.AGENT))
    assert any("at least one of" in message for message in field_errors(response).values())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"phone": "12"}, ("query", "phone")),
        ({"phone": "call me"}, ("query", "phone")),
        ({"name": "li", "limit": 101}, ("query", "limit")),
        ({"name": "li", "limit": 0}, ("query", "limit")),
        ({"name": "li", "offset": -1}, ("query", "offset")),
        ({"name": ""}, ("query", "name")),
    ],
)
async def test_invalid_search_input_names_the_field(
    api: Api, params: dict[str, Any], field: tuple[str, ...]
) -> None:
    response = await api.http.get("/api/clients", params=params, headers=api.as_(Role.AGENT))
    assert field in field_errors(response)


# --- the 360-degree view ---------------------------------------------------------------------


async def test_view_shows_full_phones_but_masked_id_number(api: Api, seeded: Seeded) -> None:
    response = await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))
    profile = response.json()["profile"]
    assert [p["e164"] for p in profile["phones"]] == ["+8613800138000", "+862150001234"]
    assert profile["phones"][0]["is_primary"] is True
    assert profile["id_number_masked"] == MASKED_ID
    assert RESIDENT_ID not in response.text


async def test_view_shows_advisor_risk_profile_and_suitability_notes(api: Api) -> None:
    advisor = api.users[Role.ADVISOR]
    client_id = await add_client(
        api.db, api.branch.id, advisor_id=advisor.id, notes="prefers low-risk funds"
    )
    # Read by their advisor: the client is in the advisor's book.
    profile = (
        await api.http.get(f"/api/clients/{client_id}", headers=api.as_(Role.ADVISOR))
    ).json()["profile"]
    assert profile["advisor"] == {
        "id": advisor.id,
        "display_name": advisor.display_name,
        "extension": advisor.extension,
    }
    assert (profile["risk_profile"], profile["risk_assessed_on"]) == ("balanced", "2025-05-01")
    assert profile["notes"] == "prefers low-risk funds"


async def test_view_shows_latest_account_in_fen_and_yuan_and_twelve_months_of_assets(
    api: Api, seeded: Seeded
) -> None:
    assets = [100_000_00 + n * 1_000_00 for n in range(14)]  # 14 months, Jan 2025 - Feb 2026
    await add_account_months(api.db, seeded.client_id, dt.date(2025, 1, 1), assets)
    view = (
        await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))
    ).json()
    account = view["account"]
    assert account["period"] == "2026-02-01"
    assert account["total_assets"] == {"fen": 11_300_000, "yuan": "113000.00"}
    assert account["turnover"] == {"fen": 5_650_000, "yuan": "56500.00"}
    assert account["commission"] == {"fen": 2825, "yuan": "28.25"}
    assert account["positions"][0]["value"] == {"fen": 15_000_000, "yuan": "150000.00"}
    trend = view["asset_trend"]
    assert [p["period"] for p in trend] == [f"2025-{m:02}-01" for m in range(3, 13)] + [
        "2026-01-01",
        "2026-02-01",
    ]
    assert [p["total_assets"]["fen"] for p in trend] == assets[2:]


async def test_view_without_account_history_has_no_account(api: Api, seeded: Seeded) -> None:
    view = (
        await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))
    ).json()
    assert (view["account"], view["asset_trend"]) == (None, [])


async def test_view_lists_the_last_ten_interactions_newest_first(api: Api, seeded: Seeded) -> None:
    for hour in range(1, 12):
        await add_interaction(api.db, seeded.client_id, T0 + dt.timedelta(hours=hour))
    view = (
        await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))
    ).json()
    started = [i["started_at"] for i in view["recent_interactions"]]
    assert len(started) == 10
    assert started == sorted(started, reverse=True)
    # The newest is the call in hand (started minutes ago), then the eleventh hour's.
    assert dt.datetime.fromisoformat(started[1]) == T0 + dt.timedelta(hours=11)


async def test_view_shows_open_complaints_and_open_follow_ups_soonest_first(
    api: Api, seeded: Seeded
) -> None:
    async with api.db.write() as session:
        for status in (ComplaintStatus.INVESTIGATING, ComplaintStatus.CLOSED):
            session.add(
                Complaint(
                    client_id=seeded.client_id,
                    category_code="advice.suitability",
                    status=status,
                    summary=f"a {status} complaint",
                    description="…",
                    response_due_at=T0 + dt.timedelta(days=2),
                )
            )
    late = await add_follow_up(api.db, seeded.client_id, dt.date(2026, 4, 1))
    soon = await add_follow_up(api.db, seeded.client_id, dt.date(2026, 3, 5))
    done = await add_follow_up(api.db, seeded.client_id, dt.date(2026, 3, 1))
    async with api.db.write() as session:
        (await session.get_one(FollowUp, done)).status = FollowUpStatus.DONE
    view = (
        await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))
    ).json()
    assert [c["status"] for c in view["open_complaints"]] == ["investigating"]
    assert [f["id"] for f in view["follow_ups_due"]] == [soon, late]


async def test_every_view_is_audited_with_who_which_client_and_which_call(
    api: Api, seeded: Seeded
) -> None:
    agent = api.users[Role.AGENT]
    supervisor = api.users[Role.SUPERVISOR]
    await api.http.get(
        f"/api/clients/{seeded.client_id}",
        params={"interaction_id": seeded.interaction_id},
        headers=api.as_(Role.AGENT),
    )
    await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.SUPERVISOR))
    assert await audit_rows(api) == [
        ("client.view", agent.id, seeded.client_id, seeded.interaction_id, {}),
        ("client.view", supervisor.id, seeded.client_id, None, {}),
    ]


async def test_a_search_is_audited_with_the_kinds_of_criterion_and_the_clients_shown(
    api: Api, seeded: Seeded
) -> None:
    await api.http.get("/api/clients", params={"name": "zhang"}, headers=api.as_(Role.AGENT))
    agent = api.users[Role.AGENT]
    # The kind of criterion, never the value typed (a name, a phone, an ID number).
    assert await audit_rows(api) == [
        ("client.search", agent.id, None, None, {"by": ["name"], "clients": [seeded.client_id]})
    ]


async def test_viewing_an_unknown_client_is_404_and_not_audited(api: Api) -> None:
    response = await api.http.get("/api/clients/999", headers=api.as_(Role.AGENT))
    assert response.status_code == 404
    assert response.json()["error"] == "client-not-found"
    assert await audit_rows(api) == []


async def test_viewing_for_an_unknown_call_is_422(api: Api, seeded: Seeded) -> None:
    response = await api.http.get(
        f"/api/clients/{seeded.client_id}",
        params={"interaction_id": 999},
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unknown-interaction"
    assert await audit_rows(api) == []


async def test_view_refuses_a_client_id_that_is_not_positive(api: Api) -> None:
    response = await api.http.get("/api/clients/0", headers=api.as_(Role.AGENT))
    assert ("path", "client_id") in field_errors(response)


# --- reveal ----------------------------------------------------------------------------------


async def test_reveal_returns_the_full_id_number_and_audits_the_reason(
    api: Api, seeded: Seeded
) -> None:
    response = await api.http.post(
        f"/api/clients/{seeded.client_id}/reveal-id",
        json={
            "reason": "client asks to confirm the ID on file",
            "interaction_id": seeded.interaction_id,
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.json() == {"client_id": seeded.client_id, "id_number": RESIDENT_ID}
    assert await audit_rows(api) == [
        (
            "client.reveal_id",
            api.users[Role.AGENT].id,
            seeded.client_id,
            seeded.interaction_id,
            {"reason": "client asks to confirm the ID on file"},
        )
    ]


@pytest.mark.parametrize("body", [{}, {"reason": "   "}, {"reason": "because"}])
async def test_reveal_without_a_real_reason_is_refused(
    api: Api, seeded: Seeded, body: dict[str, Any]
) -> None:
    response = await api.http.post(
        f"/api/clients/{seeded.client_id}/reveal-id", json=body, headers=api.as_(Role.AGENT)
    )
    assert ("body", "reason") in field_errors(response)
    assert await audit_rows(api) == []


async def test_reveal_for_an_unknown_client_is_404(api: Api) -> None:
    response = await api.http.post(
        "/api/clients/999/reveal-id",
        json={"reason": "verifying identity"},
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 404


async def test_no_full_id_number_reaches_a_log_line(
    api: Api, seeded: Seeded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="callcenter")
    headers = api.as_(Role.AGENT)
    await api.http.get(f"/api/clients/{seeded.client_id}", headers=headers)
    await api.http.post(
        f"/api/clients/{seeded.client_id}/reveal-id",
        json={"reason": "verifying identity"},
        headers=headers,
    )
    await api.http.patch(
        f"/api/clients/{seeded.client_id}",
        json={"version": 1, "notes": "ok"},
        headers=headers,
    )
    ours = [r for r in caplog.records if r.name.startswith("callcenter")]
    assert any("revealed" in r.getMessage() for r in ours)
    assert not any(RESIDENT_ID in r.getMessage() for r in ours)


# --- updates ---------------------------------------------------------------------------------


async def test_patch_updates_contact_consent_notes_and_risk_profile(
    api: Api, seeded: Seeded
) -> None:
    response = await api.http.patch(
        f"/api/clients/{seeded.client_id}",
        json={
            "version": 1,
            "email": "wei@example.com",
            "address": None,
            "consent_marketing": True,
            "notes": "suitability reviewed",
            "risk_profile": "conservative",
            "risk_assessed_on": "2026-03-01",
        },
        headers=api.as_(Role.ADVISOR),
    )
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["version"] == 2
    assert (profile["email"], profile["address"]) == ("wei@example.com", None)
    assert profile["consent_marketing"] is True
    assert profile["consent_recording"] is True  # left out: unchanged
    assert (profile["risk_profile"], profile["risk_assessed_on"]) == ("conservative", "2026-03-01")
    assert profile["notes"] == "suitability reviewed"


async def test_patch_replaces_phones_as_a_normalised_set(api: Api, seeded: Seeded) -> None:
    response = await api.http.patch(
        f"/api/clients/{seeded.client_id}",
        json={
            "version": 1,
            "phones": [
                {"number": "139 0000 0001"},
                {"number": "+85291234567", "kind": "office"},
            ],
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.json()["phones"] == [
        {"e164": "+8613900000001", "kind": "mobile", "is_primary": True},
        {"e164": "+85291234567", "kind": "office", "is_primary": False},
    ]
    old = await api.http.get(
        "/api/clients", params={"phone": "13800138000"}, headers=api.as_(Role.AGENT)
    )
    assert old.json()["items"] == []


async def test_patch_is_audited_with_the_changed_fields_not_their_values(
    api: Api, seeded: Seeded
) -> None:
    await api.http.patch(
        f"/api/clients/{seeded.client_id}",
        json={"version": 1, "notes": "private remark", "phones": [{"number": "13900000001"}]},
        headers=api.as_(Role.AGENT),
    )
    assert await audit_rows(api) == [
        (
            "client.update",
            api.users[Role.AGENT].id,
            seeded.client_id,
            None,
            {"fields": ["notes", "phones"]},
        )
    ]


async def test_patch_with_a_stale_version_is_409_and_changes_nothing(
    api: Api, seeded: Seeded
) -> None:
    url = f"/api/clients/{seeded.client_id}"
    first = await api.http.patch(
        url, json={"version": 1, "notes": "first"}, headers=api.as_(Role.AGENT)
    )
    stale = await api.http.patch(
        url, json={"version": 1, "notes": "second"}, headers=api.as_(Role.AGENT)
    )
    assert first.status_code == 200
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale-version"
    assert stale.json()["detail"] == {"current_version": 2}
    async with api.db.read() as session:
        assert await session.scalar(select(Client.notes)) == "first"


async def test_patch_of_an_unknown_client_is_404(api: Api) -> None:
    response = await api.http.patch(
        "/api/clients/999", json={"version": 1, "notes": "x"}, headers=api.as_(Role.AGENT)
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"version": 1, "phones": [{"number": "13900000001"}, {"number": "12"}]},
            ("body", "phones", 1, "number"),
        ),
        (
            {"version": 1, "phones": [{"number": "13900000001"}, {"number": "+86 139 0000 0001"}]},
            ("body", "phones"),
        ),
        (
            {
                "version": 1,
                "phones": [
                    {"number": "13900000001", "is_primary": True},
                    {"number": "13900000002", "is_primary": True},
                ],
            },
            ("body", "phones"),
        ),
        (
            {"version": 1, "phones": [{"number": "13900000001", "kind": "pager"}]},
            ("body", "phones", 0, "kind"),
        ),
        ({"version": 1, "email": "not-an-address"}, ("body", "email")),
        ({"version": 1, "consent_marketing": None}, ("body", "consent_marketing")),
        ({"version": 1, "risk_profile": "reckless"}, ("body", "risk_profile")),
        ({"version": 1, "tier": "vip"}, ("body", "tier")),
        ({"notes": "no version"}, ("body", "version")),
        ({"version": 0, "notes": "x"}, ("body", "version")),
    ],
)
async def test_invalid_patch_names_the_field_and_changes_nothing(
    api: Api, seeded: Seeded, body: dict[str, Any], field: tuple[Any, ...]
) -> None:
    response = await api.http.patch(
        f"/api/clients/{seeded.client_id}", json=body, headers=api.as_(Role.AGENT)
    )
    assert field in field_errors(response)
    async with api.db.read() as session:
        assert await session.scalar(select(Client.version)) == 1


async def test_patch_that_changes_nothing_is_refused(api: Api, seeded: Seeded) -> None:
    response = await api.http.patch(
        f"/api/clients/{seeded.client_id}", json={"version": 1}, headers=api.as_(Role.AGENT)
    )
    assert any("nothing to change" in m for m in field_errors(response).values())


async def test_patch_failing_after_the_client_and_phones_were_written_changes_nothing(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def audit_writer_fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    # The audit entry is written last in the transaction: client row and phones are already
    # changed when it fails.
    monkeypatch.setattr(audit, "record_audit", audit_writer_fails)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        await api.http.patch(
            f"/api/clients/{seeded.client_id}",
            json={"version": 1, "email": "new@example.com", "phones": [{"number": "13900000001"}]},
            headers=api.as_(Role.AGENT),
        )
    async with api.db.read() as session:
        client = await session.get_one(Client, seeded.client_id)
        assert (client.email, client.version) == ("zhang.wei@example.cn", 1)
        phones = (await session.scalars(select(ClientPhone.e164).order_by(ClientPhone.id))).all()
        assert phones == ["+8613800138000", "+862150001234"]


async def test_view_is_not_returned_when_its_audit_entry_cannot_be_written(
    api: Api, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def audit_writer_fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record_audit", audit_writer_fails)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        await api.http.get(f"/api/clients/{seeded.client_id}", headers=api.as_(Role.AGENT))


# --- notes -----------------------------------------------------------------------------------


async def test_notes_are_appended_line_by_line_and_audited(api: Api, seeded: Seeded) -> None:
    url = f"/api/clients/{seeded.client_id}/notes"
    await api.http.post(url, json={"line": "asked about IPO dates"}, headers=api.as_(Role.AGENT))
    response = await api.http.post(
        url,
        json={"line": "call back Friday", "interaction_id": seeded.interaction_id},
        headers=api.as_(Role.AGENT),
    )
    assert response.json()["notes"] == "asked about IPO dates\ncall back Friday"
    assert response.json()["version"] == 3
    assert [(r[0], r[3]) for r in await audit_rows(api)] == [
        ("client.note", None),
        ("client.note", seeded.interaction_id),
    ]
