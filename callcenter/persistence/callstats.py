"""The SQL behind the call-center figures (callcenter/crm/callstats.py, casestats.py): load the
facts of a report range, each kind in one or two statements, the same on SQLite and
PostgreSQL. The figures themselves are computed in Python, where their rules are tested.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.agents import AGENT_ROLES
from callcenter.crm.agent_time import StateChange
from callcenter.crm.callstats import (
    REPEAT_WINDOW,
    CallFact,
    CallReport,
    CallReportInput,
    call_report,
)
from callcenter.crm.casestats import (
    ComplaintFact,
    ComplaintFigures,
    FollowUpFact,
    FollowUpFigures,
    complaint_report,
    follow_up_report,
)
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence import queues
from callcenter.persistence.tables import (
    AgentStateChange,
    Complaint,
    ComplaintCategory,
    FollowUp,
    Interaction,
    User,
)

# A call counts in the interval it was queued; it started (entered the IVR) a little before.
# Loading from a day earlier by the indexed start time catches every call queued in range.
QUEUED_AFTER_START = dt.timedelta(days=1)


async def call_facts(session: AsyncSession, report: ReportRange) -> list[CallFact]:
    """Inbound voice calls started from a day before the range to 7 days after it: those
    queued (or started) in the range, and the later calls that tell whether they were
    resolved at first contact."""
    i = Interaction
    stmt = (
        select(
            i.id,
            i.started_at,
            i.client_id,
            i.queued_at,
            i.answered_at,
            i.ended_at,
            i.wrapup_ended_at,
            i.ivr_outcome,
            i.ivr_path,
            i.queue,
            i.agent_id,
            i.hold_seconds,
        )
        .where(
            i.channel == Channel.VOICE,
            i.direction == Direction.INBOUND,
            i.started_at >= report.start - QUEUED_AFTER_START,
            i.started_at < report.end + REPEAT_WINDOW,
        )
        .order_by(i.id)
    )
    return [
        CallFact(
            id=row.id,
            started_at=row.started_at,
            client_id=row.client_id,
            queued_at=row.queued_at,
            answered_at=row.answered_at,
            ended_at=row.ended_at,
            wrapup_ended_at=row.wrapup_ended_at,
            ivr_outcome=row.ivr_outcome,
            ivr_path=tuple(row.ivr_path or ()),
            queue=row.queue,
            agent_id=row.agent_id,
            hold_seconds=row.hold_seconds,
        )
        for row in await session.execute(stmt)
    ]


async def state_changes(session: AsyncSession, report: ReportRange) -> list[StateChange]:
    """Every agent's state changes in the range, after the latest one before it (the state
    each agent was in when the range began), in the order they were stored."""
    c = AgentStateChange
    latest_before = (
        select(c.agent_id, func.max(c.at).label("at"))
        .where(c.at < report.start)
        .group_by(c.agent_id)
        .subquery()
    )
    before = select(c.id, c.agent_id, c.at, c.to_state, c.reason).join(
        latest_before, and_(c.agent_id == latest_before.c.agent_id, c.at == latest_before.c.at)
    )
    within = select(c.id, c.agent_id, c.at, c.to_state, c.reason).where(
        c.at >= report.start, c.at < report.end
    )
    rows = [*await session.execute(before), *await session.execute(within)]
    rows.sort(key=lambda row: row.id)
    return [StateChange(row.agent_id, row.at, row.to_state, row.reason) for row in rows]


async def agent_names(session: AsyncSession) -> dict[int, str]:
    stmt = select(User.id, User.display_name).where(User.role.in_(AGENT_ROLES))
    return {uid: name for uid, name in await session.execute(stmt)}


async def load_call_report(
    session: AsyncSession, report: ReportRange, kind: IntervalKind, now: dt.datetime
) -> CallReport:
    configs = await queues.load_queue_configs(session)
    data = CallReportInput(
        calls=await call_facts(session, report),
        state_changes=await state_changes(session, report),
        service_level_seconds={q.name: q.service_level_seconds for q in configs},
        agent_names=await agent_names(session),
    )
    return call_report(data, report, kind, now)


async def load_complaint_report(
    session: AsyncSession, report: ReportRange
) -> tuple[list[ComplaintFigures], ComplaintFigures]:
    """The complaints opened in the range, by category."""
    stmt = select(
        Complaint.category_code,
        Complaint.created_at,
        Complaint.response_due_at,
        Complaint.responded_at,
        Complaint.closed_at,
    ).where(Complaint.created_at >= report.start, Complaint.created_at < report.end)
    facts = [ComplaintFact(*row) for row in await session.execute(stmt)]
    names_stmt = select(ComplaintCategory.code, ComplaintCategory.name, ComplaintCategory.name_en)
    names = {code: (name, name_en) for code, name, name_en in await session.execute(names_stmt)}
    return complaint_report(facts, names)


async def load_follow_up_report(
    session: AsyncSession, report: ReportRange, now: dt.datetime
) -> tuple[list[FollowUpFigures], FollowUpFigures]:
    """The follow-ups due on the range's days, by kind."""
    stmt = select(FollowUp.kind, FollowUp.status, FollowUp.due_on, FollowUp.done_at).where(
        FollowUp.due_on >= report.first, FollowUp.due_on <= report.last
    )
    facts = [FollowUpFact(*row) for row in await session.execute(stmt)]
    today = now.astimezone(report.zone).date()
    return follow_up_report(facts, today, report.timezone)
