"""Call control over AMI: what the agent desktop's buttons do to the agent's live call.

How a call is held and moved (verified against Asterisk 22, see docs/acd.md "Call control").
The caller's leg never leaves its Async AGI session, so the ACD never loses the call; only
the agent's leg is moved:

* hold: ``Redirect`` the agent's leg out of the Dial's bridge into ``call-control,held``
  (silence). The caller's Dial returns (result -1, the session goes on) and this module then
  drives the caller: ``StartMusicOnHold``. Resume: ``StopMusicOnHold`` and ``Bridge(<agent
  leg>)`` from the caller's session; holding again redirects the agent out of that bridge.
* blind transfer: ``Hangup`` the agent's leg; the caller's session dials the target.
* consult: the agent's leg is redirected to ``call-control-consult,<target>`` (it dials the
  target) while the caller is on hold; complete: ``Bridge(<target leg>)`` from the caller's
  session takes the target away from the agent, whose leg then hangs up (``CC_AFTER_CONSULT``);
  cancel: ``Hangup`` the target; the agent's leg goes back to ``held`` and is bridged back.
* conference: ``BridgeAdd(<agent leg>)`` from the caller's session joins the agent's bridge
  with the target; when the agent leaves, caller and target talk on.
* hang up: ``Hangup`` the agent's leg.
* click-to-dial: ``Originate`` rings the agent's phone, then ``call-control-outbound`` dials.

The ACD tells this module when a call is answered (:meth:`CallControl.connected`) and hands
it the caller once its Dial returns (:meth:`CallControl.after_dial`): the agent hung up (the
call is over), or call control took the agent's leg away, in which case this module drives
the caller until the agent's part of the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from callcenter.acd.model import AgentState
from callcenter.asterisk.agi import agi_quote
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AgiChannelGone, AmiActionError, AmiError, AmiEventsLost
from callcenter.asterisk.protocol import Message
from callcenter.crm.phones import mask_phone
from callcenter.events import CallControlChanged, EventBus, OutboundCallEnded
from callcenter.pbx.call_states import (
    ANNOUNCED,
    AgentNoExtension,
    AgentNotFreeToDial,
    CallControlBackend,
    CallStatus,
    ControlAction,
    ControlState,
    DialOut,
    NoLiveCall,
    PbxUnavailable,
    UnknownTransferTarget,
    dial_target,
    is_leg_of,
    transition,
)
from callcenter.pbx.channels import Channel, ChannelTracker
from callcenter.pbx.click_to_dial import OutboundEnd, first_of, follow_outbound, originate
from callcenter.pbx.link import AgiCall
from callcenter.pbx.registrations import LineChooser, endpoint_to_ring

log = logging.getLogger(__name__)

HELD_CONTEXT = "call-control"
CONSULT_CONTEXT = "call-control-consult"
TRANSFER_RING_SECONDS = 30  # a blind transfer's target rings this long
LONGEST_CALL = 4 * 3600.0


@dataclass
class _Controlled:
    agent_id: int
    extension: str
    call: AgiCall
    interaction_id: int | None
    state: ControlState = ControlState.TALKING
    agent_leg: Channel | None = None
    target: str | None = None
    transfer: str | None = None  # the path entry once transferred: transfer:<mode>=<target>
    bridged: bool = True  # the caller's bridge command (Dial, Bridge) runs or just returned
    moh: bool = False
    held_since: float | None = None
    held_total: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    agent_gone: asyncio.Event = field(default_factory=asyncio.Event)

    def status(self, now: float) -> CallStatus:
        held = self.held_total + (now - self.held_since if self.held_since is not None else 0)
        return CallStatus(
            self.state, self.call.uniqueid, self.interaction_id, round(held), self.target
        )


@dataclass(frozen=True)
class _Attempt:
    """A click-to-dial attempt being followed: what its end announces."""

    agent_id: int
    interaction_id: int
    call_id: str
    number_masked: str  # callcenter.crm.phones.mask_phone: never the full number


class ConsultRecording(Protocol):
    """What call control tells the recording of consults, before it acts."""

    async def before_consult(
        self, call_id: str, interaction_id: int | None, agent_leg: Channel
    ) -> None: ...

    async def before_conference(self, agent_leg: Channel) -> None: ...


class CallerRecording(Protocol):
    """What call control tells the call's own recording (callcenter/pbx/recording.py)."""

    async def rejoin(self, call: AgiCall) -> None:
        """The caller's channel is about to join a new bridge from its session."""
        ...

    def outbound(self, call_id: str, interaction_id: int | None) -> str | None:
        """A click-to-dial call is about to be originated: the file Asterisk is to record it
        into, None when it is not recorded."""
        ...

    def forget(self, call_id: str) -> None:
        """The call was never made (the PBX refused the Originate)."""
        ...


