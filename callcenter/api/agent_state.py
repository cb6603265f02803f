"""An agent's own ready / not ready: one code path for ``POST /api/agents/me/state`` and the
websocket's ``state`` message."""

from __future__ import annotations

from callcenter.acd.agents import ReasonNotExpected
from callcenter.api.schemas.agents import AgentOut, AgentStateIn
from callcenter.crm.vocabulary import Role
from callcenter.events import AgentStateChanged, EventBus
from callcenter.persistence import agents
from callcenter.persistence.db import Database

# Who has an agent state: the people the ACD routes calls to. Only they change their own.
AGENT_ROLES = (Role.AGENT, Role.ADVISOR)


async def change_own_state(
    db: Database, events: EventBus, agent_id: int, change: AgentStateIn, reasons: frozenset[str]
) -> AgentOut:
    """Ready (in wrap-up: end it now) or not ready with a reason; stored, then announced."""
    async with db.write() as session:
        if change.state == "ready":
            if change.reason is not None:
                raise ReasonNotExpected("ready takes no reason", field="reason")
            await agents.set_ready(session, agent_id)
        else:
            await agents.set_not_ready(session, agent_id, change.reason, reasons=reasons)
        out = AgentOut.of(await agents.get_agent(session, agent_id))
    publish_agent_state(events, out)
    return out


def publish_agent_state(events: EventBus, out: AgentOut) -> None:
    """Tell the ACD and the screens (``agent.state``) once the change is stored."""
    events.publish(
        AgentStateChanged(agent_id=out.agent_id, state=out.state, reason=out.reason, origin="api")
    )
