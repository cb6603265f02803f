"""Adopting calls after a restart: finish the records of calls a previous run left open.

Once the channel view is rebuilt: a call still up in Asterisk and answered (or being offered)
is followed until it ends (the conversation goes on; the other leg hanging up hangs up the
caller, whose Async AGI session nobody drives any more); a call that was in the IVR or
waiting goes back into its queue, its Async AGI session driven again through a new leg; a
call already gone ends when its channel ended, as Asterisk's own record (CEL,
callcenter/pbx/cel.py) tells, or, if Asterisk has no record of that, at the time the restart
found it gone, marked so (``EndSource``). Either way its agent goes to wrap-up as after any
call (callcenter/acd/service.py ``finish_adopted``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Coroutine, Mapping
from enum import StrEnum
from typing import Any, Protocol

from callcenter.acd.ports import OpenCall
from callcenter.acd.service import AcdService
from callcenter.pbx.call_control import CallControl
from callcenter.pbx.call_states import is_leg_of
from callcenter.pbx.caller_leg import CallerLegs, follow_to_end
from callcenter.pbx.channels import Channel
from callcenter.pbx.click_to_dial import first_of
from callcenter.pbx.link import AgiCall, PbxLink

log = logging.getLogger(__name__)

ADOPT_WINDOW = dt.timedelta(hours=12)  # open records older than this are left for a person


class EndSource(StrEnum):
    """Where the end of a call that ended while no service ran comes from
    (``interactions.end_source``; NULL: the service saw the call end)."""

    ASTERISK = "asterisk"  # the channel's hang-up in Asterisk's record (CEL)
    RESTART = "restart"  # no record of it: the time the restart found the channel gone


class GoneCallEnds(Protocol):
    """Asterisk's record of when channels ended, and the records of calls that ended while no
    service ran (callcenter/persistence/adopted_ends.py)."""

    async def channel_ends(self, call_ids: Collection[str]) -> Mapping[str, dt.datetime]:
        """When each of these callers' channels ended; a call Asterisk has no end of is absent."""
        ...

    async def close(self, interaction_id: int, at: dt.datetime, source: EndSource) -> bool:
        """End the call's record at ``at`` (no earlier than its last phase), its source noted;
        False if it had ended already."""
        ...


