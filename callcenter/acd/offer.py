"""An offer of a waiting call to the agent a decision named, in order:

1. the agent is reserved (stored; the caller's client summary popping on their screen is
   audited in the same transaction, before anything of it leaves);
2. the screen pop, with that summary (read once, when the call joined its queue), is
   delivered to the agent's desk, awaited (at most ``POP_HEAD_START``), so it beats the ring;
3. the caller's name is set for the agent's phone and the phone is dialled, both sent at once;
4. then the wallboards' news (the agent's state), off the path to the ring, and the offer in
   the call's record.

The dial's outcome decides: answered, the conversation runs until the agent's part is over,
then wrap-up; not answered, the agent goes not ready ("missed") and the call is offered to
the next agent, keeping its place; a caller who hangs up while the phone rings abandoned.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from callcenter.acd.agents import AgentEvent
from callcenter.acd.calls import OfferResult, QueuedCall
from callcenter.acd.leg import AgentLine, DialOutcome, Ringing
from callcenter.acd.model import AgentProfile, QueueConfig
from callcenter.acd.path_steps import path_steps
from callcenter.acd.ports import PopDelivery
from callcenter.errors import Conflict, NotFound
from callcenter.events import CallOffered

if TYPE_CHECKING:
    from callcenter.acd.service import AcdService

log = logging.getLogger(__name__)

POP_HEAD_START = 0.1  # the longest the dial waits for the pop to be written to the desk


def call_offered(queued: QueuedCall, profile: AgentProfile) -> CallOffered:
    """The pop: the call as the IVR and routing knew it, and the caller's client summary."""
    return CallOffered(
        agent_id=profile.agent_id,
        extension=profile.extension,
        call_id=queued.call_id,
        interaction_id=queued.interaction_id,
        queue=queued.queue,
        client=queued.caller,  # audited already, with the agent's reservation
        caller_number=queued.leg.caller_number,
        language=queued.waiting.language,
        priority=queued.waiting.priority,
        authenticated=queued.outcome.authenticated,
        ivr_path=queued.ivr_path(),
        ivr_steps=path_steps((*queued.outcome.path, *queued.steps)),
    )


class Offers:
    def __init__(self, acd: AcdService, pops: PopDelivery | None) -> None:
        self._acd = acd
        self._pops = pops  # None: no desks to pop (a service without the CTI hub)

    async def offer(self, queued: QueuedCall, agent_id: int, config: QueueConfig) -> OfferResult:
        acd, leg, interaction_id = self._acd, queued.leg, queued.interaction_id
        profile = acd.profile(agent_id)
        try:
            reserved = await acd.agent_event(
                agent_id,
                AgentEvent.OFFER,
                interaction_id=interaction_id,
                announce=False,
                pop_client_id=queued.caller.client_id if queued.caller else None,
            )
        except (Conflict, NotFound) as exc:  # the agent changed meanwhile (went not ready)
            log.info("call %s: agent %s cannot take it now: %s", queued.call_id, agent_id, exc)
            await acd.refresh_agent(agent_id)
            return OfferResult.RETRY
        # The pop first, and alone: every wallboard also gets the state change, and a pop
        # queued behind hundreds of those could lose its race with the ring.
        if self._pops is not None and not await self._pops.deliver(
            call_offered(queued, profile), POP_HEAD_START
        ):
            log.warning("call %s: agent %s's desk is slow; dialling anyway", leg.call_id, agent_id)
        offered_at = acd.wallclock()
        if queued.caller is not None:
            await leg.set_caller_name(queued.caller.name)
        line = AgentLine(agent_id, profile.extension, interaction_id)
        ringing = await leg.dial(line, config.ring_seconds)
        acd.announce_state(agent_id, reserved)
        if interaction_id is not None:
            await acd.store.offered(interaction_id, agent_id, offered_at)
        outcome = await ringing.outcome()
        if outcome is DialOutcome.ANSWERED:
            return await self._answered(queued, agent_id, ringing, config)
        if outcome is DialOutcome.LINK_LOST:
            acd.follow_after_link_loss(queued, agent_id, answered=False)
            return OfferResult.DONE
        if outcome is DialOutcome.NOT_DIALLED:
            # No phone rang: the agent is no "missed"; the call keeps its place and is offered
            # again once the link is back (the leg's next dial waits for it).
            acd.notices.offer_ended(queued, agent_id, "not_dialled")
            await acd.agent_event(agent_id, AgentEvent.CALLER_GONE)
            acd.ready_again(agent_id)
            return OfferResult.RETRY
        if outcome is DialOutcome.CALLER_GONE or leg.gone:
            acd.notices.offer_ended(queued, agent_id, "caller_gone")
            await acd.agent_event(agent_id, AgentEvent.CALLER_GONE)
            acd.ready_again(agent_id)
            await acd.abandoned(queued)
            return OfferResult.CALLER_GONE
        log.info("call %s: agent %s did not answer", leg.call_id, agent_id)
        acd.notices.offer_ended(queued, agent_id, "no_answer")
        await acd.agent_event(agent_id, AgentEvent.RING_NO_ANSWER)
        return OfferResult.RETRY

    async def _answered(
        self, queued: QueuedCall, agent_id: int, ringing: Ringing, config: QueueConfig
    ) -> OfferResult:
        acd, leg, interaction_id = self._acd, queued.leg, queued.interaction_id
        acd.notices.answered(queued, agent_id)
        answered_at = acd.now()
        await acd.agent_event(agent_id, AgentEvent.ANSWER)
        if interaction_id is not None:
            await acd.store.answered(interaction_id, agent_id, acd.wallclock())
        talk = await ringing.conversation()
        if talk.link_lost:
            # The PBX link went, not the call: follow it once the link is back.
            acd.follow_after_link_loss(queued, agent_id, answered=True)
            return OfferResult.DONE
        # A transferred caller talks on (``rest``) after the agent's part is recorded and
        # their wrap-up has started.
        if talk.rest is None:
            await leg.hang_up()
        acd.handled(config.name, acd.now() - answered_at + config.wrap_up_seconds)
        acd.notices.ended(queued, agent_id, transferred=talk.rest is not None)
        await acd.ended(interaction_id)
        await acd.agent_event(agent_id, AgentEvent.HANG_UP)
        acd.start_wrap_up(agent_id, interaction_id, config.wrap_up_seconds)
        if talk.rest is not None:
            await talk.rest
            await leg.hang_up()
        return OfferResult.DONE
