"""Supervisors monitor agents' live calls: listen, whisper, barge (issue 7, point 2).

How (verified against Asterisk 22, see docs/acd.md "Supervision"): an AMI ``Originate`` rings
the supervisor's own phone (``users.extension``); once it answers, the dialplan context
``supervise`` (asterisk_conf/extensions.conf) runs ``ChanSpy(${CC_SPY},<options>)`` on the
agent's leg of the call, whose channel name the service passes in the channel variable
``CC_SPY``. The mode is the extension dialled in that context, so the options are fixed in the
dialplan, never built from a request:

=======  =======  ===========================================================================
mode     options  the supervisor
=======  =======  ===========================================================================
listen   qES      hears both sides; nobody hears them
whisper  qwES     also talks to the agent only (the caller hears nothing)
barge    qBES     talks to both sides (B: barge into both channels of the bridge)
=======  =======  ===========================================================================

``q``: no beep and no channel name spoken, so the agent and caller are not alerted; ``E``:
leave when the spied-on channel hangs up (the supervisor's phone then hangs up); ``S``: leave
when no channel matches (the call ended while the supervisor's phone rang).

Check, act, record: the self-check, the agent's live leg and the supervisor's phone first
(one with no extension is ``no-supervisor-phone``; one not registered is refused at once
with ``supervisor-phone-not-registered``, naming the extension, instead of an Originate that
rings nothing: callcenter/pbx/registrations.py); then the Originate; then the audit entry
(``call.monitored``). No event is published: any ``call.*`` event naming the agent reaches
the agent's own desk (callcenter/cti/routing.py), and monitoring must not tell the agent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Protocol

from callcenter.acd.ports import PhoneRegistry
from callcenter.asterisk.errors import AmiActionError, AmiError
from callcenter.asterisk.protocol import HeaderValue, Message
from callcenter.errors import Conflict, NotFound
from callcenter.pbx.call_states import CallStatus, NoLiveCall, PbxUnavailable, is_leg_of
from callcenter.pbx.channels import Channel, ChannelTracker
from callcenter.pbx.registrations import LineChooser, endpoint_to_ring

log = logging.getLogger(__name__)

SUPERVISE_CONTEXT = "supervise"
RING_MS = 30_000  # the supervisor's phone rings this long
START_GRACE = 5.0  # seconds beyond the ring for the channel to appear
# A monitoring stopped while its Originate is still queued: how long to wait for the
# supervisor's ringing channel to appear so that it can be hung up, and how often to look.
START_WAIT = 3.0
START_POLL = 0.02
CHANSPY_OPTIONS = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}  # as in the dialplan


class MonitorMode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


# --- errors: stable ids, the edge picks the status -----------------------------------------------


class AgentNotOnCall(Conflict):
    error_id = "agent-not-on-call"


class NoSupervisorPhone(Conflict):
    error_id = "no-supervisor-phone"


class SupervisorPhoneNotRegistered(Conflict):
    error_id = "supervisor-phone-not-registered"


class CannotMonitorSelf(Conflict):
    error_id = "cannot-monitor-self"


class NotMonitoring(NotFound):
    error_id = "not-monitoring"


# --- ports ---------------------------------------------------------------------------------------


class Ami(Protocol):
    async def action(
        self, name: str, fields: Mapping[str, HeaderValue] | None = None
    ) -> Message: ...


class CallsOfAgents(Protocol):
    """Call control: the agent's controlled call (NoLiveCall: none)."""

    def status(self, agent_id: int) -> CallStatus: ...


class SupervisionBackend(Protocol):
    async def agent_extension(self, agent_id: int) -> str | None:
        """The agent's phone (None: none); AgentNotFound for an unknown agent."""

    async def own_extension(self, user_id: int) -> str | None:
        """The supervisor's own phone (None: none)."""

    async def monitored(
        self, supervisor_id: int, agent_id: int, mode: str, interaction_id: int | None
    ) -> None:
        """Audit ``call.monitored``."""

    async def monitor_ended(self, supervisor_id: int, agent_id: int) -> None:
        """Audit ``call.monitor_ended`` (the supervisor ended it from the API)."""


@dataclasses.dataclass(frozen=True)
class Monitoring:
    call_id: str  # the supervisor's channel (Originate's ChannelId)
    agent_id: int
    mode: MonitorMode
    agent_channel: str
    interaction_id: int | None


