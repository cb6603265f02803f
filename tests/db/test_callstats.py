"""The call-center figures through the SQL in callcenter/persistence/callstats.py, on SQLite and
PostgreSQL: the golden day (tests/support/callstats_golden.py) gives the hand-computed
figures; complaints and follow-ups are loaded for the right days."""

from __future__ import annotations

import datetime as dt

from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.crm.vocabulary import ComplaintStatus, FollowUpKind, FollowUpStatus, Role
from callcenter.persistence import callstats
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Complaint, FollowUp, User
from tests.support import callstats_golden as golden
from tests.support.callstats_golden import assert_figures
from tests.support.crm_data import add_branch, add_client

DAY = ReportRange.of(golden.DAY, golden.DAY)


async def agents(db: Database, branch_id: int) -> dict[str, int]:
    async with db.write() as session:
        users = {
            "A1": User(username="wangfang", display_name="王芳", role=Role.AGENT,
                       branch_id=branch_id, extension="1001"),
            "A2": User(username="liqiang", display_name="李强", role=Role.ADVISOR,
                       branch_id=branch_id, extension="1002"),
        }  # fmt: skip
        session.add_all(users.values())
        await session.flush()
        return {name: user.id for name, user in users.items()}


async def test_the_golden_day_gives_the_hand_computed_figures(database: Database) -> None:
    branch = await add_branch(database)
    ids = await agents(database, branch)
    await golden.load_into(database, branch, ids)
    async with database.read() as session:
        report = await callstats.load_call_report(session, DAY, IntervalKind.MIN60, golden.NOW)
    names = {v: k for k, v in ids.items()}
    queues = {(r.slot.start.astimezone(golden.ZONE).isoformat(), r.queue): r for r in report.queues}
    assert set(queues) == set(golden.QUEUE_ROWS)
    for key, expected in golden.QUEUE_ROWS.items():
        assert_figures(queues[key], expected)
    rows = {
        (r.slot.start.astimezone(golden.ZONE).isoformat(), names[r.agent_id]): r
        for r in report.agents
    }
    assert set(rows) == set(golden.AGENT_ROWS)
    for key, expected in golden.AGENT_ROWS.items():
        assert_figures(rows[key], expected, counts=())
    assert rows[(golden.hour("09:00:00"), "A1")].agent_name == "王芳"
    assert_figures(report.total, golden.TOTAL)  # the outbound call and web message left out


async def test_state_changes_start_from_each_agents_latest_change_before_the_range(
    database: Database,
) -> None:
    branch = await add_branch(database)
    ids = await agents(database, branch)
    await golden.load_into(database, branch, ids)
    async with database.read() as session:
        changes = await callstats.state_changes(session, DAY)
    first = {}
    for change in changes:
        first.setdefault(change.agent_id, change)
    # A1 logged out at 17:00 on 1 March (after logging in at 08:00); A2 logged in again at 20:00.
    assert first[ids["A1"]].at == golden.at("17:00:00", golden.MAR1)
    assert first[ids["A2"]].at == golden.at("20:00:00", golden.MAR1)
    assert all(c.at >= DAY.start for c in changes if c not in first.values())


async def test_complaints_opened_in_the_range_by_category(database: Database) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    opened = golden.at("10:00:00")
    day = dt.timedelta(days=1)
    async with database.write() as session:
        for category, closed_after, responded_after in [
            ("service.waiting", day, dt.timedelta(hours=2)),  # closed in 1 day, on time
            ("service.waiting", 3 * day, 3 * day),  # 3 days, answered late
            ("service.waiting", None, None),  # open
            ("account.opening", 2 * day, day),
        ]:
            session.add(
                Complaint(
                    client_id=client, category_code=category, status=ComplaintStatus.OPEN,
                    summary="s", description="d", created_at=opened,
                    response_due_at=opened + 2 * day,
                    responded_at=opened + responded_after if responded_after else None,
                    closed_at=opened + closed_after if closed_after else None,
                )
            )  # fmt: skip
        session.add(  # opened the day before the range: not counted
            Complaint(
                client_id=client, category_code="service.waiting", status=ComplaintStatus.OPEN,
                summary="s", description="d", created_at=golden.at("23:59:00", golden.MAR1),
                response_due_at=opened,
            )
        )  # fmt: skip
    async with database.read() as session:
        rows, total = await callstats.load_complaint_report(session, DAY)
    by_code = {r.category_code: r for r in rows}
    waiting = by_code["service.waiting"]
    assert (waiting.opened, waiting.closed, waiting.open, waiting.responded_on_time) == (3, 2, 1, 1)
    assert waiting.mean_seconds_to_close == 2 * 86_400  # (1 day + 3 days) / 2
    assert waiting.median_seconds_to_close == 2 * 86_400
    assert waiting.category_name_en  # from the taxonomy
    assert (total.opened, total.closed, total.median_seconds_to_close) == (4, 3, 2 * 86_400)


async def test_follow_ups_due_in_the_range_by_kind(database: Database) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    due = golden.DAY
    rows_in = [
        (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("23:30:00")),  # on the day
        (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("00:30:00", golden.MAR3)),
        (FollowUpKind.RETURN_VISIT, FollowUpStatus.OPEN, None),  # overdue
        (FollowUpKind.RETURN_VISIT, FollowUpStatus.CANCELLED, None),
        (FollowUpKind.CARE_CALL, FollowUpStatus.OPEN, None),
    ]
    async with database.write() as session:
        for kind, status, done_at in rows_in:
            session.add(
                FollowUp(client_id=client, kind=kind, status=status, due_on=due, done_at=done_at)
            )
        session.add(
            FollowUp(client_id=client, kind=FollowUpKind.RETURN_VISIT,
                     status=FollowUpStatus.OPEN, due_on=golden.MAR3)  # the next day: not counted
        )  # fmt: skip
    async with database.read() as session:
        rows, total = await callstats.load_follow_up_report(session, DAY, golden.NOW)
    visits = rows[0]
    assert visits.kind is FollowUpKind.RETURN_VISIT
    assert (visits.due, visits.done, visits.done_on_time, visits.cancelled, visits.overdue) == (
        4,
        2,
        1,
        1,
        1,
    )
    assert visits.completion_rate == 2 / 3  # done / (due - cancelled)
    assert visits.on_time_rate == 1 / 3
    assert (total.due, total.open) == (5, 2)
