"""The demo's past days have agents' states, so the call report shows their occupancy; a day
with none has no occupancy and no logged-in time, which the page words as "no agent-state
data" (issue 16). On SQLite and PostgreSQL, through the report the API answers with."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.persistence.callstats import load_call_report
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import AgentStateChange, Interaction

AS_OF = dt.date(2026, 11, 25)
ZONE = "Asia/Shanghai"
BEIJING = dt.timezone(dt.timedelta(hours=8))


async def test_a_demo_day_with_calls_has_occupancy_and_a_day_without_states_has_none(
    database_url: str,
) -> None:
    await seed_demo(database_url, clients=400, as_of=AS_OF)
    db = Database(database_url)
    try:
        async with db.read() as session:
            assert await session.scalar(select(func.count(AgentStateChange.id))) > 0
            answered = (
                await session.execute(
                    select(
                        Interaction.agent_id, Interaction.answered_at, Interaction.wrapup_ended_at
                    ).where(Interaction.channel == "voice", Interaction.answered_at.is_not(None))
                )
            ).all()
            days = Counter(at.astimezone(BEIJING).date() for _, at, _ in answered)
            busiest = max(days, key=lambda d: (days[d], d))
            report = await load_call_report(
                session,
                ReportRange.of(busiest, busiest, ZONE),
                IntervalKind.DAY,
                dt.datetime.now(dt.UTC),
            )
            after = AS_OF + dt.timedelta(days=1)
            empty = await load_call_report(
                session,
                ReportRange.of(after, after, ZONE),
                IntervalKind.DAY,
                dt.datetime.now(dt.UTC),
            )
    finally:
        await db.dispose()

    that_day = [
        (agent, (wrapped - at).total_seconds())
        for agent, at, wrapped in answered
        if at.astimezone(BEIJING).date() == busiest
    ]
    time = report.total.time
    assert time.occupancy is not None
    assert 0 < time.occupancy < 1
    # Each agent with a call that day was logged in from 08:00 to 21:00 at least.
    assert time.logged_in_seconds >= 13 * 3600 * len({agent for agent, _ in that_day})
    # Busy (on a call or wrapping up) for its calls: at least the longest, at most them all.
    assert max(span for _, span in that_day) <= time.busy_seconds
    assert time.busy_seconds <= sum(span for _, span in that_day) + 1
    # After the demo's history: no agent was logged in, so no occupancy (not 0).
    assert empty.total.time.logged_in_seconds == 0
    assert empty.total.time.occupancy is None
