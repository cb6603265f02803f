"""Follow-up tasks: return visits, care calls, reminders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.follow_ups import FollowUpClosing, FollowUpQuery, FollowUpRecord, NewFollowUp
from callcenter.crm.ports import Page
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.persistence.locking import lock_row
from callcenter.persistence.scopes import follow_up_condition
from callcenter.persistence.tables import FollowUp


def follow_up_record(row: FollowUp) -> FollowUpRecord:
    return FollowUpRecord(
        id=row.id,
        client_id=row.client_id,
        kind=FollowUpKind(row.kind),
        status=FollowUpStatus(row.status),
        due_on=row.due_on,
        assigned_to_id=row.assigned_to_id,
        created_by_id=row.created_by_id,
        created_at=row.created_at,
        done_at=row.done_at,
        interaction_id=row.interaction_id,
        outcome=row.outcome,
        version=row.version,
    )


class SqlFollowUpStore:
    """The domain's FollowUpStore port over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, new: NewFollowUp, created_by_id: int | None, at: dt.datetime
    ) -> FollowUpRecord:
        row = FollowUp(
            client_id=new.client_id,
            kind=new.kind,
            status=FollowUpStatus.OPEN,
            due_on=new.due_on,
            assigned_to_id=new.assigned_to_id,
            created_by_id=created_by_id,
            created_at=at,
            interaction_id=new.interaction_id,
            version=1,
        )
        self._session.add(row)
        await self._session.flush()
        return follow_up_record(row)

    async def get(self, follow_up_id: int) -> FollowUpRecord | None:
        row = await self._session.get(FollowUp, follow_up_id)
        return None if row is None else follow_up_record(row)

    async def get_for_update(self, follow_up_id: int) -> FollowUpRecord | None:
        row = await lock_row(self._session, FollowUp, follow_up_id)
        return None if row is None else follow_up_record(row)

    async def close(self, follow_up_id: int, closing: FollowUpClosing) -> FollowUpRecord:
        await self._session.execute(
            update(FollowUp)
            .where(FollowUp.id == follow_up_id)
            .values(
                status=closing.status,
                done_at=closing.at,
                outcome=closing.outcome,
                # The contact that did it, else the call the task was agreed in stays named.
                interaction_id=func.coalesce(closing.interaction_id, FollowUp.interaction_id),
                version=FollowUp.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        closed = await self.get_for_update(follow_up_id)
        assert closed is not None  # locked by this transaction
        return closed

    async def get_in_scope(self, follow_up_id: int, scope: DataScope) -> FollowUpRecord | None:
        row = await self._session.scalar(
            select(FollowUp).where(
                FollowUp.id == follow_up_id, follow_up_condition(scope, dt.datetime.now(dt.UTC))
            )
        )
        return None if row is None else follow_up_record(row)

    async def search(self, query: FollowUpQuery, scope: DataScope) -> Page[FollowUpRecord]:
        stmt = select(FollowUp).where(follow_up_condition(scope, dt.datetime.now(dt.UTC)))
        if query.assigned_to_id is not None:
            stmt = stmt.where(FollowUp.assigned_to_id == query.assigned_to_id)
        if query.client_id is not None:
            stmt = stmt.where(FollowUp.client_id == query.client_id)
        if query.due_before is not None:
            stmt = stmt.where(FollowUp.due_on < query.due_before)
        if query.status is not None:
            stmt = stmt.where(FollowUp.status == query.status)
        stmt = (
            stmt.order_by(FollowUp.due_on, FollowUp.id).limit(query.limit + 1).offset(query.offset)
        )
        rows = [follow_up_record(row) for row in await self._session.scalars(stmt)]
        return Page.of(rows, query.limit, query.offset)
