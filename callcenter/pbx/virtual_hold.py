"""The ACD's :class:`~callcenter.acd.ports.CallBacks` over the dialler (virtual hold,
callcenter/acd/kept_places.py): a caller whose kept place has its turn is dialled for the
agent, client first, through the progressive dialler (callcenter/pbx/progressive.py), with
the work item's rules checked and its attempt recorded by the dialler's own use case
(``OutboundService.call_back_for``)."""

from __future__ import annotations

import logging

from callcenter.acd.ports import CallBackResult
from callcenter.errors import Conflict, NotFound
from callcenter.outbound.service import DialUnderWay, OutboundService
from callcenter.pbx.call_states import PbxUnavailable
from callcenter.pbx.progressive import ProgressiveCalls, ProgressiveDial

log = logging.getLogger(__name__)


class _Remembered:
    """The progressive dialler, keeping the dial it started (for its answer)."""

    def __init__(self, calls: ProgressiveCalls) -> None:
        self._calls = calls
        self.started: ProgressiveDial | None = None

    async def dial(
        self, agent_id: int, number: str, client_id: int | None, queue: str, language: str = "zh"
    ) -> ProgressiveDial:
        self.started = await self._calls.dial(agent_id, number, client_id, queue, language)
        return self.started


class VirtualHoldCallBacks:
    def __init__(self, outbound: OutboundService, calls: ProgressiveCalls) -> None:
        self.outbound = outbound
        self.calls = calls

    async def call_back(self, agent_id: int, item_id: int) -> CallBackResult:
        dialler = _Remembered(self.calls)
        try:
            await self.outbound.call_back_for(agent_id, item_id, dialler)
        except DialUnderWay:
            return CallBackResult.AGENT_BUSY
        except (Conflict, NotFound, PbxUnavailable) as exc:
            # The rules (calling hours, do-not-call...), the item (closed, held) or the PBX:
            # nothing went out; the item stays for the dialler.
            log.info("work item %s: not called back for agent %s: %s", item_id, agent_id, exc)
            return CallBackResult.NOT_DIALLED
        assert dialler.started is not None
        answered = await dialler.started.answered
        return CallBackResult.REACHED if answered else CallBackResult.NOT_REACHED
