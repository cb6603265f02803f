"""Agents in the database: state changes (stored with their time), profiles for routing.

Each function runs inside the caller's unit of work (``Database.write()`` or ``read()``), so a
state change and the agent's current status commit together or not at all.

Current state. Every change is a row of ``agent_state_changes``; the agent's current state is
also kept in ``agent_status`` (one row per agent who ever logged in), written in the same
transaction. Deriving it from the latest change would work too, but every reader (the ACD at
start, the supervisors' board) would then search the whole history; one row per agent keeps
those reads flat as the history grows.

Two transitions for one agent at once (the ACD offering a call while the agent clicks "not
ready") run one after the other: each first locks the agent's users row, then reads the
status. The users row is locked, not the status row, because the status row does not exist
before the first login, and there is nothing to lock yet. On PostgreSQL the lock is ``FOR NO
KEY UPDATE``: it queues transitions of the same agent but lets other transactions insert rows
that merely point at the agent (an interaction's ``agent_id``), which a plain ``FOR UPDATE``
would make wait (and could deadlock against). On SQLite, ``BEGIN IMMEDIATE`` already holds the
database's write lock (db.py) and the lock clause is left out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd import agents as machine
from callcenter.acd.agents import (
    AGENT_ROLES,
    DEFAULT_NOT_READY_REASONS,
    AgentChange,
    AgentEvent,
    AgentHasNoPhone,
    AgentNotFound,
    AgentRecord,
    AgentStatus,
    profile_of,
)
from callcenter.acd.model import AgentProfile, AgentState
from callcenter.acd.queues import InvalidAgentProfile, check_agent_profile
from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import (
    AgentLanguage,
    AgentQueue,
    AgentSkill,
    AgentStateChange,
    AgentStatusRow,
    CallQueue,
    User,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedChange:
    """A stored transition: the row's id, what changed, and the agent's status after it."""

    change_id: int
    change: AgentChange
    status: AgentStatus
    interaction_id: int | None  # the call the change is about (also after the call ended)


# --- transitions ------------------------------------------------------------------------------


async def apply_event(
    session: AsyncSession,
    agent_id: int,
    event: AgentEvent,
    *,
    at: dt.datetime | None = None,
    reason: str | None = None,
    interaction_id: int | None = None,
    by_user_id: int | None = None,
    reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS,
) -> AppliedChange:
    """Apply one event of the state machine (callcenter/acd/agents.py) and store it.

    The ACD names the call with ``offer`` (``interaction_id``); the later events of that call
    (answer, ring_no_answer, caller_gone, hang_up, wrap_up_done) find it on the agent's status.
    ``by_user_id``: the person acting (the agent, a supervisor forcing), None for the ACD.
    """
    return await apply_chosen(
        session,
        agent_id,
        lambda _state: event,
        at=at,
        reason=reason,
        interaction_id=interaction_id,
        by_user_id=by_user_id,
        reasons=reasons,
    )


async def login(
    session: AsyncSession, agent_id: int, at: dt.datetime | None = None
) -> AppliedChange:
    """The agent logs in and is ready. Needs a phone (``users.extension``) to ring."""
    return await apply_event(session, agent_id, AgentEvent.LOGIN, at=at, by_user_id=agent_id)


async def logout(
    session: AsyncSession, agent_id: int, at: dt.datetime | None = None
) -> AppliedChange:
    return await apply_event(session, agent_id, AgentEvent.LOGOUT, at=at, by_user_id=agent_id)


async def set_ready(
    session: AsyncSession, agent_id: int, at: dt.datetime | None = None
) -> AppliedChange:
    """The agent is ready; in wrap-up this ends the wrap-up early (``wrap_up_done``)."""
    return await apply_chosen(session, agent_id, machine.ready_event, at=at, by_user_id=agent_id)


async def set_not_ready(
    session: AsyncSession,
    agent_id: int,
    reason: str | None,
    *,
    reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS,
    at: dt.datetime | None = None,
) -> AppliedChange:
    return await apply_event(
        session,
        agent_id,
        AgentEvent.NOT_READY,
        at=at,
        reason=reason,
        by_user_id=agent_id,
        reasons=reasons,
    )


async def apply_chosen(
    session: AsyncSession,
    agent_id: int,
    choose_event: Callable[[AgentState], AgentEvent],
    *,
    at: dt.datetime | None,
    reason: str | None = None,
    interaction_id: int | None = None,
    by_user_id: int | None = None,
    reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS,
) -> AppliedChange:
    # Check: lock the agent, read their status, let the state machine decide.
    user = await _lock_agent(session, agent_id)
    row = await session.get(AgentStatusRow, agent_id, populate_existing=True)
    before = _status_of(agent_id, row)
    event = choose_event(before.state)
    change = machine.transition(before.state, event, reason, reasons)
    if event is AgentEvent.LOGIN and not user.extension:
        raise AgentHasNoPhone(f"agent {agent_id} has no phone to ring", agent_id=agent_id)
    # Act: the change row and the status, in this transaction.
    when = machine.effective_time(before, at or utcnow())
    call = machine.change_interaction(before, interaction_id)
    after = machine.status_after(before, change, when, interaction_id)
    stored = _change_row(agent_id, change, when, call, by_user_id)
    session.add(stored)
    _write_status(session, row, after)
    await session.flush()
    log.info(
        "agent %s: %s -> %s on %s%s%s",
        agent_id,
        change.from_state,
        change.to_state,
        event,
        f" ({change.reason})" if change.reason else "",
        f" interaction {call}" if call is not None else "",
    )
    return AppliedChange(stored.id, change, after, call)


async def _lock_agent(session: AsyncSession, agent_id: int) -> User:
    """The agent's users row, locked against other transitions of the same agent (see the
    module's docstring for why this row and why ``key_share``)."""
    stmt = (
        select(User)
        .where(User.id == agent_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    user = await session.scalar(stmt)
    if user is None or not user.active or user.role not in AGENT_ROLES:
        raise AgentNotFound(f"no active agent {agent_id}", agent_id=agent_id)
    return user


def _status_of(agent_id: int, row: AgentStatusRow | None) -> AgentStatus:
    if row is None:
        return machine.logged_out(agent_id)
    return AgentStatus(agent_id, AgentState(row.state), row.since, row.reason, row.interaction_id)


def _write_status(session: AsyncSession, row: AgentStatusRow | None, status: AgentStatus) -> None:
    assert status.since is not None  # every change has its time
    if row is None:
        row = AgentStatusRow(agent_id=status.agent_id)
        session.add(row)
    row.state = status.state
    row.reason = status.reason
    row.since = status.since
    row.interaction_id = status.interaction_id


def _change_row(
    agent_id: int,
    change: AgentChange,
    at: dt.datetime,
    interaction_id: int | None,
    by_user_id: int | None,
) -> AgentStateChange:
    return AgentStateChange(
        agent_id=agent_id,
        event=change.event,
        from_state=change.from_state,
        to_state=change.to_state,
        reason=change.reason,
        at=at,
        interaction_id=interaction_id,
        by_user_id=by_user_id,
    )


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredChange:
    """One row of an agent's history."""

    change_id: int
    agent_id: int
    event: AgentEvent
    from_state: AgentState
    to_state: AgentState
    reason: str | None
    at: dt.datetime
    interaction_id: int | None
    by_user_id: int | None


async def state_changes(
    session: AsyncSession,
    agent_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[StoredChange]:
    """One agent's stored changes in the order they happened (ids follow commit order under
    the agent's lock; times can tie)."""
    stmt = select(AgentStateChange).where(AgentStateChange.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(AgentStateChange.at >= since)
    if until is not None:
        stmt = stmt.where(AgentStateChange.at < until)
    rows = await session.scalars(stmt.order_by(AgentStateChange.id))
    return [
        StoredChange(
            change_id=row.id,
            agent_id=row.agent_id,
            event=AgentEvent(row.event),
            from_state=AgentState(row.from_state),
            to_state=AgentState(row.to_state),
            reason=row.reason,
            at=row.at,
            interaction_id=row.interaction_id,
            by_user_id=row.by_user_id,
        )
        for row in rows
    ]


async def get_agent(session: AsyncSession, agent_id: int) -> AgentRecord:
    found = await list_agents(session, agent_ids=[agent_id])
    if not found:
        raise AgentNotFound(f"no active agent {agent_id}", agent_id=agent_id)
    return found[0]


async def list_agents(
    session: AsyncSession,
    *,
    state: AgentState | None = None,
    agent_ids: list[int] | None = None,
) -> list[AgentRecord]:
    """Active agents and advisors, by id, with their status and profile."""
    current = func.coalesce(AgentStatusRow.state, AgentState.LOGGED_OUT.value)
    stmt = (
        select(User, AgentStatusRow)
        .outerjoin(AgentStatusRow, AgentStatusRow.agent_id == User.id)
        .where(User.role.in_(AGENT_ROLES), User.active)
        .order_by(User.id)
    )
    if state is not None:
        stmt = stmt.where(current == state.value)
    if agent_ids is not None:
        stmt = stmt.where(User.id.in_(agent_ids))
    rows = (await session.execute(stmt)).all()
    profiles = await _profiles(session, [user.id for user, _ in rows])
    return [_record(user, status, profiles) for user, status in rows]


def _record(user: User, row: AgentStatusRow | None, profiles: _Profiles) -> AgentRecord:
    return AgentRecord(
        agent_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        extension=user.extension,
        status=_status_of(user.id, row),
        skills=dict(profiles.skills[user.id]),
        languages=frozenset(profiles.languages[user.id]),
        queues=frozenset(profiles.queues[user.id]),
    )


@dataclass(frozen=True)
class _Profiles:
    skills: Mapping[int, Mapping[str, int]]
    languages: Mapping[int, set[str]]
    queues: Mapping[int, set[str]]


async def _profiles(session: AsyncSession, agent_ids: list[int]) -> _Profiles:
    """Skills, languages and queues of these agents: three queries, whatever their number."""
    skills: defaultdict[int, dict[str, int]] = defaultdict(dict)
    languages: defaultdict[int, set[str]] = defaultdict(set)
    queues: defaultdict[int, set[str]] = defaultdict(set)
    if agent_ids:
        for agent_id, skill, level in await session.execute(
            select(AgentSkill.agent_id, AgentSkill.skill, AgentSkill.level).where(
                AgentSkill.agent_id.in_(agent_ids)
            )
        ):
            skills[agent_id][skill] = level
        for agent_id, language in await session.execute(
            select(AgentLanguage.agent_id, AgentLanguage.language).where(
                AgentLanguage.agent_id.in_(agent_ids)
            )
        ):
            languages[agent_id].add(language)
        for agent_id, queue in await session.execute(
            select(AgentQueue.agent_id, AgentQueue.queue_name).where(
                AgentQueue.agent_id.in_(agent_ids)
            )
        ):
            queues[agent_id].add(queue)
    return _Profiles(skills, languages, queues)


# --- routing profiles -------------------------------------------------------------------------


async def load_agent_profiles(session: AsyncSession) -> list[AgentProfile]:
    """Every logged-in agent with a phone, for the ACD (at start and after a resync)."""
    records = await list_agents(session)
    return [
        profile_of(r)
        for r in records
        if r.status.state is not AgentState.LOGGED_OUT and r.extension
    ]


async def load_agent_profile(session: AsyncSession, agent_id: int) -> AgentProfile:
    return profile_of(await get_agent(session, agent_id))


# --- profile edits ----------------------------------------------------------------------------


async def set_agent_profile(
    session: AsyncSession,
    agent_id: int,
    *,
    skills: Mapping[str, int],
    languages: frozenset[str],
    queues: frozenset[str],
) -> AgentRecord:
    """Replace what the agent can take. Takes the agent's lock, so it never interleaves with
    a transition; the ACD picks it up with the agent's next profile load."""
    await _lock_agent(session, agent_id)
    check_agent_profile(skills, languages)
    known = set(
        (await session.scalars(select(CallQueue.name).where(CallQueue.name.in_(queues)))).all()
    )
    if missing := sorted(queues - known):
        raise InvalidAgentProfile(f"no queues {missing}", field="queues")
    for table in (AgentSkill, AgentLanguage, AgentQueue):
        await session.execute(delete(table).where(table.agent_id == agent_id))
    session.add_all(AgentSkill(agent_id=agent_id, skill=s, level=n) for s, n in skills.items())
    session.add_all(AgentLanguage(agent_id=agent_id, language=lang) for lang in languages)
    session.add_all(AgentQueue(agent_id=agent_id, queue_name=q) for q in queues)
    await session.flush()
    return await get_agent(session, agent_id)
