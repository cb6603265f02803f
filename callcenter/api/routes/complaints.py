"""REST routes: complaints (投诉) and their taxonomy.

Roles (the workflow and branch rule are in callcenter/crm/complaints.py):

=======  ==================================  ================================================
method   path                                roles
=======  ==================================  ================================================
GET      /api/complaints/categories          any staff
GET      /api/complaints                     all but admin, in scope (audited)
POST     /api/complaints                     agent, advisor, branch, supervisor
GET      /api/complaints/{id}                all but admin, in scope (audited)
POST     /api/complaints/{id}/notes          agent, advisor, branch, supervisor
POST     /api/complaints/{id}/transitions    supervisor; advisor, branch (own branch)
PATCH    /api/complaints/{id}/assign         supervisor; advisor, branch (own branch)
=======  ==================================  ================================================

Every route works within the caller's data scope (callcenter/crm/scopes.py): a branch user
sees the complaints their branch owns or whose client is theirs, an advisor those of their
book, an agent those they filed, are assigned or whose client is on their call; a complaint
out of scope is 404 ``complaint-not-found``. An advisor acting on a complaint another unit
owns gets 403 ``complaint-not-your-branch``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from callcenter.api.deps import (
    CLIENT_FACING,
    ClientReaders,
    DbDep,
    Principal,
    Staff,
    require_roles,
    scope_of,
)
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
from callcenter.crm.privacy import AuditAction
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence import complaints
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database

router = APIRouter(prefix="/complaints", tags=["complaints"])

# Responses to reads are built inside the unit of work: read() ends with a rollback, which
# expires the rows it loaded.

ComplaintWorkers = Annotated[
    Principal, Depends(require_roles(Role.ADVISOR, Role.BRANCH, Role.SUPERVISOR))
]
ComplaintWriters = Annotated[Principal, Depends(require_roles(*CLIENT_FACING))]


def actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.role, principal.branch_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _audit_read(
    db: Database, principal: Principal, action: AuditAction, client_id: int | None, **detail: Any
) -> None:
    """A read of complaints is in the audit log before the response leaves."""
    async with db.write() as session:
        await record_audit(session, principal.user_id, action, client_id, detail=detail)


# Declared before /{complaint_id} so that "categories" is never read as an id.
@router.get("/categories")
async def complaint_categories(db: DbDep, _principal: Staff) -> list[ComplaintCategoryOut]:
    """The classification taxonomy as a tree; complaints are filed under its leaves."""
    async with db.read() as session:
        return ComplaintCategoryOut.tree(await complaints.list_categories(session))


@router.get("")
async def list_complaints(
    db: DbDep,
    principal: ClientReaders,
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
    """Newest first, within your scope. Audited."""
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
        rows = await complaints.list_complaints(session, where, scope_of(principal), now)
        listed = [ComplaintOut.of(row, now) for row in rows]
    await _audit_read(
        db, principal, AuditAction.COMPLAINT_LIST, client_id, complaints=[c.id for c in listed]
    )
    return listed


@router.post("", status_code=201)
async def create_complaint(
    body: ComplaintCreate, db: DbDep, principal: ComplaintWriters
) -> ComplaintDetailOut:
    new = complaints.NewComplaint(**body.model_dump())
    async with db.write() as session:
        record = await complaints.create_complaint(session, actor(principal), new)
    return ComplaintDetailOut.of_record(record, _now())


@router.get("/{complaint_id}")
async def get_complaint(
    complaint_id: Id, db: DbDep, principal: ClientReaders
) -> ComplaintDetailOut:
    """Audited."""
    async with db.read() as session:
        record = await complaints.get_complaint(session, complaint_id, scope_of(principal))
        detail = ComplaintDetailOut.of_record(record, _now())
    await _audit_read(
        db, principal, AuditAction.COMPLAINT_VIEW, detail.client_id, complaint_id=complaint_id
    )
    return detail


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
    complaint_id: Id, body: ComplaintNoteIn, db: DbDep, principal: ComplaintWriters
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