class CallAdoption:
    def __init__(
        self,
        link: PbxLink,
        legs: CallerLegs,
        acd: AcdService,
        calls: CallControl | None = None,
        ends: GoneCallEnds | None = None,
    ) -> None:
        self._link = link
        self._legs = legs
        self._acd = acd
        self._calls = calls  # None: answered calls are only followed to their end
        self._ends = ends  # None: a call already gone ends when it is found gone

    async def run(self, started_at: dt.datetime) -> None:
        """Adopt what a run before ``started_at`` left open; return once all of it is over.

        Raises only if the open records cannot be read (then nothing was done, and the
        service's task supervisor runs it again). Each call is adopted on its own: whatever
        one record holds, it never stops the others, nor the link.
        """
        link, acd = self._link, self._acd
        await link.resynced.wait()
        await acd.started.wait()
        open_calls = await acd.store.open_calls(started_at - ADOPT_WINDOW, started_at)
        # The call id is the Asterisk uniqueid of the caller's channel.
        channels = {c.call_id: link.tracker.channels.get(c.call_id) for c in open_calls}
        ends = await self._channel_ends([i for i, channel in channels.items() if channel is None])
        async with asyncio.TaskGroup() as tasks:
            for open_call in open_calls:
                channel = channels[open_call.call_id]
                work: Coroutine[Any, Any, None]
                if channel is None:
                    log.info("call %s ended while the service was down", open_call.call_id)
                    work = self._ended_while_down(open_call, ends.get(open_call.call_id))
                elif open_call.answered or open_call.agent_id is not None:
                    log.info("adopting call %s (%s)", open_call.call_id, channel.name)
                    work = self._follow(open_call, channel)
                else:
                    log.info("call %s back into queue %s", open_call.call_id, open_call.queue)
                    work = self._requeue(open_call, channel)
                tasks.create_task(
                    self._isolated(work, open_call), name=f"adopted-{open_call.call_id}"
                )

    async def _channel_ends(self, call_ids: list[str]) -> Mapping[str, dt.datetime]:
        if self._ends is None or not call_ids:
            return {}
        try:
            return await self._ends.channel_ends(call_ids)
        except Exception:
            # An unreadable record must not keep the calls open: they end as found.
            log.exception("Asterisk's record of the calls' ends could not be read")
            return {}

    async def _ended_while_down(self, open_call: OpenCall, end: dt.datetime | None) -> None:
        """A call whose channel was gone when the service came back. Its record ends when the
        channel did, as Asterisk recorded it, so that its talk time is the conversation's and
        not the service's downtime; with no such record, at the time it was found gone, marked
        so that reports and people can tell. Then the agent moves on as after any call (the end
        already written, ``finish_adopted`` keeps it). A record in a state no call produces is
        left to ``finish_adopted``, which closes it as an anomaly."""
        if self._ends is not None and open_call.anomaly is None:
            source = EndSource.ASTERISK if end is not None else EndSource.RESTART
            at = end if end is not None else self._acd.wallclock()
            try:
                await self._ends.close(open_call.interaction_id, at, source)
            except Exception:
                # The database refuses now: the end goes through the ACD's store (journalled)
                # at the time found, and Asterisk's record importer corrects it later.
                log.exception("call %s: its end as Asterisk recorded it", open_call.call_id)
        await self._acd.finish_adopted(open_call)

    async def _isolated(self, work: Coroutine[Any, Any, None], open_call: OpenCall) -> None:
        """One adopted call's failure must not end the others' (a TaskGroup would cancel
        them): it is logged, and its record closed as an anomaly for a person to look at."""
        try:
            await work
        except Exception as exc:
            log.exception("adopted call %s failed", open_call.call_id)
            try:
                await self._acd.store.close_as_anomaly(
                    open_call.interaction_id,
                    self._acd.wallclock(),
                    f"adoption after a restart failed: {type(exc).__name__}: {exc}",
                )
            except Exception:
                log.exception("call %s: its record stays open", open_call.call_id)

    async def _follow(self, open_call: OpenCall, channel: Channel) -> None:
        link, calls, agent_id = self._link, self._calls, open_call.agent_id
        extension = self._extension(agent_id)
        if agent_id is None or extension is None or calls is None:
            if await follow_to_end(link.client, link.tracker, channel):
                await self._acd.finish_adopted(open_call)
            return
        call = link.adopt_call(
            channel.name, open_call.call_id, channel.linkedid, open_call.caller_number or ""
        )
        try:
            bridged = bool(channel.bridge_id)
            if not open_call.answered:
                if not await self._rung(open_call, agent_id, extension, channel, call):
                    return  # the caller left, or waits again in the queue
                open_call, bridged = dataclasses.replace(open_call, answered=True), True
            await self._take_back(open_call, agent_id, extension, bridged, calls, call)
        finally:
            link.release_call(call)

    def _extension(self, agent_id: int | None) -> str | None:
        """The agent's phone, if the ACD knows the agent (logged in)."""
        try:
            return self._acd.profile(agent_id).extension if agent_id is not None else None
        except KeyError:
            return None

    async def _rung(
        self, open_call: OpenCall, agent_id: int, extension: str, channel: Channel, call: AgiCall
    ) -> bool:
        """A call a previous run was ringing the agent for. True: answered since (the caller
        in a bridge, or the DialEnd says so). False: the caller left (the agent is ready
        again), or the agent did not answer (missed, and the caller waits again in the
        queue, keeping the record)."""
        link, acd = self._link, self._acd
        while True:
            session = link.client.generation
            dial_end = link.client.expect_event("DialEnd", "Channel", channel.name)
            returned = link.client.expect_event("AsyncAGIExec", "Channel", channel.name)
            try:
                if self._still_ringing(open_call, extension):
                    await first_of(dial_end, returned, call.ended.wait())
                lost = any(f.done() and f.exception() is not None for f in (dial_end, returned))
                answered = (
                    dial_end.done() and not lost and dial_end.result().get("DialStatus") == "ANSWER"
                )
            finally:
                dial_end.cancel()
                returned.cancel()
            if lost and not call.ended.is_set():
                await self._legs.back_after(session)  # the link dropped: look again once back
                continue
            live = link.tracker.channels.get(open_call.call_id)
            if call.ended.is_set() or live is None:
                await acd.finish_adopted(open_call)
                return False
            if answered or live.bridge_id:
                await acd.answered_adopted(open_call, agent_id)
                return True
            await acd.missed_adopted(open_call, agent_id)
            await acd.requeue(self._legs.of(call), open_call)
            return False

    def _still_ringing(self, open_call: OpenCall, extension: str) -> bool:
        """The caller in no bridge and the agent's phone leg of this call still up."""
        tracker = self._link.tracker
        caller = tracker.channels.get(open_call.call_id)
        if caller is None or caller.bridge_id:
            return False
        return any(
            is_leg_of(leg, extension) and leg.linkedid == caller.linkedid
            for leg in tracker.channels.values()
        )

    async def _take_back(
        self,
        open_call: OpenCall,
        agent_id: int,
        extension: str,
        bridged: bool,
        calls: CallControl,
        call: AgiCall,
    ) -> None:
        """An answered call: the caller's Async AGI session is driven again, so the agent's
        desk can hold, transfer and hang up as in any call. The caller is still in the
        previous run's Dial while the conversation lasts (``bridged``); it returns (its
        AsyncAGIExec, for a command id of the previous run) when the agent hangs up or call
        control takes the agent's leg away, and call control then drives the caller as after
        any Dial."""
        link = self._link
        dial_returned = link.client.expect_event("AsyncAGIExec", "Channel", call.channel)
        session = link.client.generation
        try:
            calls.adopted(agent_id, extension, call, open_call.interaction_id, bridged=bridged)
            if bridged:
                await first_of(dial_returned, call.ended.wait())
                if dial_returned.done() and dial_returned.exception() is not None:
                    # The link dropped mid-conversation: followed to its end as before.
                    calls.forget_call(call)
                    await self._legs.back_after(session)
                    live = link.tracker.channels.get(open_call.call_id)
                    if live is None or await follow_to_end(link.client, link.tracker, live):
                        await self._acd.finish_adopted(open_call)
                    return
            rest = await calls.after_dial(call)
            await self._acd.finish_adopted(open_call)
            if rest is not None:  # transferred: the caller talks on with the target
                await rest
            if not call.ended.is_set():
                await call.hang_up()
        finally:
            dial_returned.cancel()

    async def _requeue(self, open_call: OpenCall, channel: Channel) -> None:
        link = self._link
        call = link.adopt_call(
            channel.name, open_call.call_id, channel.linkedid, open_call.caller_number or ""
        )
        try:
            await self._acd.requeue(self._legs.of(call), open_call)
        finally:
            link.release_call(call)
