"""The complaint workflow, deadline and routing rules (pure)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from callcenter.crm.complaints import (
    Actor,
    CategoryFacts,
    CategoryNotAssignable,
    ComplaintState,
    IllegalTransition,
    NotYourComplaint,
    ResolutionNotExpected,
    ResolutionRequired,
    check_category_assignable,
    check_may_work_on,
    check_version,
    is_overdue,
    plan_transition,
    response_due_at,
    route_complaint,
    transition,
)
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.errors import StaleVersion

S = ComplaintStatus
# The specification, written out independently of the module's table.
LEGAL = {
    (S.OPEN, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.INVESTIGATING),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.INVESTIGATING, S.RESOLVED),
    (S.RESOLVED, S.INVESTIGATING),  # reopened: the client is not satisfied
    (S.RESOLVED, S.CLOSED),
}
ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)
T0 = dt.datetime(2026, 3, 6, 17, 0, tzinfo=dt.UTC)  # a Friday evening


def state(status: ComplaintStatus, **fields: object) -> ComplaintState:
    values: dict[str, object] = {
        "responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "resolution": None,
    }
    values.update(fields)
    return ComplaintState(status, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_every_legal_move_is_allowed(current: ComplaintStatus, target: ComplaintStatus) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_move_raises_naming_from_and_to(
    current: ComplaintStatus, target: ComplaintStatus
) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)
    assert caught.value.error_id == "complaint-illegal-transition"
    assert caught.value.detail["from"] == current.value
    assert caught.value.detail["to"] == target.value


def test_closed_is_final() -> None:
    for target in S:
        with pytest.raises(IllegalTransition):
            transition(S.CLOSED, target)


def test_first_acknowledgement_stamps_the_response() -> None:
    change = plan_transition(state(S.OPEN), S.ACKNOWLEDGED, T0)
    assert change.status is S.ACKNOWLEDGED
    assert change.responded_at == T0


def test_a_later_step_keeps_the_first_response_time() -> None:
    earlier = T0 - dt.timedelta(hours=5)
    change = plan_transition(state(S.ACKNOWLEDGED, responded_at=earlier), S.INVESTIGATING, T0)
    assert change.responded_at == earlier


def test_resolving_needs_a_resolution() -> None:
    with pytest.raises(ResolutionRequired) as caught:
        plan_transition(state(S.INVESTIGATING), S.RESOLVED, T0)
    assert caught.value.detail["field"] == "resolution"


def test_a_resolution_outside_resolving_is_refused() -> None:
    with pytest.raises(ResolutionNotExpected):
        plan_transition(state(S.OPEN), S.ACKNOWLEDGED, T0, resolution="refunded")


def test_resolving_stamps_the_time_and_keeps_the_resolution_in_the_event() -> None:
    change = plan_transition(
        state(S.INVESTIGATING), S.RESOLVED, T0, note="called back", resolution="fee refunded"
    )
    assert change.resolved_at == T0
    assert change.resolution == "fee refunded"
    assert change.event_note == "fee refunded\n\ncalled back"


def test_reopening_clears_the_resolution() -> None:
    resolved = state(S.RESOLVED, responded_at=T0, resolved_at=T0, resolution="fee refunded")
    change = plan_transition(resolved, S.INVESTIGATING, T0 + dt.timedelta(days=1), note="no")
    assert change.status is S.INVESTIGATING
    assert change.resolved_at is None
    assert change.resolution is None
    assert change.responded_at == T0
    assert change.event_note == "no"


def test_closing_stamps_the_time_and_keeps_the_resolution() -> None:
    resolved = state(S.RESOLVED, responded_at=T0, resolved_at=T0, resolution="fee refunded")
    change = plan_transition(resolved, S.CLOSED, T0 + dt.timedelta(days=3))
    assert change.closed_at == T0 + dt.timedelta(days=3)
    assert change.resolution == "fee refunded"
    assert change.resolved_at == T0


def test_response_is_due_two_calendar_days_later_even_over_a_weekend() -> None:
    assert response_due_at(T0) == dt.datetime(2026, 3, 8, 17, 0, tzinfo=dt.UTC)  # Sunday


def test_overdue_only_after_the_deadline_and_without_a_response() -> None:
    due = response_due_at(T0)
    assert not is_overdue(due, None, due)
    assert is_overdue(due, None, due + dt.timedelta(seconds=1))
    assert not is_overdue(due, due - dt.timedelta(hours=1), due + dt.timedelta(days=5))


def test_a_stale_version_is_a_conflict_naming_both_versions() -> None:
    check_version(3, 3)
    with pytest.raises(StaleVersion) as caught:
        check_version(4, 3)
    assert caught.value.error_id == "stale-version"
    assert caught.value.detail == {"version": 3, "current_version": 4}


def leaf(owner: str, *, active: bool = True, is_leaf: bool = True) -> CategoryFacts:
    return CategoryFacts("x.y", owner, active, is_leaf)


def test_department_categories_route_to_the_department() -> None:
    routing = route_complaint(leaf("compliance"), client_branch_id=7)
    assert (routing.owner_department, routing.owner_branch_id) == ("compliance", None)


def test_branch_categories_route_to_the_clients_branch() -> None:
    routing = route_complaint(leaf("branch"), client_branch_id=7)
    assert (routing.owner_department, routing.owner_branch_id) == (None, 7)


@pytest.mark.parametrize(
    "category",
    [None, leaf("finance", active=False), leaf("finance", is_leaf=False)],
    ids=["unknown", "retired", "not-a-leaf"],
)
def test_only_active_leaves_take_complaints(category: CategoryFacts | None) -> None:
    with pytest.raises(CategoryNotAssignable) as caught:
        check_category_assignable("x.y", category)
    assert caught.value.detail["field"] == "category_code"


@pytest.mark.parametrize(
    ("role", "branch_id", "allowed"),
    [
        (Role.SUPERVISOR, None, True),
        (Role.ADMIN, 99, False),  # admins run the system, not client cases (issue 15)
        (Role.ADVISOR, 7, True),
        (Role.ADVISOR, 8, False),
        (Role.BRANCH, 7, True),
        (Role.BRANCH, 8, False),
        (Role.COMPLIANCE, 7, False),  # reads everything, changes nothing
        (Role.AGENT, 7, False),
    ],
)
def test_who_may_work_on_a_branch_complaint(
    role: Role, branch_id: int | None, allowed: bool
) -> None:
    who = Actor(1, role, branch_id)
    if allowed:
        check_may_work_on(who, owner_branch_id=7)
    else:
        with pytest.raises(NotYourComplaint):
            check_may_work_on(who, owner_branch_id=7)


def test_advisors_may_not_work_on_department_complaints() -> None:
    with pytest.raises(NotYourComplaint):
        check_may_work_on(Actor(1, Role.ADVISOR, 7), owner_branch_id=None)
