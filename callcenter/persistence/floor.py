"""Where the wallboard starts from when the service starts: today's figures so far, computed
by the report itself, the calls a previous run left waiting or talking, and the agents'
stored states. The events then move the picture on (callcenter/cti/floor.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.model import AgentState
from callcenter.crm.callstats import CallFigures
from callcenter.crm.counting import business_day, route_of
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.cti.floor_model import AgentView, LiveCall, SeedCall, mask_number
from callcenter.persistence import agents, queues
from callcenter.persistence.callstats import load_call_report
from callcenter.persistence.tables import Client, Interaction

# After a restart the ACD puts the calls still waiting back into their queues, as far back as
# it adopts open calls (12 hours, callcenter/pbx/adoption.py). The floor must know the ones
# queued before midnight: they count in yesterday's figures, not as today's new calls.
WAITING_SINCE = dt.timedelta(hours=12)


@dataclass(frozen=True)
class FloorSeed:
    day: dt.date
    figures: dict[str, CallFigures]  # by queue, today so far
    service_level_seconds: dict[str, float]  # by queue, as configured
    waiting: list[SeedCall]
    live: list[LiveCall]
    agents: list[AgentView]
    queues: list[str]  # every configured queue, by name: on the board even before a call


async def load_floor_seed(session: AsyncSession, now: dt.datetime, timezone: str) -> FloorSeed:
    """The floor at ``now``: the day is the business day in ``timezone``."""
    day = business_day(now, ZoneInfo(timezone))
    today = ReportRange.of(day, day, timezone)
    report = await load_call_report(session, today, IntervalKind.DAY, now)
    configs = await queues.load_queue_configs(session)
    return FloorSeed(
        day=day,
        figures={row.queue: row.figures for row in report.queues},
        service_level_seconds={c.name: c.service_level_seconds for c in configs},
        waiting=await _open_calls_waiting(session, min(today.start, now - WAITING_SINCE), now),
        live=await _open_calls_talking(session, today.start, now),
        agents=[
            AgentView(r.agent_id, r.status.state.value, r.status.reason, r.status.since)
            for r in await agents.list_agents(session)
            if r.status.since is not None and r.status.state is not AgentState.LOGGED_OUT
        ],
        queues=[c.name for c in configs],
    )


async def _open_calls_waiting(
    session: AsyncSession, since: dt.datetime, now: dt.datetime
) -> list[SeedCall]:
    """Calls queued since ``since`` whose record has neither an answer nor an end, with the
    route their path tells (an overflow back to the IVR makes a call the IVR's)."""
    rows = await session.execute(
        select(
            Interaction.call_id,
            Interaction.queue,
            Interaction.queued_at,
            Interaction.caller_number,
            Client.tier,
            Interaction.ivr_path,
        )
        .outerjoin(Client, Client.id == Interaction.client_id)
        .where(
            Interaction.queued_at >= since,
            Interaction.queued_at <= now,
            Interaction.answered_at.is_(None),
            Interaction.ended_at.is_(None),
            Interaction.call_id.is_not(None),
            Interaction.queue.is_not(None),
        )
        .order_by(Interaction.queued_at)
    )
    return [
        SeedCall(
            call_id,
            queue,
            at,
            mask_number(number),
            None if tier is None else tier.value,
            route_of(tuple(path or ())),
        )
        for call_id, queue, at, number, tier, path in rows.all()
        if call_id and queue and at
    ]


async def _open_calls_talking(
    session: AsyncSession, since: dt.datetime, now: dt.datetime
) -> list[LiveCall]:
    """Calls answered today by an agent whose record has no end yet."""
    rows = await session.execute(
        select(
            Interaction.call_id,
            Interaction.queue,
            Interaction.agent_id,
            Interaction.answered_at,
            Interaction.caller_number,
            Client.tier,
        )
        .outerjoin(Client, Client.id == Interaction.client_id)
        .where(
            Interaction.answered_at >= since,
            Interaction.answered_at <= now,
            Interaction.ended_at.is_(None),
            Interaction.agent_id.is_not(None),
            Interaction.call_id.is_not(None),
        )
        .order_by(Interaction.answered_at)
    )
    return [
        LiveCall(
            call_id,
            queue or "",
            agent_id,
            answered_at,
            caller=mask_number(number),
            tier=None if tier is None else tier.value,
        )
        for call_id, queue, agent_id, answered_at, number, tier in rows.all()
        if call_id and agent_id is not None and answered_at is not None
    ]
