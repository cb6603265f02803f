"""Complaints in the database: create, transition, note, assign, find.

Each function runs inside the caller's unit of work (``Database.write()`` or ``read()``), so the
complaint row, its event and the audit entry commit together or not at all.

Read-then-write is safe on both databases: a change first locks the complaint row
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the write transaction already holds the
database's write lock from ``BEGIN IMMEDIATE``, and the dialect leaves ``FOR UPDATE`` out), so
two concurrent changes to one complaint run one after the other and the second sees the first.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm import complaints as workflow
from callcenter.crm.complaints import (
    Actor,
    CategoryFacts,
    ComplaintNotFound,
    ComplaintState,
)
from callcenter.crm.ports import UnknownClient, UnknownInteraction, UnknownUser
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import ComplaintStatus
from callcenter.persistence import audit
from callcenter.persistence.locking import lock_row
from callcenter.persistence.scopes import client_condition, complaint_condition
from callcenter.persistence.tables import (
    Client,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    Interaction,
    User,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewComplaint:
    client_id: int
    category_code: str
    summary: str
    description: str
    interaction_id: int | None = None


@dataclass(frozen=True)
class ComplaintFilter:
    status: ComplaintStatus | None = None
    client_id: int | None = None
    owner_department: str | None = None
    owner_branch_id: int | None = None
    assigned_to_id: int | None = None
    overdue: bool | None = None  # True: past the response deadline with no response yet
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class ComplaintWithHistory:
    complaint: Complaint
    history: list[ComplaintEvent]


# --- reads ------------------------------------------------------------------------------------


async def list_categories(session: AsyncSession) -> list[ComplaintCategory]:
    """The active taxonomy, parents before children, in code order."""
    stmt = (
        select(ComplaintCategory)
        .where(ComplaintCategory.active)
        .order_by(ComplaintCategory.parent_code.is_not(None), ComplaintCategory.code)
    )
    return list((await session.scalars(stmt)).all())


async def get_complaint(
    session: AsyncSession, complaint_id: int, scope: DataScope
) -> ComplaintWithHistory:
    """One complaint in the reader's scope (else not found: existence never leaks)."""
    complaint = await session.scalar(
        select(Complaint).where(Complaint.id == complaint_id, complaint_condition(scope, utcnow()))
    )
    if complaint is None:
        raise ComplaintNotFound(f"no complaint {complaint_id}", complaint_id=complaint_id)
    return ComplaintWithHistory(complaint, await _history(session, complaint_id))


async def list_complaints(
    session: AsyncSession, where: ComplaintFilter, scope: DataScope, now: dt.datetime | None = None
) -> list[Complaint]:
    """Newest first, in the reader's scope."""
    now = now or utcnow()
    stmt = _filtered(select(Complaint).where(complaint_condition(scope, now)), where, now)
    stmt = stmt.order_by(Complaint.id.desc()).limit(where.limit).offset(where.offset)
    return list((await session.scalars(stmt)).all())


def _filtered(
    stmt: Select[Complaint], where: ComplaintFilter, now: dt.datetime
) -> Select[Complaint]:
    equal_to: list[tuple[Any, Any]] = [
        (Complaint.status, where.status),
        (Complaint.client_id, where.client_id),
        (Complaint.owner_department, where.owner_department),
        (Complaint.owner_branch_id, where.owner_branch_id),
        (Complaint.assigned_to_id, where.assigned_to_id),
    ]
    for column, value in equal_to:
        if value is not None:
            stmt = stmt.where(column == value)
    # Mirrors workflow.is_overdue, in SQL so the filter works on the whole table.
    overdue = Complaint.responded_at.is_(None) & (Complaint.response_due_at < now)
    if where.overdue is True:
        stmt = stmt.where(overdue)
    elif where.overdue is False:
        stmt = stmt.where(~overdue)
    return stmt


async def _history(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    # Ids follow commit order under the row lock; timestamps can tie.
    stmt = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    )
    return list((await session.scalars(stmt)).all())


# --- create -----------------------------------------------------------------------------------


async def create_complaint(
    session: AsyncSession, actor: Actor, new: NewComplaint, at: dt.datetime | None = None
) -> ComplaintWithHistory:
    """Classify, route to the owner, start the 2-day clock and record the first event."""
    at = at or utcnow()
    category = workflow.check_category_assignable(
        new.category_code, await _category_facts(session, new.category_code)
    )
    client = await session.scalar(
        select(Client).where(
            Client.id == new.client_id, client_condition(actor.scope, utcnow(), Client.id)
        )
    )
    if client is None:
        raise UnknownClient(f"no client {new.client_id}", field="client_id")
    await _check_interaction(session, new.interaction_id, client.id)
    routing = workflow.route_complaint(category, client.branch_id)
    complaint = Complaint(
        client_id=client.id,
        interaction_id=new.interaction_id,
        category_code=category.code,
        owner_department=routing.owner_department,
        owner_branch_id=routing.owner_branch_id,
        status=ComplaintStatus.OPEN,
        summary=new.summary,
        description=new.description,
        created_by_id=actor.user_id,
        created_at=at,
        response_due_at=workflow.response_due_at(at),
        version=1,
    )
    session.add(complaint)
    await session.flush()
    event = _event(complaint, None, ComplaintStatus.OPEN, actor, at, note=None)
    session.add(event)
    await _audit(session, actor, "complaint.create", complaint, category=category.code)
    return ComplaintWithHistory(complaint, [event])


