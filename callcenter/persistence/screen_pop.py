"""What a screen pop reads and writes: the caller's client summary, read once per call when it
joins a queue (the ACD's store, callcenter/persistence/acd_backend.py), and the one audit
entry of each pop, written with the agent's reservation (the agents' state store), before
anything of the record leaves for the agent's desk."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.model import POP_SHOWS, ClientSummary
from callcenter.events import CallOffered
from callcenter.persistence.audit import record_audit
from callcenter.persistence.tables import Client, User

# The audit action of a client's summary popping on an agent's screen with an offered call:
# the name of the message that carries it (one day a member of crm.privacy.AuditAction).
CALL_OFFERED = CallOffered.TOPIC
# The same action as entries written before migration 0007 name it. The audit log refuses
# UPDATE, so they keep that name: whatever reads pops from the log matches every name here.
CALL_OFFERED_ACTIONS = (CALL_OFFERED, "pop.offered")

# Built once, with the client as a bound parameter: it runs for every queued call.
CLIENT_SUMMARY = (
    select(
        Client.id,
        Client.name,
        Client.name_latin,
        Client.tier,
        Client.value_class,
        Client.risk_profile,
        Client.advisor_id,
        User.display_name,
    )
    .outerjoin(User, User.id == Client.advisor_id)
    .where(Client.id == bindparam("client_id"))
)


async def client_summary(session: AsyncSession, client_id: int) -> ClientSummary | None:
    """The client's summary, advisor's name included, in one SELECT; None: no such client."""
    row = (await session.execute(CLIENT_SUMMARY, {"client_id": client_id})).one_or_none()
    if row is None:
        return None
    cid, name, name_latin, tier, value_class, risk_profile, advisor_id, advisor_name = row
    return ClientSummary(
        client_id=cid,
        name=name,
        name_latin=name_latin,
        tier=tier,
        value_class=value_class,
        risk_profile=risk_profile,
        advisor_id=advisor_id,
        advisor_name=advisor_name,
    )


async def record_call_offered(
    session: AsyncSession,
    agent_id: int,
    client_id: int,
    interaction_id: int | None,
    at: dt.datetime | None = None,
) -> None:
    """The pop's one audit entry: the agent it pops for, the client, the call's interaction,
    and the names of the fields it shows (never their values), at the offer's time."""
    await record_audit(
        session,
        agent_id,
        CALL_OFFERED,
        client_id,
        interaction_id,
        {"fields": list(POP_SHOWS)},
        at=at,
    )
