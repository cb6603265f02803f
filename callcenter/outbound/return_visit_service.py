"""The return visit's use cases: the script as the agent reads it to one client, and recording
the client's answers (the script and the check: return_visit.py; docs/return-visits.md).

Recording is check -> act -> say, in one unit of work: the follow-up is found in the agent's
scope and locked, the answers checked, the call checked; then each problem is opened (a
complaint, as the acting agent, through the complaints use case; or one task for the
client's branch), the answers stored, the follow-up completed and the visit audited. A
failure at any step rolls back all of them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from callcenter.crm.complaints import Actor
from callcenter.crm.follow_ups import (
    FollowUpCallNotYours,
    FollowUpCalls,
    FollowUpClosed,
    FollowUpClosing,
    FollowUpNotFound,
    FollowUpRecord,
    FollowUpStore,
)
from callcenter.crm.ports import AuditRecord, AuditTrail, Transactions
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, RiskProfile
from callcenter.errors import Conflict, InvalidInput
from callcenter.outbound.return_visit import (
    AUDIT_RECORD,
    AUDIT_SCRIPT_VIEW,
    BRANCH_TASK_DAYS,
    REASON_MAX,
    BranchTaskRoute,
    ComplaintRoute,
    Problem,
    ReturnVisitScript,
    check_answers,
    outcome_of,
)

log = logging.getLogger(__name__)


class NotAReturnVisit(InvalidInput):
    """The follow-up is a callback or a care call: it has no script."""

    error_id = "follow-up-not-a-return-visit"


class ReturnVisitAlreadyRecorded(Conflict):
    """The follow-up's return visit has its answers: a follow-up has one, ever."""

    error_id = "return-visit-already-recorded"


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemOpened:
    """A problem found, and what was opened for it."""

    question_id: str
    answer: str
    to: Literal["complaint", "branch_task"]
    category: str | None  # the complaint's category
    complaint_id: int | None
    task_id: int | None


@dataclass(frozen=True)
class NewReturnVisit:
    follow_up_id: int
    client_id: int
    interaction_id: int | None
    agent_id: int
    script_version: str
    answers: Mapping[str, str]
    problems: tuple[ProblemOpened, ...]
    complaint_ids: tuple[int, ...]
    task_id: int | None
    at: dt.datetime

    @property
    def outcome(self) -> str:
        """The follow-up's outcome: ``completed``, or ``problem_found: <question ids>``."""
        return outcome_of([p.question_id for p in self.problems])


@dataclass(frozen=True)
class ReturnVisitRecord(NewReturnVisit):
    id: int


@dataclass(frozen=True)
class Answers:
    """What the agent submits: the client's answer to each question, and the call."""

    answers: Mapping[str, str]
    interaction_id: int | None = None


@dataclass(frozen=True)
class ProblemComplaint:
    client_id: int
    category_code: str
    summary: str
    description: str
    interaction_id: int | None


@dataclass(frozen=True)
class BranchTask:
    """A follow-up for the client's branch to put a problem right."""

    client_id: int
    reason: str
    due_on: dt.date
    created_by_id: int
    interaction_id: int | None


@dataclass(frozen=True)
class ScriptView:
    """The script for one visit: with the client's risk profile when a follow-up is named."""

    script: ReturnVisitScript
    follow_up_id: int | None = None
    client_id: int | None = None
    risk_profile: RiskProfile | None = None


# --- ports ------------------------------------------------------------------------------------


class ReturnVisitStore(Protocol):
    async def of_follow_up(self, follow_up_id: int) -> ReturnVisitRecord | None: ...

    async def add(self, new: NewReturnVisit) -> ReturnVisitRecord: ...

    async def risk_profile(self, client_id: int) -> RiskProfile | None: ...


class ProblemDesk(Protocol):
    """Where problems go: the complaints use case, and the branch's tasks."""

    async def open_complaint(self, actor: Actor, complaint: ProblemComplaint) -> int: ...

    async def open_branch_task(self, task: BranchTask) -> int:
        """A follow-up owned by the client's branch; its id."""
        ...


