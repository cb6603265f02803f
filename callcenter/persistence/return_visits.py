"""Return visits in the database: the answers, and where their problems go (the ports of
callcenter/outbound/return_visit_service.py over one session).

Complaints are opened through the complaints use case (persistence/complaints.py) in the
same session, so the complaint, its first event, its audit entry, the answers and the
completed follow-up commit together or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.complaints import Actor
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, RiskProfile, Role
from callcenter.outbound.return_visit_service import (
    BranchTask,
    NewReturnVisit,
    ProblemComplaint,
    ProblemOpened,
    ReturnVisitRecord,
)
from callcenter.persistence import complaints
from callcenter.persistence.audit import SqlAuditTrail
from callcenter.persistence.db import Database
from callcenter.persistence.follow_ups import SqlFollowUpStore
from callcenter.persistence.interactions import SqlInteractionStore
from callcenter.persistence.tables import Client, FollowUp, ReturnVisitAnswers, User


def return_visit_record(row: ReturnVisitAnswers) -> ReturnVisitRecord:
    return ReturnVisitRecord(
        id=row.id,
        follow_up_id=row.follow_up_id,
        client_id=row.client_id,
        interaction_id=row.interaction_id,
        agent_id=row.agent_id,
        script_version=row.script_version,
        answers=dict(row.answers),
        problems=tuple(ProblemOpened(**problem) for problem in row.problems),
        complaint_ids=tuple(row.complaint_ids),
        task_id=row.task_id,
        at=row.at,
    )


def _problem_json(problem: ProblemOpened) -> dict[str, Any]:
    return {
        "question_id": problem.question_id,
        "answer": problem.answer,
        "to": problem.to,
        "category": problem.category,
        "complaint_id": problem.complaint_id,
        "task_id": problem.task_id,
    }


class SqlReturnVisitStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_follow_up(self, follow_up_id: int) -> ReturnVisitRecord | None:
        row = await self._session.scalar(
            select(ReturnVisitAnswers).where(ReturnVisitAnswers.follow_up_id == follow_up_id)
        )
        return None if row is None else return_visit_record(row)

    async def add(self, new: NewReturnVisit) -> ReturnVisitRecord:
        row = ReturnVisitAnswers(
            follow_up_id=new.follow_up_id,
            client_id=new.client_id,
            interaction_id=new.interaction_id,
            agent_id=new.agent_id,
            script_version=new.script_version,
            answers=dict(new.answers),
            problems=[_problem_json(problem) for problem in new.problems],
            complaint_ids=list(new.complaint_ids),
            task_id=new.task_id,
            at=new.at,
        )
        self._session.add(row)
        await self._session.flush()
        return return_visit_record(row)

    async def risk_profile(self, client_id: int) -> RiskProfile | None:
        found = await self._session.scalar(
            select(Client.risk_profile).where(Client.id == client_id)
        )
        return None if found is None else RiskProfile(found)


class SqlProblemDesk:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_complaint(self, actor: Actor, complaint: ProblemComplaint) -> int:
        new = complaints.NewComplaint(
            client_id=complaint.client_id,
            category_code=complaint.category_code,
            summary=complaint.summary,
            description=complaint.description,
            interaction_id=complaint.interaction_id,
        )
        created = await complaints.create_complaint(self._session, actor, new)
        return created.complaint.id

    async def open_branch_task(self, task: BranchTask) -> int:
        """A care call of the client's branch: owned by its branch staff (the first active
        one), else by the client's advisor; with neither, by nobody, and still in the
        branch's list (branch staff see every follow-up of their clients)."""
        client = await self._session.get(Client, task.client_id)
        assert client is not None  # the follow-up's client, read in this transaction
        owner = await self._session.scalar(
            select(User.id)
            .where(User.role == Role.BRANCH, User.branch_id == client.branch_id, User.active)
            .order_by(User.id)
            .limit(1)
        )
        row = FollowUp(
            client_id=task.client_id,
            kind=FollowUpKind.CARE_CALL,
            status=FollowUpStatus.OPEN,
            due_on=task.due_on,
            assigned_to_id=owner if owner is not None else client.advisor_id,
            created_by_id=task.created_by_id,
            interaction_id=task.interaction_id,
            reason=task.reason,
            version=1,
        )
        self._session.add(row)
        await self._session.flush()
        return row.id


class SqlReturnVisitTransaction:
    def __init__(self, session: AsyncSession) -> None:
        self.follow_ups = SqlFollowUpStore(session)
        self.interactions = SqlInteractionStore(session)
        self.return_visits = SqlReturnVisitStore(session)
        self.problems = SqlProblemDesk(session)
        self.audit = SqlAuditTrail(session)


class SqlReturnVisits:
    """The return-visit service's units of work over the app's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[SqlReturnVisitTransaction]:
        async with self._db.read() as session:
            yield SqlReturnVisitTransaction(session)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlReturnVisitTransaction]:
        async with self._db.write() as session:
            yield SqlReturnVisitTransaction(session)
