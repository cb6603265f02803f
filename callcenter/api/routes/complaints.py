"""REST routes: complaints (投诉) and their taxonomy.

Roles (the workflow and branch rule are in callcenter/crm/complaints.py):

=======  ==================================  =======================================
method   path                                roles
=======  ==================================  =======================================
GET      /api/complaints/categories          any staff
GET      /api/complaints                     any staff
POST     /api/complaints                     any staff
GET      /api/complaints/{id}                any staff
POST     /api/complaints/{id}/notes          any staff
POST     /api/complaints/{id}/transitions    supervisor, admin; advisor (own branch)
PATCH    /api/complaints/{id}/assign         supervisor, admin; advisor (own branch)
=======  ==================================  =======================================

An advisor acting on a complaint another unit owns gets 403 ``complaint-not-your-branch``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from callcenter.api.deps import DbDep, Principal, Staff, require_roles
from callcenter.api.schemas.common import Id, Offset, text
from callcenter.api.schemas.complaints import (
    ComplaintAssignIn,
    ComplaintCategoryOut,
    ComplaintCreate,
    ComplaintDetailOut,
    ComplaintNoteIn,
    ComplaintOut,
    ComplaintTransitionIn,
)
from callcenter.crm.complaints import Actor
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence import complaints

router = APIRouter(prefix="/complaints", tags=["complaints"])

# Responses to reads are built inside the unit of work: read() ends with a rollback, which
# expires the rows it loaded.

ComplaintWorkers = Annotated[
    Principal, Depends(require_roles(Role.ADVISOR, Role.SUPERVISOR, Role.ADMIN))
]


def actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.role, principal.branch_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Declared before /{complaint_id} so that "categories" is never read as an id.
@router.get("/categories")
async def complaint_categories(db: DbDep, _principal: Staff) -> list[ComplaintCategoryOut]:
    """The classification taxonomy as a tree; complaints are filed under its leaves."""
    async with db.read() as session:
        return ComplaintCategoryOut.tree(await complaints.list_categories(session))


@router.get("")
async def list_complaints(
    db: DbDep,
    _principal: Staff,
    status: ComplaintStatus | None = None,
    client_id: Id | None = None,
    owner_department: Annotated[str, text(40)] | None = None,
    owner_branch_id: Id | None = None,
    assigned_to_id: Id | None = None,
    overdue: Annotated[
        bool | None, Query(description="past the response deadline, not yet responded")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[ComplaintOut]:
    """Newest first."""
    where = complaints.ComplaintFilter(
        status=status,
        client_id=client_id,
        owner_department=owner_department,
        owner_branch_id=owner_branch_id,
        assigned_to_id=assigned_to_id,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    now = _now()
    async with db.read() as session:
        rows = await complaints.list_complaints(session, where, now)
        return [ComplaintOut.of(row, now) for row in rows]


@router.post("", status_code=201)
async def create_complaint(
    body: ComplaintCreate, db: DbDep, principal: Staff
) -> ComplaintDetailOut:
    new = complaints.NewComplaint(**body.model_dump())
    async with db.write() as session:
        record = await complaints.create_complaint(session, actor(principal), new)
    return ComplaintDetailOut.of_record(record, _now())


@router.get("/{complaint_id}")
async def get_complaint(complaint_id: Id, db: DbDep, _principal: Staff) -> ComplaintDetailOut:
    async with db.read() as session:
        record = await complaints.get_complaint(session, complaint_id)
        return ComplaintDetailOut.of_record(record, _now())


@router.post("/{complaint_id}/transitions")
async def transition_complaint(
    complaint_id: Id, body: ComplaintTransitionIn, db: DbDep, principal: ComplaintWorkers
) -> ComplaintDetailOut:
    """Move the complaint along its workflow. 409 ``stale-version`` if it changed since you read
    it; 409 ``complaint-illegal-transition`` for a move the workflow does not allow."""
    async with db.write() as session:
        record = await complaints.transition_complaint(
            session,
            actor(principal),
            complaint_id,
            to=body.to,
            version=body.version,
            note=body.note,
            resolution=body.resolution,
        )
    return ComplaintDetailOut.of_record(record, _now())


@router.post("/{complaint_id}/notes", status_code=201)
async def add_note(
    complaint_id: Id, body: ComplaintNoteIn, db: DbDep, principal: Staff
) -> ComplaintDetailOut:
    async with db.write() as session:
        record = await complaints.add_complaint_note(
            session, actor(principal), complaint_id, body.note
        )
    return ComplaintDetailOut.of_record(record, _now())


@router.patch("/{complaint_id}/assign")
async def assign_complaint(
    complaint_id: Id, body: ComplaintAssignIn, db: DbDep, principal: ComplaintWorkers
) -> ComplaintDetailOut:
    async with db.write() as session:
        record = await complaints.assign_complaint(
            session, actor(principal), complaint_id, body.assigned_to_id, body.version
        )
    return ComplaintDetailOut.of_record(record, _now())