async def _category_facts(session: AsyncSession, code: str) -> CategoryFacts | None:
    row = await session.get(ComplaintCategory, code)
    if row is None:
        return None
    has_children = await session.scalar(
        select(exists().where(ComplaintCategory.parent_code == code))
    )
    return CategoryFacts(row.code, row.owner, row.active, is_leaf=not has_children)


async def _check_interaction(
    session: AsyncSession, interaction_id: int | None, client_id: int
) -> None:
    if interaction_id is None:
        return
    interaction = await session.get(Interaction, interaction_id)
    if interaction is None:
        raise UnknownInteraction(f"no interaction {interaction_id}", field="interaction_id")
    if interaction.client_id not in (None, client_id):
        raise UnknownInteraction(
            f"interaction {interaction_id} belongs to another client", field="interaction_id"
        )


# --- changes ----------------------------------------------------------------------------------


async def transition_complaint(
    session: AsyncSession,
    actor: Actor,
    complaint_id: int,
    to: ComplaintStatus,
    version: int,
    note: str | None = None,
    resolution: str | None = None,
    at: dt.datetime | None = None,
) -> ComplaintWithHistory:
    complaint = await _lock(session, complaint_id, actor)
    workflow.check_may_work_on(actor, complaint.owner_branch_id)
    workflow.check_version(complaint.version, version)
    at = at or utcnow()
    before = complaint.status
    change = workflow.plan_transition(_state(complaint), to, at, note, resolution)
    complaint.status = change.status
    complaint.responded_at = change.responded_at
    complaint.resolved_at = change.resolved_at
    complaint.closed_at = change.closed_at
    complaint.resolution = change.resolution
    complaint.version += 1
    session.add(_event(complaint, before, change.status, actor, at, change.event_note))
    await _audit(session, actor, "complaint.transition", complaint, **{"from": before, "to": to})
    log.info("complaint %s: %s -> %s by user %s", complaint.id, before, to, actor.user_id)
    return await _reloaded(session, complaint)


async def add_complaint_note(
    session: AsyncSession, actor: Actor, complaint_id: int, note: str, at: dt.datetime | None = None
) -> ComplaintWithHistory:
    """A note is an event without a status change (from == to). Any staff member may add one,
    so it carries no version: notes never conflict with each other."""
    complaint = await _lock(session, complaint_id, actor)
    workflow.check_not_closed(complaint.status)
    complaint.version += 1
    event = _event(complaint, complaint.status, complaint.status, actor, at or utcnow(), note)
    session.add(event)
    await _audit(session, actor, "complaint.note", complaint)
    return await _reloaded(session, complaint)


async def assign_complaint(
    session: AsyncSession,
    actor: Actor,
    complaint_id: int,
    assigned_to_id: int | None,
    version: int,
) -> ComplaintWithHistory:
    """Give the complaint to a person (``None``: to nobody) within its owning unit. Recorded
    in the audit log; the complaint's history stays a history of statuses and notes."""
    complaint = await _lock(session, complaint_id, actor)
    workflow.check_may_work_on(actor, complaint.owner_branch_id)
    workflow.check_version(complaint.version, version)
    workflow.check_not_closed(complaint.status)
    if assigned_to_id is not None:
        assignee = await session.get(User, assigned_to_id)
        if assignee is None or not assignee.active:
            raise UnknownUser(f"no active user {assigned_to_id}", field="assigned_to_id")
    before = complaint.assigned_to_id
    complaint.assigned_to_id = assigned_to_id
    complaint.version += 1
    await _audit(
        session, actor, "complaint.assign", complaint, **{"from": before, "to": assigned_to_id}
    )
    return await _reloaded(session, complaint)


async def _lock(session: AsyncSession, complaint_id: int, actor: Actor) -> Complaint:
    in_scope = await session.scalar(
        select(Complaint.id).where(
            Complaint.id == complaint_id, complaint_condition(actor.scope, utcnow())
        )
    )
    complaint = None if in_scope is None else await lock_row(session, Complaint, complaint_id)
    if complaint is None:
        raise ComplaintNotFound(f"no complaint {complaint_id}", complaint_id=complaint_id)
    return complaint


async def _reloaded(session: AsyncSession, complaint: Complaint) -> ComplaintWithHistory:
    await session.flush()
    return ComplaintWithHistory(complaint, await _history(session, complaint.id))


def _state(complaint: Complaint) -> ComplaintState:
    return ComplaintState(
        status=ComplaintStatus(complaint.status),
        responded_at=complaint.responded_at,
        resolved_at=complaint.resolved_at,
        closed_at=complaint.closed_at,
        resolution=complaint.resolution,
    )


def _event(
    complaint: Complaint,
    before: ComplaintStatus | None,
    after: ComplaintStatus,
    actor: Actor,
    at: dt.datetime,
    note: str | None,
) -> ComplaintEvent:
    return ComplaintEvent(
        complaint_id=complaint.id,
        from_status=before,
        to_status=after,
        at=at,
        by_user_id=actor.user_id,
        note=note,
    )


async def _audit(
    session: AsyncSession, actor: Actor, action: str, complaint: Complaint, **detail: Any
) -> None:
    # Looked up on the module at call time, so a test can make the audit writer fail.
    await audit.record_audit(
        session,
        actor.user_id,
        action,
        client_id=complaint.client_id,
        interaction_id=complaint.interaction_id,
        detail={"complaint_id": complaint.id, **detail},
    )
