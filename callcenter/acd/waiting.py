"""A queued call's wait: music on hold, announcements of its place, overflow, and the loop
that hands the call to the offer once a decision names an agent.

The caller hears music only when they have to wait: one who can be put through at once is,
without a command (and its wait for the channel's next frame) in between. An announcement
plays beside the call's own task, so a decision stops it at once (the agent must not wait for
the end of a sentence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from callcenter.acd.calls import NEVER, OfferResult, QueuedCall
from callcenter.acd.leg import CallerGone
from callcenter.acd.ports import Speaker
from callcenter.events import OverflowReason
from callcenter.ivr.engine import Resume, Step
from callcenter.ivr.speech import speak_queue_place

if TYPE_CHECKING:
    from callcenter.acd.offer import Offers
    from callcenter.acd.service import AcdService

log = logging.getLogger(__name__)


class WaitingLoop:
    def __init__(self, acd: AcdService, offers: Offers, speaker: Speaker | None) -> None:
        self._acd = acd
        self._offers = offers
        self._speaker = speaker  # None: no announcements (no prompts to say them with)

    @property
    def speaks(self) -> bool:
        return self._speaker is not None

    async def serve(self, queued: QueuedCall) -> Resume | None:
        """Until the call is answered and over, the caller leaves, or an overflow hands the
        call back to its IVR flow (the Resume)."""
        acd, leg = self._acd, queued.leg
        on_hold = False
        while True:
            announcement = queued.announcement
            if announcement is not None and announcement.done():
                queued.announcement = None
                if not announcement.cancelled() and not announcement.result():
                    await acd.abandoned(queued)  # the caller left during it
                    return None
            now = acd.now()
            if queued.agent is None and now < queued.overflow_at:
                agent = acd.router.best_agent_for(queued.call_id, now)
                if agent is not None:
                    acd.assign(queued.call_id, agent)
            if queued.agent is None:
                if now >= queued.overflow_at:
                    resume = await self._overflow(queued)
                    if resume is not None:
                        return resume
                    continue
                if now >= queued.announce_at and queued.announcement is None:
                    on_hold = False  # a playback stops the music
                    queued.announce_at = now + queued.config.announce_every_seconds
                    queued.hush = False
                    queued.announcement = asyncio.create_task(self._announce(queued))
                    continue
                if not on_hold and queued.announcement is None:
                    on_hold = True
                    try:
                        await leg.music_on()
                    except CallerGone:
                        await acd.abandoned(queued)
                        return None
                    continue
                if not await self._wait(queued):
                    await acd.abandoned(queued)
                    return None
                continue
            agent_id, queued.agent = queued.agent, None
            queued.wake.clear()
            result = await self._offers.offer(queued, agent_id, queued.config)
            if result is not OfferResult.RETRY:
                return None
            on_hold = False  # the dial stopped the music
            acd.router.add_call(queued.waiting)  # its place in the queue is kept

    async def _wait(self, queued: QueuedCall) -> bool:
        """Until a decision wakes the call, the advisor wait ends, it is time to overflow or
        to announce, or the caller leaves; False when the caller left."""
        acd = self._acd
        # No decision named an agent since the loop looked: any earlier wake-up is spent.
        queued.wake.clear()
        widens = acd.router.widens_at(queued.call_id)
        due = min(NEVER if widens is None else widens, queued.overflow_at, queued.announce_at)
        timeout = None if due == NEVER else max(0.0, due - acd.now())
        woken = asyncio.ensure_future(queued.wake.wait())
        gone = asyncio.ensure_future(queued.leg.wait_gone())
        waits: set[asyncio.Future[Any]] = {woken, gone}
        if queued.announcement is not None:
            waits.add(queued.announcement)  # when it ends, the music comes back
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            gone.cancel()
        return not queued.leg.gone

    def hush(self, queued: QueuedCall) -> None:
        """Stop an announcement at once (a dial sent meanwhile waits in the leg until it
        stops)."""
        queued.hush = True
        if queued.announcing:
            asyncio.get_running_loop().create_task(queued.leg.stop_playback())

    # --- overflow ---------------------------------------------------------------------------

    async def _overflow(self, queued: QueuedCall) -> Resume | None:
        """The call waited its queue's longest (or the queue is closed): on into the overflow
        queue, or back to its IVR flow at the overflow node; with neither, it waits on."""
        acd, config = self._acd, queued.config
        reason: OverflowReason = "closed" if not acd.is_open(config) else "max_wait"
        target = acd.queue_config(config.overflow_queue or "")
        if target is not None:
            step = Step(f"overflow:{config.name}", (target.name,))
            acd.move(queued, target, step)
            log.info(
                "call %s overflows (%s) from %s to %s",
                queued.call_id,
                reason,
                config.name,
                target.name,
            )
            acd.notices.overflowed(queued, config.name, target.name, reason)
            if queued.interaction_id is not None:
                await acd.store.overflowed(queued.interaction_id, target.name, step.entry())
            return None
        if config.overflow_node is not None and queued.resumable:
            self.hush(queued)  # the flow's own prompt comes next
            acd.router.remove_call(queued.call_id)
            acd.places.left(queued)  # a callback asked for there may keep this wait
            queued.steps.append(Step(f"overflow:{config.name}", (reason,)))
            log.info(
                "call %s overflows (%s) from %s to IVR node %s",
                queued.call_id,
                reason,
                config.name,
                config.overflow_node,
            )
            acd.notices.overflowed(queued, config.name, None, reason)
            with contextlib.suppress(CallerGone):
                await queued.leg.music_off()
            return Resume(config.overflow_node, queued.outcome, tuple(queued.steps))
        if config.overflow_queue is not None:
            log.error(
                "call %s: overflow queue %r of %s is gone; the call waits on",
                queued.call_id,
                config.overflow_queue,
                config.name,
            )
        queued.overflow_at = NEVER  # nowhere to go: the longest wait is only a figure
        return None

    # --- announcements ------------------------------------------------------------------------

    async def _announce(self, queued: QueuedCall) -> bool:
        """Tell the caller how many are ahead and about how long the wait is; a decision
        stops it at once. False when the caller left."""
        acd, leg, config = self._acd, queued.leg, queued.config
        if self._speaker is None:
            return True
        order = [waiting.call_id for waiting in acd.router.waiting_calls(config.name)]
        if queued.call_id not in order:
            return True
        ahead = order.index(queued.call_id)
        utterance = speak_queue_place(
            ahead, acd.expected_wait_minutes(config.name, ahead), queued.outcome.language
        )
        queued.announcing = True
        try:
            for name in self._speaker.say(utterance, queued.call_id):
                if queued.hush:
                    break
                await leg.play(name)
        except CallerGone:
            return False
        finally:
            queued.announcing = False
        return not leg.gone
