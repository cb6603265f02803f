"""The audit log for compliance over HTTP, on both databases: filters, pages, the CSV export
(streamed, round-trips to the JSON listing), role refusals, and that reading and exporting
the log are audited themselves."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.audit import record_audit
from callcenter.persistence.tables import AuditEntry
from tests.api.conftest import Api
from tests.support.crm_data import add_client

DAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


async def _seed_log(api: Api) -> tuple[int, int]:
    """Six entries over three days, by two actors, about two clients."""
    one = await add_client(api.db, api.branch.id, account_no="1001", phones=("+8613800000001",))
    two = await add_client(api.db, api.branch.id, account_no="1002", phones=("+8613800000002",))
    agent = api.users[Role.AGENT].id
    supervisor = api.users[Role.SUPERVISOR].id
    entries: list[tuple[int, str, int | None, dict[str, Any], dt.datetime]] = [
        (agent, "client.view", one, {}, DAY + dt.timedelta(hours=1)),
        (
            agent,
            "client.reveal_id",
            one,
            {"reason": "=caller, 核对身份"},
            DAY + dt.timedelta(hours=2),
        ),
        (supervisor, "client.view", two, {}, DAY + dt.timedelta(days=1)),
        (agent, "client.view", two, {}, DAY + dt.timedelta(days=1, hours=3)),
        (
            supervisor,
            "call.monitored",
            None,
            {"agent_id": agent, "mode": "listen"},
            DAY + dt.timedelta(days=2),
        ),
        (agent, "client.note", one, {}, DAY + dt.timedelta(days=2, hours=5)),
    ]
    async with api.db.write() as session:
        for actor, action, client, detail, at in entries:
            await record_audit(session, actor, action, client, detail=detail, at=at)
    return one, two


def _page(answer: Any) -> list[tuple[str, int | None]]:
    assert answer.status_code == 200, answer.text
    return [(e["action"], e["client_id"]) for e in answer.json()["items"]]


async def test_compliance_filters_the_log_by_time_actor_action_and_client(api: Api) -> None:
    one, two = await _seed_log(api)
    headers = api.as_(Role.COMPLIANCE)
    get = api.http.get

    day_two = {
        "from": (DAY + dt.timedelta(days=1)).isoformat(),
        "to": (DAY + dt.timedelta(days=2)).isoformat(),
    }
    assert _page(await get("/api/audit", params=day_two, headers=headers)) == [
        ("client.view", two),
        ("client.view", two),
    ]
    by_supervisor = {"actor_id": api.users[Role.SUPERVISOR].id, "to": "2026-12-01T00:00:00Z"}
    assert _page(await get("/api/audit", params=by_supervisor, headers=headers)) == [
        ("client.view", two),
        ("call.monitored", None),
    ]
    assert _page(
        await get("/api/audit", params={"client_id": one, "action": "client.view"}, headers=headers)
    ) == [("client.view", one)]
    first = await get("/api/audit", params={"client_id": one}, headers=headers)
    entry = first.json()["items"][1]
    assert entry["actor_username"] == "test-agent"
    assert entry["detail"] == {"reason": "=caller, 核对身份"}


async def test_pages_follow_the_log_in_order(api: Api) -> None:
    await _seed_log(api)
    headers = api.as_(Role.COMPLIANCE)
    window = {"to": "2026-12-01T00:00:00Z"}
    seen: list[int] = []
    offset = 0
    while True:
        answer = await api.http.get(
            "/api/audit", params={**window, "limit": 4, "offset": offset}, headers=headers
        )
        body = answer.json()
        seen += [e["id"] for e in body["items"]]
        if not body["has_more"]:
            break
        offset += 4
    assert len(seen) == 6
    assert seen == sorted(seen)


async def test_a_window_that_ends_before_it_starts_is_refused(api: Api) -> None:
    answer = await api.http.get(
        "/api/audit",
        params={"from": "2026-11-03T00:00:00Z", "to": "2026-11-02T00:00:00Z"},
        headers=api.as_(Role.COMPLIANCE),
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid-request")


@pytest.mark.parametrize(
    "role", [Role.AGENT, Role.ADVISOR, Role.SUPERVISOR, Role.ADMIN, Role.BRANCH]
)
async def test_only_compliance_reads_or_exports_the_log(api: Api, role: Role) -> None:
    for path in ("/api/audit", "/api/audit/export.csv"):
        answer = await api.http.get(path, headers=api.as_(role))
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "forbidden"


async def test_the_csv_export_round_trips_to_the_listing_and_is_audited(api: Api) -> None:
    await _seed_log(api)
    headers = api.as_(Role.COMPLIANCE)
    window = {"from": DAY.isoformat(), "to": (DAY + dt.timedelta(days=3)).isoformat()}

    listing = (await api.http.get("/api/audit", params=window, headers=headers)).json()["items"]
    export = await api.http.get("/api/audit/export.csv", params=window, headers=headers)

    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["cache-control"] == "no-store"
    text = export.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == len(listing) == 6
    for row, entry in zip(rows, listing, strict=True):
        assert int(row["id"]) == entry["id"]
        assert dt.datetime.fromisoformat(row["at"]) == dt.datetime.fromisoformat(entry["at"])
        assert row["actor_username"] == entry["actor_username"]
        assert row["action"] == entry["action"]
        assert (int(row["client_id"]) if row["client_id"] else None) == entry["client_id"]
        assert json.loads(row["detail"]) == entry["detail"]
    async with api.db.read() as session:
        audited = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export"))
        ).all()
        assert [(e.actor_id, e.detail["via"], e.detail["from"]) for e in audited] == [
            (api.users[Role.COMPLIANCE].id, "api", DAY.isoformat())
        ]
        queried = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.query"))
        ).all()
        assert len(queried) == 1


async def test_the_export_streams_every_entry_past_one_batch(api: Api) -> None:
    client = await add_client(api.db, api.branch.id)
    async with api.db.write() as session:
        for minute in range(2500):
            await record_audit(
                session,
                None,
                "client.view",
                client,
                detail={"n": minute},
                at=DAY + dt.timedelta(minutes=minute),
            )
    answer = await api.http.get(
        "/api/audit/export.csv",
        params={"client_id": client, "action": "client.view"},
        headers=api.as_(Role.COMPLIANCE),
    )
    rows = list(csv.DictReader(io.StringIO(answer.content.decode().removeprefix("\ufeff"))))
    assert [json.loads(r["detail"])["n"] for r in rows] == list(range(2500))
