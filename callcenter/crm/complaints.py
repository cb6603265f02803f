"""Complaints (投诉): the status workflow, the 2-day response deadline and owner routing.

Pure: no database, no web framework. Persistence applies what these functions decide.

The workflow, as a table (``TRANSITIONS``)::

    from \\ to      open  acknowledged  investigating  resolved  closed
    open             -        yes            -             -        -
    acknowledged     -         -            yes           yes       -
    investigating    -         -             -            yes       -
    resolved         -         -            yes            -       yes
    closed           -         -             -             -        -     (final)

* ``open -> acknowledged`` is the response to the client that the 2-day rule measures; it
  stamps ``responded_at`` (only the first time). ``open -> investigating`` (or straight to
  ``resolved``) is *not* allowed: skipping the acknowledgement would either leave the response
  unrecorded or record one nobody gave, and the response deadline is the one figure DOMAIN.md
  asks the center to keep.
* ``acknowledged -> resolved`` is allowed: a complaint settled with the client on the spot
  (a fee refunded, a password reset) needs no investigation; forcing one would only add a
  meaningless step. Resolving always needs a resolution text.
* ``resolved -> investigating`` is the reopening when the client is not satisfied: it clears
  ``resolved_at`` and ``resolution`` (the rejected resolution stays in the history, in the
  resolving event's note).
* ``resolved -> closed`` stamps ``closed_at``. A closed complaint is final: no transition, no
  note, no reassignment. A client who complains again gets a new complaint.

Response deadline: ``response_due_at = created_at + 2 calendar days``. Calendar, not business,
days: the hotline works every day, and a complaint lodged on Friday evening should not wait
for Tuesday. A complaint is overdue when the deadline has passed and nobody has responded.

Owner routing: each leaf of the taxonomy names its owner: a department (``compliance``,
``finance``...) or ``"branch"``, meaning the client's own branch (营业部). A complaint gets
exactly one owner: ``owner_department`` or ``owner_branch_id``, never both.

Who may work on a complaint (the API enforces the roles; :func:`check_may_work_on` the branch):
any staff member may record a complaint and add notes; supervisors and admins may transition
and assign any complaint; advisors (branch staff) may transition and assign complaints owned by
their own branch. Agents may not transition: the complaint may well be about the hotline itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion

S = ComplaintStatus

TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.OPEN: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.INVESTIGATING, S.RESOLVED}),
    S.INVESTIGATING: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.INVESTIGATING, S.CLOSED}),
    S.CLOSED: frozenset(),
}

RESPONSE_WINDOW = dt.timedelta(days=2)  # DOMAIN.md: written inquiries answered within 2 days
BRANCH_OWNER = "branch"  # the taxonomy's owner meaning "the client's own branch"
# Admins run the system and see no client data; compliance reads and changes nothing.
MANAGER_ROLES = frozenset({Role.SUPERVISOR})
BRANCH_STAFF_ROLES = frozenset({Role.ADVISOR, Role.BRANCH})


# --- errors -----------------------------------------------------------------------------------


class ComplaintNotFound(NotFound):
    error_id = "complaint-not-found"


class IllegalTransition(Conflict):
    error_id = "complaint-illegal-transition"


class ComplaintClosed(Conflict):
    error_id = "complaint-closed"


class CategoryNotAssignable(InvalidInput):
    error_id = "complaint-category-invalid"


class ResolutionRequired(InvalidInput):
    error_id = "complaint-resolution-required"


class ResolutionNotExpected(InvalidInput):
    error_id = "complaint-resolution-not-expected"


class NotYourComplaint(Forbidden):
    error_id = "complaint-not-your-branch"


# --- the workflow -----------------------------------------------------------------------------


def transition(current: ComplaintStatus, target: ComplaintStatus) -> ComplaintStatus:
    """The status after moving ``current`` to ``target``, or :class:`IllegalTransition`."""
    if target not in TRANSITIONS[current]:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        raise IllegalTransition(
            f"a complaint cannot move from {current.value} to {target.value}",
            **{"from": current.value, "to": target.value, "allowed": allowed},
        )
    return target


@dataclass(frozen=True)
class StatusChange:
    """What a legal transition does to the complaint row, besides its status."""

    status: ComplaintStatus
    responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str | None
    event_note: str | None


@dataclass(frozen=True)
class ComplaintState:
    """The fields of a complaint that a transition reads."""

    status: ComplaintStatus
    responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str | None


def plan_transition(
    state: ComplaintState,
    target: ComplaintStatus,
    at: dt.datetime,
    note: str | None = None,
    resolution: str | None = None,
) -> StatusChange:
    """Check the move and compute the complaint's new timestamps and texts."""
    new_status = transition(state.status, target)
    resolving = new_status is S.RESOLVED
    if resolving and not resolution:
        raise ResolutionRequired("resolving a complaint needs a resolution", field="resolution")
    if not resolving and resolution:
        raise ResolutionNotExpected(
            f"a resolution is given only when resolving, not when moving to {target.value}",
            field="resolution",
        )
    reopening = state.status is S.RESOLVED and new_status is S.INVESTIGATING
    return StatusChange(
        status=new_status,
        # The first response stops the 2-day clock; a later one does not move it.
        responded_at=state.responded_at or (at if new_status is S.ACKNOWLEDGED else None),
        resolved_at=at if resolving else (None if reopening else state.resolved_at),
        closed_at=at if new_status is S.CLOSED else state.closed_at,
        resolution=resolution if resolving else (None if reopening else state.resolution),
        event_note=resolving_note(note, resolution) if resolving else note,
    )


