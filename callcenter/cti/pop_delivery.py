"""The ACD's pop port (callcenter/acd/ports.py PopDelivery) over the CTI hub: the pop, the
``call.offered`` event with the caller's client summary in it, is published, and the offer
goes on once the hub wrote it onto a socket of the agent's desk (or at once when the agent
has none open)."""

from __future__ import annotations

from callcenter.cti.hub import CtiHub
from callcenter.events import CallOffered, EventBus


class HubPopDelivery:
    def __init__(self, hub: CtiHub, bus: EventBus) -> None:
        self._hub = hub
        self._bus = bus

    async def deliver(self, pop: CallOffered, within: float) -> bool:
        return await self._hub.pop_out(pop.call_id, lambda: self._bus.publish(pop), within)
