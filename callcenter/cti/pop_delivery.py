"""The ACD's pop port (callcenter/acd/ports.py PopDelivery) over the CTI hub: the pop, the
caller's client summary in it, is published as ``call.offered`` and the offer goes on once
the hub wrote it onto a socket of the agent's desk (or at once when the agent has none
open)."""

from __future__ import annotations

from callcenter.acd.ports import ScreenPop
from callcenter.cti.hub import CtiHub
from callcenter.events import CallOffered, EventBus


def offered(pop: ScreenPop) -> CallOffered:
    return CallOffered(
        agent_id=pop.agent_id,
        extension=pop.extension,
        call_id=pop.call_id,
        interaction_id=pop.interaction_id,
        queue=pop.queue,
        client=pop.client,
        caller_number=pop.caller_number,
        language=pop.language,
        priority=pop.priority,
        authenticated=pop.authenticated,
        ivr_path=pop.ivr_path,
    )


class HubPopDelivery:
    def __init__(self, hub: CtiHub, bus: EventBus) -> None:
        self._hub = hub
        self._bus = bus

    async def deliver(self, pop: ScreenPop, within: float) -> bool:
        event = offered(pop)
        return await self._hub.pop_out(pop.call_id, lambda: self._bus.publish(event), within)