class CallControl:
    def __init__(
        self,
        ami: AmiClient,
        tracker: ChannelTracker,
        backend: CallControlBackend,
        events: EventBus,
        *,
        extensions: Collection[str] = (),
        outbound_trunk: str = "",
        hotline_number: str = "",
        outbound_ring_seconds: int = 30,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.backend = backend
        self.events = events
        self.extensions = frozenset(extensions)  # transfer targets and internal numbers
        self.outbound_trunk = outbound_trunk
        # What a client dialled over the trunk is shown as the caller (empty: the agent's
        # channel's caller ID, as Dial passes it on), and how long their phone rings.
        self.hotline_number = hotline_number
        self.outbound_ring_seconds = outbound_ring_seconds
        self._clock = clock
        self._wallclock = wallclock
        self._by_agent: dict[int, _Controlled] = {}
        self._by_call: dict[str, _Controlled] = {}
        self._tasks: asyncio.TaskGroup | None = None
        # Records consults (callcenter/pbx/consult_recording.py); set by the app when calls
        # are recorded. None: consults are not recorded.
        self.consults: ConsultRecording | None = None
        # The call's own recording, restarted before each new bridge; set by the app when
        # calls are recorded (None: not recorded).
        self.recording: CallerRecording | None = None
        # Which of the agent's lines click-to-dial rings (callcenter/pbx/registrations.py);
        # set by the app. None: the desk phone's.
        self.lines: LineChooser | None = None

    # --- the service's side: follow hang-ups, own the click-to-dial tasks ------------------------

    async def run(self) -> None:
        """Follow hang-ups of controlled agents' legs until cancelled."""
        with self.ami.subscribe({"hangup"}) as hangups:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                try:
                    while True:
                        try:
                            message = await hangups.get()
                        except AmiEventsLost:
                            self._check_legs()
                            continue
                        except StopAsyncIteration:
                            return
                        self._hung_up(message)
                finally:
                    self._tasks = None

    def _hung_up(self, message: Message) -> None:
        uniqueid = message.get("Uniqueid")
        for controlled in self._by_call.values():
            leg = controlled.agent_leg
            if leg is not None and leg.uniqueid == uniqueid:
                controlled.agent_gone.set()

    def _check_legs(self) -> None:
        """Some events were lost: a leg the tracker no longer has has hung up."""
        for controlled in self._by_call.values():
            leg = controlled.agent_leg
            if leg is not None and leg.uniqueid not in self.tracker.channels:
                controlled.agent_gone.set()

    # --- the ACD's side --------------------------------------------------------------------------

    def connected(
        self, agent_id: int, extension: str, call: AgiCall, interaction_id: int | None
    ) -> None:
        """The agent answered ``call`` (its Dial is the conversation): controllable now."""
        controlled = _Controlled(agent_id, extension, call, interaction_id)
        controlled.agent_leg = self._find_leg(controlled)
        previous = self._by_agent.get(agent_id)
        if previous is not None:  # left behind by a lost PBX link
            self._by_call.pop(previous.call.uniqueid, None)
        self._by_agent[agent_id] = controlled
        self._by_call[call.uniqueid] = controlled

    def adopted(
        self,
        agent_id: int,
        extension: str,
        call: AgiCall,
        interaction_id: int | None,
        *,
        bridged: bool,
    ) -> None:
        """An answered call a previous run of the service left: controllable again. Still in
        the previous run's Dial (``bridged``): as after :meth:`connected`. Out of it, with
        the agent's leg held: on hold (the caller's music is started again), so that the
        desk's resume brings the agent back."""
        self.connected(agent_id, extension, call, interaction_id)
        if not bridged:
            controlled = self._by_call[call.uniqueid]
            controlled.state, controlled.bridged = ControlState.HELD, False
            controlled.held_since = self._clock()

    async def after_dial(self, call: AgiCall) -> Awaitable[None] | None:
        """The caller's Dial returned. None: the call is over (release the caller). Else the
        call was transferred: the agent's part is over, and the caller talks on with the
        target until the returned awaitable completes (then release the caller)."""
        controlled = self._by_call.get(call.uniqueid)
        if controlled is None:
            return None
        rest: Awaitable[None] | None = None
        try:
            rest = await self._drive(controlled)
        except (AgiChannelGone, AmiError, NoLiveCall) as exc:
            log.info("call %s: call control ends: %s", call.uniqueid, exc)
        finally:
            self._forget(controlled)
            await self._clean_up(controlled, transferred=rest is not None)
        await self._part_ended(controlled)
        return rest

    def forget_call(self, call: AgiCall) -> None:
        """No longer controllable (an adopted call this run lost the link under)."""
        controlled = self._by_call.get(call.uniqueid)
        if controlled is not None:
            self._forget(controlled)

    def _forget(self, controlled: _Controlled) -> None:
        if self._by_agent.get(controlled.agent_id) is controlled:
            del self._by_agent[controlled.agent_id]
        self._by_call.pop(controlled.call.uniqueid, None)
        self._stop_hold_clock(controlled)

    async def _clean_up(self, controlled: _Controlled, *, transferred: bool) -> None:
        """The agent's leg must not wait in ``held`` for hours once the part is over."""
        leg = controlled.agent_leg
        if transferred or leg is None or controlled.agent_gone.is_set():
            return
        with contextlib.suppress(AmiError):
            await self.ami.action("Hangup", {"Channel": leg.name})

    async def _part_ended(self, controlled: _Controlled) -> None:
        held = round(controlled.held_total)
        if controlled.interaction_id is not None and (held or controlled.transfer):
            try:
                await self.backend.part_ended(
                    controlled.interaction_id, held, controlled.transfer, controlled.agent_id
                )
            except Exception:  # the database: the call goes on to its end all the same
                log.exception(
                    "call %s: hold time and transfer not recorded", controlled.call.uniqueid
                )
        self._announce(controlled)

    # --- driving the caller once the agent's leg has left the Dial -------------------------------

    async def _drive(self, c: _Controlled) -> Awaitable[None] | None:
        """Until the agent's part of the call is over; see the module's docstring."""
        call = c.call
        while True:
            if call.ended.is_set():
                return None
            state = c.state
            if state is ControlState.TALKING:
                if c.bridged:  # the bridge ended without a command: a side hung up
                    return None
                await self._into_bridge(c)
                c.bridged = True
                await call.execute(
                    f"EXEC Bridge {agi_quote(self._leg(c).name)}", timeout=LONGEST_CALL
                )
            elif state in (ControlState.HELD, ControlState.CONSULTING):
                c.bridged = False
                if not c.moh:
                    await self._music(c, on=True)
                    continue
                if c.agent_gone.is_set():
                    return None  # the agent hung up with the caller on hold
                c.changed.clear()
                await first_of(c.changed.wait(), c.agent_gone.wait(), call.ended.wait())
            elif state is ControlState.TRANSFERRED:
                return await self._hand_over(c)
            elif state is ControlState.CONFERENCE:
                rest = await self._conference(c)
                if rest is not None or c.state is not ControlState.TALKING:
                    return rest
            else:
                return None

    async def _hand_over(self, c: _Controlled) -> Awaitable[None]:
        """Blind: the caller's session dials the target. Consult: it bridges with the target's
        leg, taking it from the agent (whose leg then hangs up, see extensions.conf)."""
        await self._into_bridge(c)
        assert c.target is not None
        if c.transfer and c.transfer.startswith("transfer:blind"):
            # The colleague's browser line when it is registered, else their desk phone.
            line = endpoint_to_ring(self.lines, c.target)
            command = f"EXEC Dial {agi_quote(f'PJSIP/{line},{TRANSFER_RING_SECONDS}')}"
        else:
            target_leg = self._target_leg(c)
            command = f"EXEC Bridge {agi_quote(target_leg.name)}"
        return asyncio.ensure_future(_quietly(c.call.execute(command, timeout=LONGEST_CALL)))

    async def _conference(self, c: _Controlled) -> Awaitable[None] | None:
        """The caller joins the agent's bridge with the target. When the agent leaves, the
        caller's part goes on (the returned awaitable). If the join fails (the target never
        answered), the caller is brought back to the agent."""
        await self._into_bridge(c)
        c.bridged = True
        joined = asyncio.ensure_future(
            c.call.execute(f"EXEC BridgeAdd {agi_quote(self._leg(c).name)}", timeout=LONGEST_CALL)
        )
        gone = asyncio.ensure_future(c.agent_gone.wait())
        try:
            await asyncio.wait({joined, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not joined.done():
            return _quietly(joined)
        if c.call.ended.is_set() or c.agent_gone.is_set():
            return None
        log.info("call %s: conference join failed; back to agent %s", c.call.uniqueid, c.agent_id)
        c.state, c.bridged, c.target, c.transfer = ControlState.TALKING, False, None, None
        return None

    async def _into_bridge(self, c: _Controlled) -> None:
        """Before the caller's session joins a bridge: the music stops and the call's
        recording is restarted for it (CallRecorder.rejoin says why)."""
        await self._music(c, on=False)
        if self.recording is not None:
            await self.recording.rejoin(c.call)

    async def _music(self, c: _Controlled, *, on: bool) -> None:
        if c.moh == on:
            return
        await c.call.execute(
            f"EXEC StartMusicOnHold {agi_quote('default')}" if on else "EXEC StopMusicOnHold"
        )
        c.moh = on

    # --- the desktop's buttons -------------------------------------------------------------------

    def status(self, agent_id: int) -> CallStatus:
        return self._controlled(agent_id).status(self._clock())

    def agent_of(self, call_id: str) -> int | None:
        """The agent on the caller's call ``call_id`` now (None: no controlled call)."""
        controlled = self._by_call.get(call_id)
        return controlled.agent_id if controlled is not None else None

    async def hold(self, agent_id: int) -> CallStatus:
        c = self._controlled(agent_id)
        async with c.lock:
            after = transition(c.state, ControlAction.HOLD)
            leg = self._leg(c)
            before = c.state
            c.state, c.held_since = after, self._clock()
            try:
                await self._redirect(leg, HELD_CONTEXT, "held")
            except NoLiveCall:
                c.state, c.held_since = before, None
                raise
            return self._changed(c)

    async def resume(self, agent_id: int) -> CallStatus:
        c = self._controlled(agent_id)
        async with c.lock:
            c.state = transition(c.state, ControlAction.RESUME)
            self._stop_hold_clock(c)
            return self._changed(c)

    async def transfer(self, agent_id: int, to: str, *, consult: bool) -> CallStatus:
        c = self._controlled(agent_id)
        if to not in self.extensions or to == c.extension:
            raise UnknownTransferTarget(f"{to} is not another extension", field="to")
        async with c.lock:
            action = ControlAction.CONSULT if consult else ControlAction.BLIND_TRANSFER
            after = transition(c.state, action)
            leg = self._leg(c)
            before = c.state
            c.state, c.target = after, to
            if consult and c.held_since is None:
                c.held_since = self._clock()  # the caller holds while the agent consults
            try:
                if consult:
                    if self.consults is not None:  # names the file before the dialplan dials
                        await self.consults.before_consult(c.call.uniqueid, c.interaction_id, leg)
                    # The line the consult rings (the colleague's browser line when it is
                    # registered): the dialplan's CC_CONSULT_LINE, the extension by default.
                    await self._set_var(leg, "CC_CONSULT_LINE", endpoint_to_ring(self.lines, to))
                    await self._redirect(leg, CONSULT_CONTEXT, to)
                else:
                    c.transfer = f"transfer:blind={to}"
                    await self._hang_up(leg)
            except NoLiveCall:
                c.state, c.target, c.transfer = before, None, None
                raise
            log.info("call %s: agent %s %s to %s", c.call.uniqueid, agent_id, action, to)
            return self._changed(c)

    async def complete_transfer(self, agent_id: int) -> CallStatus:
        c = self._controlled(agent_id)
        async with c.lock:
            c.state = transition(c.state, ControlAction.COMPLETE)
            leg = self._leg(c)
            # The agent's leg hangs up when its consult Dial ends (extensions.conf).
            with contextlib.suppress(AmiActionError):
                await self.ami.action(
                    "Setvar",
                    {"Channel": leg.name, "Variable": "CC_AFTER_CONSULT", "Value": "hangup"},
                )
            c.transfer = f"transfer:consult={c.target}"
            return self._changed(c)

    async def cancel_transfer(self, agent_id: int) -> CallStatus:
        c = self._controlled(agent_id)
        async with c.lock:
            after = transition(c.state, ControlAction.CANCEL)
            target = self._find_target_leg(c)
            if target is not None:
                await self._hang_up(target, missing_ok=True)
            c.state, c.target = after, None
            self._stop_hold_clock(c)
            return self._changed(c)

    async def conference(self, agent_id: int) -> CallStatus:
        c = self._controlled(agent_id)
        async with c.lock:
            c.state = transition(c.state, ControlAction.CONFERENCE)
            leg = self._find_leg(c)
            if self.consults is not None and leg is not None:
                # The consult's own file ends here; the caller's recording has the conference.
                await self.consults.before_conference(leg)
            self._stop_hold_clock(c)
            c.transfer = f"transfer:conference={c.target}"
            return self._changed(c)

    async def hang_up(self, agent_id: int) -> None:
        """The agent's leg hangs up: of a controlled call, or of any call of their phone."""
        c = self._by_agent.get(agent_id)
        if c is None:
            extension, _state = await self._line(agent_id)
            leg = self._phone_leg(extension)
            if leg is None:
                raise NoLiveCall("the agent has no live call")
            await self._hang_up(leg)
            return
        async with c.lock:
            after = transition(c.state, ControlAction.HANG_UP)
            leg = self._leg(c)
            if c.state is ControlState.CONSULTING:
                target = self._find_target_leg(c)
                if target is not None:
                    await self._hang_up(target, missing_ok=True)
            if after is ControlState.ENDED:
                c.state = after
            await self._hang_up(leg, missing_ok=True)
            self._changed(c)

    async def dial(self, agent_id: int, number: str, client_id: int | None = None) -> DialOut:
        """Click-to-dial: ring the agent's phone; once answered, dial ``number``. The agent
        must not be routable meanwhile (not ready, in wrap-up or logged out)."""
        if self._tasks is None:
            raise PbxUnavailable("the PBX link is not running")
        extension, state = await self._line(agent_id)
        if state in (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL):
            raise AgentNotFreeToDial(
                f"an agent who is {state.value} may get an ACD call: go not ready first",
                state=state.value,
            )
        if self._phone_leg(extension) is not None:
            raise AgentNotFreeToDial("the agent's phone is on a call", state=state.value)
        target = dial_target(number, self.extensions, self.outbound_trunk, self.lines)
        # A client dialled over the trunk sees the hotline's number; a colleague's phone (an
        # extension) sees the agent's channel's caller ID, as before.
        internal = number in self.extensions
        caller_id = None if internal or not self.hotline_number else self.hotline_number
        # The call id is ours, and Asterisk's uniqueid of the agent's channel (ChannelId).
        call_id = f"out-{secrets.token_hex(10)}"
        interaction_id = await self.backend.outbound_started(
            agent_id, number, client_id, call_id, self._wallclock()
        )
        recording = (
            self.recording.outbound(call_id, interaction_id) if self.recording is not None else None
        )
        try:
            waits = await originate(
                self.ami,
                extension,
                number,
                target,
                call_id,
                ring_seconds=self.outbound_ring_seconds,
                caller_id=caller_id,
                recording=recording,
                endpoint=endpoint_to_ring(self.lines, extension),
            )
        except PbxUnavailable:
            if self.recording is not None:
                self.recording.forget(call_id)
            await self.backend.outbound_phase(interaction_id, "ended", self._wallclock())
            raise
        log.info("agent %s dials %s (call %s)", agent_id, mask_phone(number), call_id)
        attempt = _Attempt(agent_id, interaction_id, call_id, mask_phone(number))
        self._tasks.create_task(self._follow_outbound(attempt, waits), name=f"dial-{call_id}")
        return DialOut(call_id, interaction_id)

    async def _follow_outbound(
        self, attempt: _Attempt, waits: dict[str, asyncio.Future[Message]]
    ) -> None:
        end: OutboundEnd | None = None
        try:
            end = await follow_outbound(
                attempt.interaction_id,
                attempt.call_id,
                waits,
                self.backend.outbound_phase,
                self._wallclock,
            )
        finally:
            self.events.publish(
                CallControlChanged(
                    agent_id=attempt.agent_id, interaction_id=attempt.interaction_id, state="ended"
                )
            )
        # Announced once the record says ended (outbound_phase above), for the dialler.
        log.info(
            "agent %s call %s to %s: %s",
            attempt.agent_id,
            attempt.call_id,
            attempt.number_masked,
            end.outcome,
        )
        self.events.publish(
            OutboundCallEnded(
                agent_id=attempt.agent_id,
                interaction_id=attempt.interaction_id,
                call_id=attempt.call_id,
                number_masked=attempt.number_masked,
                outcome=end.outcome,
                answered_at=end.answered_at,
                ended_at=end.ended_at,
            )
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _controlled(self, agent_id: int) -> _Controlled:
        c = self._by_agent.get(agent_id)
        if c is not None:
            return c
        raise NoLiveCall("the agent has no call that the service controls")

    async def _line(self, agent_id: int) -> tuple[str, AgentState]:
        extension, state = await self.backend.agent_line(agent_id)
        if not extension:
            raise AgentNoExtension("the user has no phone extension")
        return extension, state

    def _find_leg(self, c: _Controlled) -> Channel | None:
        """The agent's leg of this call: their phone's channel with the caller's linkedid."""
        caller = self.tracker.channels.get(c.call.uniqueid)
        linkedid = caller.linkedid if caller is not None else c.call.linkedid
        legs = [
            channel
            for channel in self.tracker.channels.values()
            if is_leg_of(channel, c.extension) and channel.linkedid == linkedid
        ]
        return max(legs, key=lambda channel: channel.seen_at) if legs else None

    def _leg(self, c: _Controlled) -> Channel:
        if c.agent_leg is None or c.agent_leg.uniqueid not in self.tracker.channels:
            c.agent_leg = self._find_leg(c) if not c.agent_gone.is_set() else None
        if c.agent_leg is None:
            raise NoLiveCall("the agent's leg of the call is gone")
        return c.agent_leg

    def _find_target_leg(self, c: _Controlled) -> Channel | None:
        if c.target is None or c.agent_leg is None:
            return None
        legs = [
            channel
            for channel in self.tracker.channels.values()
            if is_leg_of(channel, c.target) and channel.linkedid == c.agent_leg.linkedid
        ]
        return max(legs, key=lambda channel: channel.seen_at) if legs else None

    def _target_leg(self, c: _Controlled) -> Channel:
        leg = self._find_target_leg(c)
        if leg is None:
            raise AgiChannelGone(f"the consult target {c.target} is not on the line")
        return leg

    def _phone_leg(self, extension: str) -> Channel | None:
        legs = [c for c in self.tracker.channels.values() if is_leg_of(c, extension)]
        return max(legs, key=lambda channel: channel.seen_at) if legs else None

    async def _redirect(self, leg: Channel, context: str, exten: str) -> None:
        try:
            await self.ami.action(
                "Redirect",
                {"Channel": leg.name, "Context": context, "Exten": exten, "Priority": "1"},
            )
        except AmiActionError as exc:
            raise NoLiveCall("the agent's leg of the call is gone") from exc
        except AmiError as exc:
            raise PbxUnavailable(f"the PBX did not answer: {exc}") from exc

    async def _set_var(self, leg: Channel, name: str, value: str) -> None:
        try:
            await self.ami.action("Setvar", {"Channel": leg.name, "Variable": name, "Value": value})
        except AmiActionError as exc:
            raise NoLiveCall("the agent's leg of the call is gone") from exc
        except AmiError as exc:
            raise PbxUnavailable(f"the PBX did not answer: {exc}") from exc

    async def _hang_up(self, leg: Channel, *, missing_ok: bool = False) -> None:
        try:
            await self.ami.action("Hangup", {"Channel": leg.name})
        except AmiActionError as exc:
            if not missing_ok:
                raise NoLiveCall("the call leg is gone") from exc
        except AmiError as exc:
            raise PbxUnavailable(f"the PBX did not answer: {exc}") from exc

    def _stop_hold_clock(self, c: _Controlled) -> None:
        if c.held_since is not None:
            c.held_total += self._clock() - c.held_since
            c.held_since = None

    def _changed(self, c: _Controlled) -> CallStatus:
        c.changed.set()
        self._announce(c)
        return c.status(self._clock())

    def _announce(self, c: _Controlled) -> None:
        status = c.status(self._clock())
        self.events.publish(
            CallControlChanged(
                agent_id=c.agent_id,
                call_id=status.call_id,
                interaction_id=status.interaction_id,
                state=ANNOUNCED[status.state],
                target=status.target,
                hold_seconds=status.hold_seconds,
            )
        )


async def _quietly(command: Awaitable[Any]) -> None:
    """The caller's last bridge after a transfer: its end (or the caller leaving) is all."""
    with contextlib.suppress(AgiChannelGone, AmiError):
        await command
