"""The CRM's units of work: one session, with every store the CRM services use bound to it.

:class:`SqlCrm` implements the domain's ``Transactions`` port; its transaction object
satisfies each service's transaction Protocol (clients, interactions, follow-ups).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.scopes import DataScope
from callcenter.persistence.audit import SqlAuditTrail
from callcenter.persistence.clients import SqlClientStore
from callcenter.persistence.db import Database
from callcenter.persistence.follow_ups import SqlFollowUpStore
from callcenter.persistence.interactions import SqlInteractionStore
from callcenter.persistence.tables import Client, Interaction, User


class SqlReferences:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def client_exists(self, client_id: int) -> bool:
        return (
            await self._session.scalar(select(Client.id).where(Client.id == client_id)) is not None
        )

    async def user_exists(self, user_id: int) -> bool:
        return await self._session.scalar(select(User.id).where(User.id == user_id)) is not None

    async def interaction_exists(self, interaction_id: int) -> bool:
        found = await self._session.scalar(
            select(Interaction.id).where(Interaction.id == interaction_id)
        )
        return found is not None

    async def client_visible(self, client_id: int, scope: DataScope) -> bool:
        return await SqlClientStore(self._session).visible(client_id, scope)


class SqlCrmTransaction:
    def __init__(self, session: AsyncSession) -> None:
        self.clients = SqlClientStore(session)
        self.interactions = SqlInteractionStore(session)
        self.follow_ups = SqlFollowUpStore(session)
        self.audit = SqlAuditTrail(session)
        self.references = SqlReferences(session)


class SqlCrm:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[SqlCrmTransaction]:
        async with self._db.read() as session:
            yield SqlCrmTransaction(session)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlCrmTransaction]:
        async with self._db.write() as session:
            yield SqlCrmTransaction(session)
