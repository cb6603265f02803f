"""The agents' state owner as the routes and the websocket reach it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from callcenter.acd.agent_states import AgentStates
from callcenter.crm.vocabulary import Role

# Who has an agent state: the people the ACD routes calls to. Only they change their own.
AGENT_ROLES = (Role.AGENT, Role.ADVISOR)


def agent_states(request: Request) -> AgentStates:
    states: AgentStates = request.app.state.runtime.agent_states
    return states


AgentStatesDep = Annotated[AgentStates, Depends(agent_states)]
