"""The SQL behind the dialler's figures (callcenter/outbound/stats.py): the facts of a report
range, and the counts of the wallboard's campaign progress, the same on SQLite and
PostgreSQL. The figures themselves are computed in Python, where their rules are tested.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.report_intervals import ReportRange, local_midnight
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.outbound.model import AttemptOutcome
from callcenter.outbound.stats import (
    CENTER_DAYS,
    AccountFact,
    AttemptFact,
    CallbackDelay,
    CallbackFact,
    CampaignCounts,
    CampaignProgress,
    ItemCounts,
    KindFigures,
    ReturnVisitFigures,
    attempt_report,
    callback_delay,
    campaign_progress,
    return_visit_report,
)
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    Branch,
    CallbackRequest,
    Client,
    FollowUp,
    FollowUpAttempt,
    User,
)

MONTH_AT_MOST = dt.timedelta(days=31)  # a month after an opening is at most 31 days after it


@dataclass(frozen=True)
class OutboundReport:
    range: ReportRange
    by_advisor: bool
    return_visits: list[ReturnVisitFigures]
    return_visits_total: ReturnVisitFigures
    names: dict[int, tuple[str, str]]  # the groups' names (Chinese, English), by id
    callbacks: CallbackDelay
    kinds: list[KindFigures]
    kinds_total: KindFigures


async def account_facts(session: AsyncSession, report: ReportRange) -> list[AccountFact]:
    """The accounts whose 14-day or one-month deadline may fall in the range, each with the
    local day of its first completed return visit, and those closed by their deadline left
    out by the figures (an account closed owes no return visit)."""
    completed = (
        select(func.min(FollowUp.done_at))
        .where(
            FollowUp.client_id == Client.id,
            FollowUp.kind == FollowUpKind.RETURN_VISIT,
            FollowUp.status == FollowUpStatus.DONE,
        )
        .scalar_subquery()
    )
    stmt = select(
        Client.id,
        Client.opened_on,
        Client.branch_id,
        Client.advisor_id,
        Client.closed_on,
        completed,
    ).where(
        Client.opened_on >= report.first - MONTH_AT_MOST,
        Client.opened_on <= report.last - dt.timedelta(days=CENTER_DAYS),
    )
    zone = report.zone
    facts = []
    for cid, opened_on, branch_id, advisor_id, closed_on, done_at in await session.execute(stmt):
        facts.append(
            AccountFact(
                cid,
                opened_on,
                branch_id,
                advisor_id,
                completed_on=_local_day(done_at, zone),
                closed_on=closed_on,
            )
        )
    return facts


def _local_day(at: dt.datetime | None, zone: ZoneInfo) -> dt.date | None:
    if at is None:
        return None
    # A subquery's MIN comes back naive from SQLite (no column type to convert it): UTC.
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(zone).date()


async def group_names(
    session: AsyncSession, by_advisor: bool, ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """The groups' names by id, in Chinese and in English (an advisor's name is one)."""
    if not ids:
        return {}
    if by_advisor:
        rows = await session.execute(
            select(User.id, User.display_name, User.display_name).where(User.id.in_(list(ids)))
        )
    else:
        rows = await session.execute(
            select(Branch.id, Branch.name, Branch.name_en).where(Branch.id.in_(list(ids)))
        )
    return {gid: (name, name_en) for gid, name, name_en in rows}


async def callback_facts(
    session: AsyncSession, report: ReportRange
) -> tuple[list[CallbackFact], list[AttemptFact]]:
    """The callbacks requested in the range (the caller's request, else the item's
    creation), and all their attempts."""
    requested = func.coalesce(CallbackRequest.requested_at, FollowUp.created_at)
    callbacks = (
        select(FollowUp.id, CallbackRequest.requested_at, FollowUp.created_at)
        .outerjoin(CallbackRequest, CallbackRequest.id == FollowUp.callback_request_id)
        .where(
            FollowUp.kind == FollowUpKind.CALLBACK,
            requested >= report.start,
            requested < report.end,
        )
    )
    facts = [
        CallbackFact(fid, asked or created)
        for fid, asked, created in await session.execute(callbacks)
    ]
    ids = [f.follow_up_id for f in facts]
    attempts = await _attempts_of(session, ids)
    return facts, attempts


async def _attempts_of(session: AsyncSession, ids: Sequence[int]) -> list[AttemptFact]:
    facts: list[AttemptFact] = []
    for chunk in range(0, len(ids), 5000):  # within any database's limit on bound values
        stmt = (
            select(
                FollowUpAttempt.follow_up_id,
                FollowUp.kind,
                FollowUpAttempt.started_at,
                FollowUpAttempt.outcome,
            )
            .join(FollowUp, FollowUp.id == FollowUpAttempt.follow_up_id)
            .where(FollowUpAttempt.follow_up_id.in_(ids[chunk : chunk + 5000]))
        )
        facts += [_attempt(*row) for row in await session.execute(stmt)]
    return facts


def _attempt(
    follow_up_id: int, kind: FollowUpKind, started_at: dt.datetime, outcome: str | None
) -> AttemptFact:
    return AttemptFact(follow_up_id, kind, started_at, AttemptOutcome(outcome) if outcome else None)


async def attempt_facts(session: AsyncSession, report: ReportRange) -> list[AttemptFact]:
    """Every attempt of the items with an attempt started in the range, earlier ones too."""
    in_range = (
        select(FollowUpAttempt.follow_up_id)
        .where(
            FollowUpAttempt.started_at >= report.start,
            FollowUpAttempt.started_at < report.end,
        )
        .distinct()
    )
    ids = list(await session.scalars(in_range))
    return await _attempts_of(session, ids)


async def load_outbound_report(
    session: AsyncSession, report: ReportRange, *, by_advisor: bool
) -> OutboundReport:
    rows, total = return_visit_report(
        await account_facts(session, report), report.first, report.last, by_advisor=by_advisor
    )
    names = await group_names(session, by_advisor, [r.group_id for r in rows if r.group_id])
    callbacks, callback_attempts = await callback_facts(session, report)
    kinds, kinds_total = attempt_report(
        await attempt_facts(session, report), report.start, report.end
    )
    return OutboundReport(
        range=report,
        by_advisor=by_advisor,
        return_visits=rows,
        return_visits_total=total,
        names=names,
        callbacks=callback_delay(callbacks, callback_attempts),
        kinds=kinds,
        kinds_total=kinds_total,
    )


# --- the wallboard's campaign progress --------------------------------------------------------


async def load_campaign_counts(
    session: AsyncSession, now: dt.datetime, zone: ZoneInfo
) -> CampaignCounts:
    """Per kind: the open items and those due now, the items done since the center's
    midnight, and today's attempts by outcome. Three grouped reads: the open items by the
    dialler's index, the done ones by their completion time, the attempts by their start."""
    midnight = local_midnight(now.astimezone(zone).date(), zone)
    due = and_(
        or_(FollowUp.not_before.is_(None), FollowUp.not_before <= now),
        or_(FollowUp.next_attempt_at.is_(None), FollowUp.next_attempt_at <= now),
    )
    open_rows = await session.execute(
        select(FollowUp.kind, func.count(), func.sum(case((due, 1), else_=0)))
        .where(FollowUp.status == FollowUpStatus.OPEN)
        .group_by(FollowUp.kind)
    )
    open_counts = {kind: (n, int(due_now or 0)) for kind, n, due_now in open_rows}
    # Today's closed items by their completion time alone, counted here: with the status in
    # the WHERE or a GROUP BY, SQLite reads every done item along another index (2 s at a
    # million clients); a day's closed items are a few thousand at most.
    closed = await session.execute(
        select(FollowUp.kind, FollowUp.status).where(FollowUp.done_at >= midnight)
    )
    done = Counter(kind for kind, status in closed if status == FollowUpStatus.DONE)
    attempt_rows = await session.execute(
        select(FollowUp.kind, FollowUpAttempt.outcome, func.count())
        .join(FollowUp, FollowUp.id == FollowUpAttempt.follow_up_id)
        .where(FollowUpAttempt.started_at >= midnight)
        .group_by(FollowUp.kind, FollowUpAttempt.outcome)
    )
    return CampaignCounts(
        items={
            kind: ItemCounts(*open_counts.get(kind, (0, 0)), done_today=done.get(kind, 0))
            for kind in {*open_counts, *done}
        },
        attempts={
            (kind, AttemptOutcome(outcome) if outcome else None): n
            for kind, outcome, n in attempt_rows
        },
    )


async def load_campaign_progress(
    session: AsyncSession, now: dt.datetime, zone: ZoneInfo
) -> list[CampaignProgress]:
    return campaign_progress(await load_campaign_counts(session, now, zone))


def campaign_reader(
    db: Database, timezone: str
) -> Callable[[dt.datetime], Awaitable[list[CampaignProgress]]]:
    """The wallboard's read of the campaigns' progress (cti/floor_publisher.py), each in a
    read unit of work of its own; the day is the center's (``timezone``)."""
    zone = ZoneInfo(timezone)

    async def read(now: dt.datetime) -> list[CampaignProgress]:
        async with db.read() as session:
            return await load_campaign_progress(session, now, zone)

    return read
