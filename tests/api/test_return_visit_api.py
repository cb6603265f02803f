"""Return visits over HTTP, on both databases: the script with the client's risk profile;
answers that complete the follow-up, open a complaint in the right category or a task for
the branch; refusals (a missing answer, a second visit, another kind of follow-up) that
change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from callcenter.crm.vocabulary import FollowUpKind, Role
from callcenter.persistence.tables import (
    AuditEntry,
    Complaint,
    FollowUp,
    ReturnVisitAnswers,
)
from tests.api.conftest import Api
from tests.support.crm_data import add_call_in_hand, add_client, add_follow_up

ALL_WELL = {
    "opened_by_self": "yes",
    "risk_disclosure": "understood",
    "risk_profile_known": "yes",
    "promised_returns": "no",
    "satisfied_with_opening": "yes",
}


@dataclass(frozen=True)
class Visit:
    client_id: int
    call_id: int  # the agent's call with the client (the visit's call)
    follow_up_id: int

    @property
    def url(self) -> str:
        return f"/api/follow-ups/{self.follow_up_id}/return-visit"


@pytest.fixture
async def visit(api: Api) -> Visit:
    """A new client's return visit, the client on the test agent's call."""
    client_id = await add_client(api.db, api.branch.id)
    call_id = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    return Visit(client_id, call_id, await add_follow_up(api.db, client_id))


async def post(api: Api, visit: Visit, answers: dict[str, str], role: Role = Role.AGENT) -> Any:
    body = {"interaction_id": visit.call_id, "answers": answers}
    return await api.http.post(visit.url, json=body, headers=api.as_(role))


async def follow_up_row(api: Api, follow_up_id: int) -> tuple[str, str | None, int | None]:
    async with api.db.read() as session:
        row = await session.get(FollowUp, follow_up_id)
        assert row is not None
        return row.status, row.outcome, row.interaction_id


async def count(api: Api, table: Any, *where: Any) -> int:
    async with api.db.read() as session:
        found = await session.scalar(select(func.count()).select_from(table).where(*where))
        return found or 0


async def test_answers_without_a_problem_complete_the_follow_up(api: Api, visit: Visit) -> None:
    response = await post(api, visit, ALL_WELL)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["outcome"], body["problems"], body["complaint_ids"], body["task_id"]) == (
        "completed",
        [],
        [],
        None,
    )
    assert body["answers"] == ALL_WELL
    assert (body["agent_id"], body["interaction_id"]) == (api.users[Role.AGENT].id, visit.call_id)
    assert body["script_version"]
    assert await follow_up_row(api, visit.follow_up_id) == ("done", "completed", visit.call_id)
    assert await count(api, Complaint) == 0
    audited = await count(
        api,
        AuditEntry,
        AuditEntry.action == "return_visit.record",
        AuditEntry.client_id == visit.client_id,
        AuditEntry.actor_id == api.users[Role.AGENT].id,
    )
    assert audited == 1


async def test_not_opened_by_the_client_opens_an_account_opening_complaint(
    api: Api, visit: Visit
) -> None:
    response = await post(api, visit, {**ALL_WELL, "opened_by_self": "no"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "problem_found: opened_by_self"
    [problem] = body["problems"]
    assert (problem["question_id"], problem["to"], problem["category"]) == (
        "opened_by_self",
        "complaint",
        "account.opening",
    )
    assert body["complaint_ids"] == [problem["complaint_id"]]
    complaint = await api.http.get(
        f"/api/complaints/{problem['complaint_id']}", headers=api.as_(Role.SUPERVISOR)
    )
    filed = complaint.json()
    assert (filed["category_code"], filed["client_id"], filed["status"]) == (
        "account.opening",
        visit.client_id,
        "open",
    )
    # Filed as the acting agent, in the visit's call, routed to the client's branch.
    assert (filed["created_by_id"], filed["interaction_id"], filed["owner_branch_id"]) == (
        api.users[Role.AGENT].id,
        visit.call_id,
        api.branch.id,
    )
    assert await follow_up_row(api, visit.follow_up_id) == (
        "done",
        "problem_found: opened_by_self",
        visit.call_id,
    )


async def test_promised_returns_is_a_mis_selling_complaint_for_compliance(
    api: Api, visit: Visit
) -> None:
    response = await post(api, visit, {**ALL_WELL, "promised_returns": "yes"}, Role.SUPERVISOR)
    assert response.status_code == 201, response.text
    [complaint_id] = response.json()["complaint_ids"]
    async with api.db.read() as session:
        complaint = await session.get(Complaint, complaint_id)
        assert complaint is not None
        assert (complaint.category_code, complaint.owner_department) == (
            "advice.misleading",
            "compliance",
        )


async def test_branch_problems_open_one_task_for_the_branch(api: Api, visit: Visit) -> None:
    answers = {**ALL_WELL, "risk_profile_known": "no", "satisfied_with_opening": "no"}
    response = await post(api, visit, answers)
    assert response.status_code == 201, response.text
    body = response.json()
    task_id = body["task_id"]
    assert task_id is not None
    assert [(p["question_id"], p["to"], p["task_id"]) for p in body["problems"]] == [
        ("risk_profile_known", "branch_task", task_id),
        ("satisfied_with_opening", "branch_task", task_id),
    ]
    assert body["complaint_ids"] == []
    async with api.db.read() as session:
        task = await session.get(FollowUp, task_id)
        assert task is not None
        assert (task.client_id, task.kind, task.status) == (
            visit.client_id,
            FollowUpKind.CARE_CALL,
            "open",
        )
        # Owned by the client's branch staff; the branch sees it in its list.
        assert task.assigned_to_id == api.users[Role.BRANCH].id
        assert task.reason is not None
        assert "开户服务" in task.reason
    listed = await api.http.get(
        "/api/follow-ups", params={"client_id": visit.client_id}, headers=api.as_(Role.BRANCH)
    )
    assert task_id in [f["id"] for f in listed.json()["items"]]


async def test_a_missing_answer_is_named_and_changes_nothing(api: Api, visit: Visit) -> None:
    # A problem answer among them: its complaint must not be opened either.
    answers = {**ALL_WELL, "opened_by_self": "no"}
    del answers["satisfied_with_opening"]
    response = await post(api, visit, answers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "return-visit-answer-missing"
    assert response.json()["detail"]["questions"] == ["satisfied_with_opening"]
    assert await follow_up_row(api, visit.follow_up_id) == ("open", None, None)
    assert await count(api, Complaint) == 0
    assert await count(api, ReturnVisitAnswers) == 0
    assert await count(api, AuditEntry, AuditEntry.action == "return_visit.record") == 0


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({**ALL_WELL, "opened_by_self": "maybe"}, "return-visit-answer-not-allowed"),
        ({**ALL_WELL, "risk_disclosure": "yes"}, "return-visit-answer-not-allowed"),
        ({**ALL_WELL, "favourite_colour": "blue"}, "return-visit-unknown-question"),
    ],
)
async def test_answers_that_do_not_fit_the_script_are_named(
    api: Api, visit: Visit, answers: dict[str, str], error: str
) -> None:
    response = await post(api, visit, answers)
    assert (response.status_code, response.json()["error"]) == (422, error)
    assert await follow_up_row(api, visit.follow_up_id) == ("open", None, None)


async def test_a_second_visit_is_409_and_keeps_the_first(api: Api, visit: Visit) -> None:
    first = await post(api, visit, ALL_WELL)
    assert first.status_code == 201, first.text
    again = await post(api, visit, {**ALL_WELL, "opened_by_self": "no"}, Role.SUPERVISOR)
    assert (again.status_code, again.json()["error"]) == (409, "return-visit-already-recorded")
    assert await follow_up_row(api, visit.follow_up_id) == ("done", "completed", visit.call_id)
    assert await count(api, Complaint) == 0
    assert await count(api, ReturnVisitAnswers) == 1


async def test_a_cancelled_return_visit_is_409(api: Api, visit: Visit) -> None:
    cancelled = await api.http.post(
        f"/api/follow-ups/{visit.follow_up_id}/cancel",
        json={"reason": "account closed"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert cancelled.status_code == 200
    response = await post(api, visit, ALL_WELL)
    assert (response.status_code, response.json()["error"]) == (409, "follow-up-closed")


async def test_a_follow_up_of_another_kind_is_refused(api: Api, visit: Visit) -> None:
    care_call = await add_follow_up(api.db, visit.client_id, kind=FollowUpKind.CARE_CALL)
    url = f"/api/follow-ups/{care_call}/return-visit"
    response = await api.http.post(url, json={"answers": ALL_WELL}, headers=api.as_(Role.AGENT))
    assert (response.status_code, response.json()["error"]) == (
        422,
        "follow-up-not-a-return-visit",
    )
    script = await api.http.get(
        "/api/return-visits/script",
        params={"follow_up_id": care_call},
        headers=api.as_(Role.AGENT),
    )
    assert script.status_code == 422
    assert await follow_up_row(api, care_call) == ("open", None, None)
    assert await count(api, ReturnVisitAnswers) == 0


async def test_a_follow_up_out_of_scope_is_404(api: Api) -> None:
    # Nobody's call, not in anyone's hands: the agent cannot see it.
    stranger = await add_client(api.db, api.branch.id, account_no="1001000999")
    follow_up_id = await add_follow_up(api.db, stranger)
    url = f"/api/follow-ups/{follow_up_id}/return-visit"
    response = await api.http.post(url, json={"answers": ALL_WELL}, headers=api.as_(Role.AGENT))
    assert (response.status_code, response.json()["error"]) == (404, "follow-up-not-found")


async def test_another_agents_call_is_refused(api: Api, visit: Visit) -> None:
    other_call = await add_call_in_hand(api.db, visit.client_id, api.users[Role.ADVISOR].id)
    body = {"interaction_id": other_call, "answers": ALL_WELL}
    response = await api.http.post(visit.url, json=body, headers=api.as_(Role.AGENT))
    assert (response.status_code, response.json()["error"]) == (422, "follow-up-call-not-yours")
    assert await follow_up_row(api, visit.follow_up_id) == ("open", None, None)


async def test_the_script_shows_the_clients_risk_profile_and_is_audited(
    api: Api, visit: Visit
) -> None:
    plain = await api.http.get("/api/return-visits/script", headers=api.as_(Role.ADVISOR))
    assert plain.status_code == 200, plain.text
    questions = {q["id"]: q for q in plain.json()["questions"]}
    assert "{risk_profile}" in questions["risk_profile_known"]["text"]["en"]
    assert plain.json()["risk_profile"] is None
    assert questions["opened_by_self"]["problems"] == {
        "no": {"to": "complaint", "category": "account.opening"}
    }
    assert [o["id"] for o in questions["risk_disclosure"]["options"]] == [
        "understood",
        "not_understood",
        "not_received",
    ]

    shown = await api.http.get(
        "/api/return-visits/script",
        params={"follow_up_id": visit.follow_up_id},
        headers=api.as_(Role.AGENT),
    )
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["risk_profile"], body["client_id"]) == ("balanced", visit.client_id)
    risk = next(q for q in body["questions"] if q["id"] == "risk_profile_known")
    assert "稳健型" in risk["text"]["zh"]
    assert "balanced" in risk["text"]["en"]
    assert "{" not in risk["text"]["zh"] + risk["text"]["en"]
    audited = await count(
        api,
        AuditEntry,
        AuditEntry.action == "return_visit.script_view",
        AuditEntry.client_id == visit.client_id,
    )
    assert audited == 1


async def test_roles_that_do_not_call_clients_are_refused(api: Api, visit: Visit) -> None:
    for role in (Role.BRANCH, Role.COMPLIANCE, Role.ADMIN):
        response = await post(api, visit, ALL_WELL, role)
        assert response.status_code == 403, role
    assert await follow_up_row(api, visit.follow_up_id) == ("open", None, None)
