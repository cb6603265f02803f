"""A call the ACD serves, as it waits and is offered: the state its collaborators share."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from enum import Enum

from callcenter.acd.leg import CallerLeg
from callcenter.acd.model import ClientSummary, QueueConfig, WaitingCall
from callcenter.ivr.engine import Outcome, Step

NEVER = math.inf


class OfferResult(Enum):
    DONE = "done"  # answered and over (or followed after a lost PBX link)
    CALLER_GONE = "caller_gone"
    RETRY = "retry"  # the agent did not take it: offer again, in its place


@dataclass
class QueuedCall:
    leg: CallerLeg
    interaction_id: int | None
    waiting: WaitingCall
    caller: ClientSummary | None  # read once, at queue entry; shown by every pop of the call
    outcome: Outcome  # how the IVR ended: who, authenticated, the path
    config: QueueConfig  # of the queue it waits in now (overflow moves it)
    resumable: bool  # an IVR run waits for it: an overflow may go back to the flow
    overflow_at: float = NEVER
    announce_at: float = NEVER
    steps: list[Step] = field(default_factory=list)  # overflows, added to the IVR path
    announcing: bool = False  # an announcement is playing: a decision stops it
    announcement: asyncio.Task[bool] | None = None  # it plays beside the call's own task
    hush: bool = False  # stop the announcement: no more of its files
    agent: int | None = None  # set by a decision: the agent this call is to be offered to
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_id(self) -> str:
        return self.leg.call_id

    @property
    def queue(self) -> str:
        return self.waiting.queue

    def ivr_path(self) -> tuple[str, ...]:
        return tuple(step.entry() for step in (*self.outcome.path, *self.steps))
