"""Client lookups used on the hot path (the IVR identifying a caller, the screen pop)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.persistence.tables import Client, ClientPhone


async def find_clients_by_phone(session: AsyncSession, e164: str) -> list[Client]:
    """Clients with this phone number, open accounts first. Usually one; a family may share
    a landline, so callers of this function must handle several."""
    stmt = (
        select(Client)
        .join(ClientPhone, ClientPhone.client_id == Client.id)
        .where(ClientPhone.e164 == e164)
        .order_by(Client.closed_on.is_not(None), Client.id)
    )
    return list((await session.scalars(stmt)).all())
