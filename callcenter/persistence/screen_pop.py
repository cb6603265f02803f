"""What a screen pop reads and writes: the caller's client summary, and one audit entry per
pop delivered to an agent's screen (the hub's PopRecords port, callcenter/cti/hub.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select

from callcenter.cti.hub import PopDelivery
from callcenter.cti.pops import PopClient
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Client, User

# The audit action of a pop's client summary reaching a screen (one day a member of
# crm.privacy.AuditAction, like client.pin_unlock).
POP_VIEWED = "pop.viewed"

# Built once, with the client as a bound parameter: it runs for every offered call.
POP_CLIENT = (
    select(
        Client.id,
        Client.name,
        Client.name_latin,
        Client.tier,
        Client.value_class,
        Client.risk_profile,
        User.display_name,
    )
    .outerjoin(User, User.id == Client.advisor_id)
    .where(Client.id == bindparam("client_id"))
)


class SqlPopRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def client_of(self, client_id: int) -> PopClient | None:
        async with self._db.read() as session:
            row = (await session.execute(POP_CLIENT, {"client_id": client_id})).one_or_none()
        if row is None:
            return None
        cid, name, name_latin, tier, value_class, risk_profile, advisor_name = row
        return PopClient(
            cid, name, name_latin, str(tier), str(value_class), str(risk_profile), advisor_name
        )

    async def pops_delivered(self, deliveries: Sequence[PopDelivery]) -> None:
        """One audit entry per delivery, all in one transaction."""
        async with self._db.write() as session:
            for delivery in deliveries:
                await record_audit(
                    session,
                    delivery.agent_id,
                    POP_VIEWED,
                    client_id=delivery.client_id,
                    interaction_id=delivery.interaction_id,
                    detail={
                        "call_id": delivery.call_id,
                        "connection": delivery.connection_id,
                        "resumed": delivery.resumed,
                    },
                )