class Supervision:
    def __init__(
        self,
        ami: Ami,
        tracker: ChannelTracker,
        backend: SupervisionBackend,
        calls: CallsOfAgents | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        phones: PhoneRegistry | None = None,
        lines: LineChooser | None = None,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.backend = backend
        self.calls = calls
        self.phones = phones  # None: the supervisor's phone is not checked before it rings
        # Which of the supervisor's lines rings (the browser's first; registrations.py).
        # None: the desk phone's.
        self.lines = lines
        self._clock = clock
        self._by_supervisor: dict[int, Monitoring] = {}
        self._started: dict[str, float] = {}  # call id -> when, until the tracker sees it

    def current(self, supervisor_id: int) -> Monitoring | None:
        """The supervisor's monitoring, while their phone's channel lives (a hang-up ends it)."""
        monitoring = self._by_supervisor.get(supervisor_id)
        if monitoring is None:
            return None
        call_id = monitoring.call_id
        if call_id in self.tracker.channels:
            self._started.pop(call_id, None)
            return monitoring
        # The Originate is queued (Async) before its channel exists: until the tracker has
        # seen it, it is still starting. Once seen and gone, it rang out or hung up.
        started = self._started.get(call_id)
        if started is not None and self._clock() - started < RING_MS / 1000 + START_GRACE:
            return monitoring
        self._started.pop(call_id, None)
        del self._by_supervisor[supervisor_id]
        return None

    async def monitor(self, supervisor_id: int, agent_id: int, mode: MonitorMode) -> Monitoring:
        # Check: not oneself, a known agent on a live call, a phone to ring.
        if supervisor_id == agent_id:
            raise CannotMonitorSelf("a supervisor cannot monitor their own call")
        agent_extension = await self.backend.agent_extension(agent_id)
        leg = self.agent_leg(agent_extension) if agent_extension else None
        if leg is None:
            raise AgentNotOnCall("the agent has no live call", agent_id=agent_id)
        own = await self.backend.own_extension(supervisor_id)
        if not own:
            raise NoSupervisorPhone("the supervisor has no phone extension (users.extension)")
        # "Cannot tell" (None: the link is down) goes on: the Originate then says so.
        if self.phones is not None and await self.phones.registered(own) is False:
            raise SupervisorPhoneNotRegistered(
                f"your phone {own} is not registered: register a phone as {own} to listen, "
                "whisper or barge",
                extension=own,
            )
        previous = self.current(supervisor_id)
        if previous is not None:  # one monitoring per supervisor: the new one replaces it
            await self._hang_up(previous.call_id)
            self._started.pop(previous.call_id, None)
        interaction_id = self._interaction(agent_id)
        # Act: ring the supervisor's phone; the dialplan spies once it answers.
        call_id = f"spy-{secrets.token_hex(8)}"
        try:
            await self.ami.action(
                "Originate",
                {
                    "Channel": f"PJSIP/{endpoint_to_ring(self.lines, own)}",
                    "Context": SUPERVISE_CONTEXT,
                    "Exten": mode.value,
                    "Priority": "1",
                    "Timeout": str(RING_MS),
                    "CallerID": f'"{mode.value} {agent_extension}" <{agent_extension}>',
                    "Variable": f"CC_SPY={leg.name}",
                    "ChannelId": call_id,
                    "Async": "true",
                },
            )
        except AmiError as exc:
            raise PbxUnavailable(f"the PBX did not take the call: {exc}") from exc
        monitoring = Monitoring(call_id, agent_id, mode, leg.name, interaction_id)
        self._by_supervisor[supervisor_id] = monitoring
        self._started[call_id] = self._clock()
        # Announce: audited, then the event.
        await self.backend.monitored(supervisor_id, agent_id, mode.value, interaction_id)
        log.info("supervisor %s %ss agent %s (%s)", supervisor_id, mode, agent_id, call_id)
        return monitoring

    async def stop(self, supervisor_id: int) -> None:
        """Hang up the supervisor's monitoring call."""
        monitoring = self.current(supervisor_id)
        if monitoring is None:
            raise NotMonitoring("the supervisor is not monitoring a call")
        await self._hang_up(monitoring.call_id)
        self._by_supervisor.pop(supervisor_id, None)
        self._started.pop(monitoring.call_id, None)
        await self.backend.monitor_ended(supervisor_id, monitoring.agent_id)

    def agent_leg(self, extension: str) -> Channel | None:
        """The agent's phone's live leg: answered (Up). A ringing phone is not a call yet."""
        legs = [
            c for c in self.tracker.channels.values() if is_leg_of(c, extension) and c.state == "Up"
        ]
        return max(legs, key=lambda channel: channel.seen_at) if legs else None

    def _interaction(self, agent_id: int) -> int | None:
        if self.calls is None:
            return None
        try:
            return self.calls.status(agent_id).interaction_id
        except NoLiveCall:
            return None  # a call the service does not control (say, adopted after a restart)

    async def _hang_up(self, call_id: str) -> None:
        channel = self.tracker.channels.get(call_id)
        if channel is None and call_id in self._started:
            # Its Originate is queued and the phone about to ring: wait for the channel,
            # or a phone "hung up" from the page would ring on and spy once answered.
            channel = await self._appearing(call_id)
        if channel is None:
            return
        try:
            await self.ami.action("Hangup", {"Channel": channel.name})
        except AmiActionError:
            pass  # already gone
        except AmiError as exc:
            raise PbxUnavailable(f"the PBX did not answer: {exc}") from exc

    async def _appearing(self, call_id: str) -> Channel | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WAIT
        while (channel := self.tracker.channels.get(call_id)) is None:
            if loop.time() >= deadline:
                log.warning("monitoring %s: its channel never appeared to hang up", call_id)
                return None
            await asyncio.sleep(START_POLL)
        return channel
