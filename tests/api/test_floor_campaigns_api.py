"""The wallboard's campaign progress from stored work items (issue 18, point 6), on SQLite and
PostgreSQL: open, due now, done today and today's dials per kind, read by the running app's
floor and shown by GET /api/supervision/floor (the floor.snapshot's picture)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, Role
from callcenter.persistence.tables import FollowUp, FollowUpAttempt
from tests.api.conftest import Api
from tests.support.crm_data import add_client

FLOOR = "/api/supervision/floor"


def item(client: int, kind: FollowUpKind, **values: Any) -> FollowUp:
    return FollowUp(
        client_id=client,
        kind=kind,
        status=values.pop("status", FollowUpStatus.OPEN),
        due_on=dt.date.today(),
        **values,
    )


async def test_the_floor_shows_each_kinds_progress_from_the_records(api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    client = await add_client(api.db, api.branch.id)
    agent = api.users[Role.AGENT].id
    async with api.db.write() as session:
        due = item(client, FollowUpKind.CALLBACK, priority=2)
        later = item(client, FollowUpKind.CALLBACK, next_attempt_at=now + dt.timedelta(hours=2))
        visit = item(client, FollowUpKind.RETURN_VISIT, not_before=now + dt.timedelta(days=1))
        done = item(client, FollowUpKind.RETURN_VISIT, status=FollowUpStatus.DONE, done_at=now)
        long_done = item(
            client,
            FollowUpKind.BIRTHDAY,
            status=FollowUpStatus.DONE,
            done_at=now - dt.timedelta(days=3),
        )
        session.add_all([due, later, visit, done, long_done])
        await session.flush()
        for follow_up, outcome in [
            (later, "no_answer"),
            (later, "skipped"),  # no dial
            (done, "completed"),
            (due, None),  # being dialled now
        ]:
            session.add(
                FollowUpAttempt(
                    follow_up_id=follow_up.id,
                    agent_id=agent,
                    mode="preview",
                    started_at=now,
                    outcome=outcome,
                )
            )

    floor = api.app.state.runtime.floor
    await floor.read_campaigns()  # as its task does every 10 s
    response = await api.http.get(FLOOR, headers=api.as_(Role.SUPERVISOR))

    assert response.status_code == 200, response.text
    assert response.json()["campaigns"] == [
        {"kind": "callback", "open": 2, "due_now": 1, "done_today": 0, "attempts_today": 2},
        {"kind": "return_visit", "open": 1, "due_now": 0, "done_today": 1, "attempts_today": 1},
    ]