def resolving_note(note: str | None, resolution: str | None) -> str | None:
    """The resolving event keeps the resolution text, so a reopened complaint's history still
    shows what the client rejected."""
    return "\n\n".join(text for text in (resolution, note) if text) or None


def check_not_closed(status: ComplaintStatus) -> None:
    if status is S.CLOSED:
        raise ComplaintClosed("the complaint is closed; record a new complaint instead")


def check_version(current: int, given: int) -> None:
    if current != given:
        raise StaleVersion(
            f"the complaint has changed (version {current}, not {given}): reload it",
            version=given,
            current_version=current,
        )


# --- deadlines --------------------------------------------------------------------------------


def response_due_at(created_at: dt.datetime) -> dt.datetime:
    """The deadline for responding to the client: two calendar days after the complaint."""
    return created_at + RESPONSE_WINDOW


def is_overdue(due_at: dt.datetime, responded_at: dt.datetime | None, now: dt.datetime) -> bool:
    return responded_at is None and now > due_at


# --- classification and routing ---------------------------------------------------------------


@dataclass(frozen=True)
class CategoryFacts:
    code: str
    owner: str
    active: bool
    is_leaf: bool


@dataclass(frozen=True)
class Routing:
    owner_department: str | None
    owner_branch_id: int | None


def check_category_assignable(code: str, category: CategoryFacts | None) -> CategoryFacts:
    """A complaint is filed under an active leaf: a top-level category reaches nobody in
    particular, and poor classification is what this taxonomy exists to prevent."""
    if category is None:
        raise CategoryNotAssignable(f"unknown complaint category {code!r}", field="category_code")
    if not category.active:
        raise CategoryNotAssignable(f"category {code!r} is retired", field="category_code")
    if not category.is_leaf:
        raise CategoryNotAssignable(
            f"category {code!r} has subcategories: choose one of them", field="category_code"
        )
    return category


def route_complaint(category: CategoryFacts, client_branch_id: int) -> Routing:
    if category.owner == BRANCH_OWNER:
        return Routing(owner_department=None, owner_branch_id=client_branch_id)
    return Routing(owner_department=category.owner, owner_branch_id=None)


# --- who may work on a complaint --------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The staff member acting: who they are, their role and their branch."""

    user_id: int
    role: Role
    branch_id: int | None

    @property
    def scope(self) -> DataScope:
        return DataScope.of(self.role, self.user_id, self.branch_id)


def check_may_work_on(actor: Actor, owner_branch_id: int | None) -> None:
    """Transitions and assignment: supervisors anywhere, advisors and branch staff on their
    own branch's complaints."""
    if actor.role in MANAGER_ROLES:
        return
    if (
        actor.role in BRANCH_STAFF_ROLES
        and owner_branch_id is not None
        and actor.branch_id == owner_branch_id
    ):
        return
    raise NotYourComplaint(
        "only supervisors and the owning branch's advisors and staff may change this complaint",
        role=actor.role.value,
    )
