"""Interaction records: one row per contact, rewritten at each phase."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.clients import RECENT_INTERACTIONS
from callcenter.crm.interactions import (
    Amendment,
    DuplicateInteraction,
    InteractionQuery,
    InteractionRecord,
    NewAmendment,
    NewInteraction,
)
from callcenter.crm.ports import Page
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence.locking import lock_row
from callcenter.persistence.scopes import interaction_condition
from callcenter.persistence.tables import Interaction, InteractionAmendment

# What a phase may change; identity (channel, direction, numbers, Asterisk ids) never changes.
MUTABLE_FIELDS = (
    "client_id",
    "ivr_ended_at",
    "queued_at",
    "offered_at",
    "answered_at",
    "ended_at",
    "wrapup_ended_at",
    "ivr_path",
    "ivr_outcome",
    "authenticated",
    "queue",
    "agent_id",
    "wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "wrapup_seconds",
    "disposition",
    "notes",
    "recording_ref",
    "version",
    "anomaly",
)


def _amendment(row: InteractionAmendment) -> Amendment:
    return Amendment(
        interaction_id=row.interaction_id,
        at=row.at,
        by_user_id=row.by_user_id,
        reason=row.reason,
        changes=row.changes,
        id=row.id,
    )


def interaction_record(row: Interaction) -> InteractionRecord:
    return InteractionRecord(
        id=row.id,
        client_id=row.client_id,
        channel=Channel(row.channel),
        direction=Direction(row.direction),
        caller_number=row.caller_number,
        called_number=row.called_number,
        started_at=row.started_at,
        ivr_ended_at=row.ivr_ended_at,
        queued_at=row.queued_at,
        offered_at=row.offered_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        wrapup_ended_at=row.wrapup_ended_at,
        ivr_path=tuple(row.ivr_path or ()),
        ivr_outcome=row.ivr_outcome,
        authenticated=row.authenticated,
        queue=row.queue,
        agent_id=row.agent_id,
        wait_seconds=row.wait_seconds,
        talk_seconds=row.talk_seconds,
        hold_seconds=row.hold_seconds,
        wrapup_seconds=row.wrapup_seconds,
        disposition=row.disposition,
        notes=row.notes,
        recording_ref=row.recording_ref,
        call_id=row.call_id,
        asterisk_linkedid=row.asterisk_linkedid,
        version=row.version,
        anomaly=row.anomaly,
    )


async def recent_interactions(
    session: AsyncSession, client_id: int, limit: int = RECENT_INTERACTIONS
) -> tuple[InteractionRecord, ...]:
    rows = await session.scalars(
        select(Interaction)
        .where(Interaction.client_id == client_id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return tuple(interaction_record(row) for row in rows)


class SqlInteractionStore:
    """The domain's InteractionStore port over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: NewInteraction) -> InteractionRecord:
        row = Interaction(**dataclasses.asdict(new), ivr_path=[], authenticated=False, version=1)
        try:
            # A savepoint: on PostgreSQL a failed INSERT would otherwise abort the whole
            # transaction, and we still want to name the interaction that got there first.
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError as exc:
            call_id = new.call_id
            existing = None if call_id is None else await self.find_by_call_id(call_id)
            if existing is None:
                raise
            # Two creates for one call raced past the service's check (PostgreSQL).
            raise DuplicateInteraction(
                f"call {call_id} is interaction {existing.id}", interaction_id=existing.id
            ) from exc
        return interaction_record(row)

    async def get(self, interaction_id: int) -> InteractionRecord | None:
        row = await self._session.get(Interaction, interaction_id)
        return None if row is None else interaction_record(row)

    async def get_for_update(self, interaction_id: int) -> InteractionRecord | None:
        row = await lock_row(self._session, Interaction, interaction_id)
        return None if row is None else interaction_record(row)

    async def find_by_call_id(self, call_id: str) -> InteractionRecord | None:
        row = await self._session.scalar(select(Interaction).where(Interaction.call_id == call_id))
        return None if row is None else interaction_record(row)

    async def save(self, record: InteractionRecord) -> None:
        values = {name: getattr(record, name) for name in MUTABLE_FIELDS}
        values["ivr_path"] = list(record.ivr_path)
        await self._session.execute(
            update(Interaction)
            .where(Interaction.id == record.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def get_in_scope(self, interaction_id: int, scope: DataScope) -> InteractionRecord | None:
        row = await self._session.scalar(
            select(Interaction).where(
                Interaction.id == interaction_id,
                interaction_condition(scope, dt.datetime.now(dt.UTC)),
            )
        )
        return None if row is None else interaction_record(row)

    async def add_amendment(self, amendment: NewAmendment) -> Amendment:
        row = InteractionAmendment(
            interaction_id=amendment.interaction_id,
            at=amendment.at,
            by_user_id=amendment.by_user_id,
            reason=amendment.reason,
            changes={name: dict(change) for name, change in amendment.changes.items()},
        )
        self._session.add(row)
        await self._session.flush()
        return _amendment(row)

    async def amendments(self, interaction_id: int) -> tuple[Amendment, ...]:
        rows = await self._session.scalars(
            select(InteractionAmendment)
            .where(InteractionAmendment.interaction_id == interaction_id)
            .order_by(InteractionAmendment.id)
        )
        return tuple(_amendment(row) for row in rows)

    async def search(self, query: InteractionQuery, scope: DataScope) -> Page[InteractionRecord]:
        stmt = select(Interaction).where(interaction_condition(scope, dt.datetime.now(dt.UTC)))
        if query.client_id is not None:
            stmt = stmt.where(Interaction.client_id == query.client_id)
        if query.agent_id is not None:
            stmt = stmt.where(Interaction.agent_id == query.agent_id)
        if query.since is not None:
            stmt = stmt.where(Interaction.started_at >= query.since)
        stmt = (
            stmt.order_by(Interaction.started_at.desc(), Interaction.id.desc())
            .limit(query.limit + 1)
            .offset(query.offset)
        )
        rows = [interaction_record(row) for row in await self._session.scalars(stmt)]
        return Page.of(rows, query.limit, query.offset)