class ReturnVisitTransaction(Protocol):
    @property
    def follow_ups(self) -> FollowUpStore: ...

    @property
    def interactions(self) -> FollowUpCalls: ...

    @property
    def return_visits(self) -> ReturnVisitStore: ...

    @property
    def problems(self) -> ProblemDesk: ...

    @property
    def audit(self) -> AuditTrail: ...


# --- the use cases ----------------------------------------------------------------------------


class ReturnVisitService:
    def __init__(
        self,
        crm: Transactions[ReturnVisitTransaction],
        script: ReturnVisitScript,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._crm = crm
        self._script = script
        self._clock = clock

    async def script_for(self, scope: DataScope, follow_up_id: int | None) -> ScriptView:
        """The script; for a follow-up in the reader's scope, with its client's risk profile
        (a read of the client's record: audited)."""
        if follow_up_id is None:
            return ScriptView(self._script)
        async with self._crm.read() as tx:
            follow_up = await _return_visit_in_scope(tx, scope, follow_up_id)
            client_id = _client_of(follow_up)
            profile = await tx.return_visits.risk_profile(client_id)
        async with self._crm.write() as tx:
            await tx.audit.record(
                AuditRecord(
                    scope.user_id,
                    AUDIT_SCRIPT_VIEW,
                    client_id,
                    detail={"follow_up_id": follow_up_id, "script_version": self._script.version},
                )
            )
        return ScriptView(self._script, follow_up_id, client_id, profile)

    async def record(self, actor: Actor, follow_up_id: int, given: Answers) -> ReturnVisitRecord:
        """Record the answers of a follow-up's return visit, open what its problems need and
        complete it. 404 out of scope, 422 for another kind of follow-up or answers that do
        not fit the script, 409 once recorded or closed."""
        scope = actor.scope
        now = self._clock()
        async with self._crm.write() as tx:
            follow_up = await _open_return_visit(tx, scope, follow_up_id)
            client_id = _client_of(follow_up)
            problems = check_answers(self._script, given.answers)
            await _check_call(tx, scope, client_id, given.interaction_id)
            # Opened before the follow-up is completed: an agent reaches the client through
            # the open task in their hands (crm/scopes.py), and the complaint is filed in
            # their scope.
            opened = await self._open_problems(tx, actor, follow_up, problems, given, now)
            record = await tx.return_visits.add(
                NewReturnVisit(
                    follow_up_id=follow_up_id,
                    client_id=client_id,
                    interaction_id=given.interaction_id,
                    agent_id=actor.user_id,
                    script_version=self._script.version,
                    answers=dict(given.answers),
                    problems=opened,
                    complaint_ids=tuple(p.complaint_id for p in opened if p.complaint_id),
                    task_id=next((p.task_id for p in opened if p.task_id), None),
                    at=now,
                )
            )
            closing = FollowUpClosing(
                FollowUpStatus.DONE, now, record.outcome, given.interaction_id
            )
            await tx.follow_ups.close(follow_up_id, closing)
            await tx.audit.record(
                AuditRecord(
                    actor.user_id,
                    AUDIT_RECORD,
                    client_id,
                    given.interaction_id,
                    detail={
                        "follow_up_id": follow_up_id,
                        "script_version": self._script.version,
                        "problems": [p.question_id for p in opened],
                        "complaints": list(record.complaint_ids),
                        "task_id": record.task_id,
                    },
                )
            )
        log.info(
            "return visit of follow-up %s (client %s) recorded by user %s: %s",
            follow_up_id,
            client_id,
            actor.user_id,
            closing.outcome,
        )
        return record

    async def _open_problems(
        self,
        tx: ReturnVisitTransaction,
        actor: Actor,
        follow_up: FollowUpRecord,
        problems: tuple[Problem, ...],
        given: Answers,
        now: dt.datetime,
    ) -> tuple[ProblemOpened, ...]:
        """One complaint per problem that goes to one; one task for all those that go to the
        branch (the branch calls the client once, about everything)."""
        client_id = _client_of(follow_up)
        task_id: int | None = None
        if branch := [p for p in problems if isinstance(p.route, BranchTaskRoute)]:
            reason = "\n".join(p.route.summary_text for p in branch)
            task = BranchTask(
                client_id,
                _clip(reason, REASON_MAX),
                now.date() + dt.timedelta(days=BRANCH_TASK_DAYS),
                actor.user_id,
                given.interaction_id,
            )
            task_id = await tx.problems.open_branch_task(task)
        opened: list[ProblemOpened] = []
        for problem in problems:
            route = problem.route
            if isinstance(route, ComplaintRoute):
                complaint = ProblemComplaint(
                    client_id,
                    route.category,
                    route.summary_text,
                    self._description(follow_up, problem),
                    given.interaction_id,
                )
                complaint_id = await tx.problems.open_complaint(actor, complaint)
                opened.append(
                    ProblemOpened(
                        problem.question_id,
                        problem.answer,
                        route.to,
                        route.category,
                        complaint_id,
                        None,
                    )
                )
            else:
                opened.append(
                    ProblemOpened(
                        problem.question_id, problem.answer, route.to, None, None, task_id
                    )
                )
        return tuple(opened)

    def _description(self, follow_up: FollowUpRecord, problem: Problem) -> str:
        question = self._script.question(problem.question_id)
        assert question is not None  # checked against this script
        return (
            f"回访 Return visit (follow-up {follow_up.id}, script {self._script.version})\n"
            f"{question.text.zh}\n{question.text.en}\n"
            f"回答 Answer: {problem.answer}"
        )


async def _return_visit_in_scope(
    tx: ReturnVisitTransaction, scope: DataScope, follow_up_id: int
) -> FollowUpRecord:
    follow_up = await tx.follow_ups.get_in_scope(follow_up_id, scope)
    if follow_up is None:
        raise FollowUpNotFound(f"no follow-up {follow_up_id}")
    if follow_up.kind is not FollowUpKind.RETURN_VISIT:
        raise NotAReturnVisit(
            f"follow-up {follow_up_id} is a {follow_up.kind}, not a return visit",
            field="follow_up_id",
            kind=follow_up.kind.value,
        )
    return follow_up


async def _open_return_visit(
    tx: ReturnVisitTransaction, scope: DataScope, follow_up_id: int
) -> FollowUpRecord:
    await _return_visit_in_scope(tx, scope, follow_up_id)
    # Read again under the write lock: of two agents recording the same visit, the second
    # waits for the first and then finds it recorded.
    current = await tx.follow_ups.get_for_update(follow_up_id)
    if current is None:
        raise FollowUpNotFound(f"no follow-up {follow_up_id}")
    if await tx.return_visits.of_follow_up(follow_up_id) is not None:
        raise ReturnVisitAlreadyRecorded(
            f"the return visit of follow-up {follow_up_id} is recorded already"
        )
    if current.status is not FollowUpStatus.OPEN:
        raise FollowUpClosed(
            f"follow-up {follow_up_id} is already {current.status}", status=current.status
        )
    return current


def _client_of(follow_up: FollowUpRecord) -> int:
    # A return visit is for a new account: the kind is created with its client, always.
    if follow_up.client_id is None:
        raise NotAReturnVisit(f"follow-up {follow_up.id} has no client", field="follow_up_id")
    return follow_up.client_id


async def _check_call(
    tx: ReturnVisitTransaction, scope: DataScope, client_id: int, interaction_id: int | None
) -> None:
    """The call the visit was made in: with this client, and the agent's own (a supervisor
    may name any). The same answer whether or not the call exists."""
    if interaction_id is None:
        return
    call = await tx.interactions.get(interaction_id)
    if (
        call is None
        or call.client_id != client_id
        or not (scope.owns_call(call.agent_id) or scope.sees_everything)
    ):
        raise FollowUpCallNotYours(
            f"interaction {interaction_id} is not your call with client {client_id}",
            field="interaction_id",
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
