"""The caller's leg (callcenter/acd/leg.py) over Asterisk: the caller's Async AGI session.

Each operation is one AGI command or AMI action on the caller's channel:

* music: ``EXEC StartMusicOnHold default`` / ``EXEC StopMusicOnHold``; a playback or a Dial
  stops the music by itself.
* a prompt: ``STREAM FILE <name> ""`` (no escape digits); ``ControlPlayback stop`` (an AMI
  action, not an AGI command, so it does not queue behind the playback) stops it at once.
* the caller's name: an AMI ``Setvar`` of ``CALLERID(name)``, not an AGI command: no wait for
  the channel's next frame. Asterisk runs one session's actions in order, so it is set before
  the Dial that follows it is queued, without waiting here for its answer.
* the recording: ``EXEC MixMonitor`` (callcenter/pbx/recording.py), queued on the session
  together with the Dial so that both run at the channel's next frame.
* the dial: ``EXEC Dial PJSIP/<extension>,<ring seconds>``. The AGI command returns only when
  the Dial does, that is after the whole conversation; ``DialEnd`` on the caller's channel
  (registered before the Dial is sent) says at once how the ringing ended (``ANSWER``, or
  ``NOANSWER``, ``BUSY``...).
* the conversation: call control (callcenter/pbx/call_control.py) is told the call is
  answered; when the Dial returns it drives the caller if it took the agent's leg away
  (hold, transfers), until the agent's part is over.

``AgiChannelGone`` (the channel left Async AGI: the caller hung up) is ``CallerGone``;
``AmiConnectionLost`` is ``LinkLost``, and the leg remembers the AMI session it was lost in,
so that :meth:`AgiCallerLeg.outlive_link_loss` follows the call once a newer session has
rebuilt the channel view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator
from typing import Any, Protocol

from callcenter.acd.leg import AgentLine, CallerGone, DialOutcome, LinkLost, TalkEnd
from callcenter.acd.service import AcdService
from callcenter.asterisk.agi import AgiResult, agi_quote
from callcenter.asterisk.client import AmiClient, ConnectionState
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiResultLost,
    AmiActionError,
    AmiConnectionLost,
    AmiError,
    AmiEventsLost,
    AmiNotConnected,
)
from callcenter.ivr.engine import Outcome, Resume
from callcenter.pbx.channels import Channel, ChannelTracker
from callcenter.pbx.link import AgiCall, Resyncs, view_current
from callcenter.pbx.recording import CallRecorder
from callcenter.pbx.registrations import LineChooser, endpoint_to_ring

log = logging.getLogger(__name__)

LONGEST_CALL = 4 * 3600.0  # seconds an answered call may last before Dial's AGI wait gives up
MUSIC_CLASS = "default"
RIDE_OUT_SECONDS = 30.0  # how long a command waits for the AMI link to come back
RINGING_LOOK_AGAIN = 1.0  # seconds between looks at a ringing call after a lost link


class Conversations(Protocol):
    """Call control (callcenter/pbx/call_control.py), told of each answered call."""

    def connected(
        self, agent_id: int, extension: str, call: AgiCall, interaction_id: int | None
    ) -> None: ...

    async def after_dial(self, call: AgiCall) -> Awaitable[None] | None:
        """None: the call is over. Else it was transferred: the rest of the caller's call."""


class CallerLegs:
    """Makes the caller's leg of each call the ACD serves."""

    def __init__(
        self,
        ami: AmiClient,
        tracker: ChannelTracker,
        resyncs: Resyncs,
        conversations: Conversations | None = None,
        recorder: CallRecorder | None = None,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.resyncs = resyncs
        self.conversations = conversations
        self.recorder = recorder  # records each call an agent is dialled for (issue 17)
        # Which of the agent's lines rings (the browser's first; callcenter/pbx/registrations.py).
        self.lines: LineChooser | None = None

    def of(self, call: AgiCall) -> AgiCallerLeg:
        return AgiCallerLeg(self, call)

    @property
    def session(self) -> int:
        """The AMI session now (for the IVR riding out a lost link)."""
        return self.ami.generation

    async def back_after(self, session: int) -> None:
        await self.resyncs.after(session)


class QueueEntry:
    """The IVR's hand-off of a queued call (its ``on_queued``): the ACD takes its leg."""

    def __init__(self, legs: CallerLegs, acd: AcdService) -> None:
        self._legs = legs
        self._acd = acd

    async def __call__(
        self, call: AgiCall, outcome: Outcome, interaction_id: int | None
    ) -> Resume | None:
        try:
            return await self._acd.take(self._legs.of(call), outcome, interaction_id)
        except LinkLost as exc:
            # As any AGI command of the IVR run: the run ends, the next link adopts the call.
            raise AmiConnectionLost(str(exc)) from exc


class AgiCallerLeg:
    def __init__(self, legs: CallerLegs, call: AgiCall) -> None:
        self._legs = legs
        self.call = call
        self._named: asyncio.Future[Any] | None = None  # a Setvar sent, its answer not read
        self._lost_in: int | None = None  # the AMI session the link was lost in

    @property
    def call_id(self) -> str:
        return self.call.uniqueid

    @property
    def caller_number(self) -> str:
        return self.call.caller_number

    @property
    def gone(self) -> bool:
        return self.call.ended.is_set()

    async def wait_gone(self) -> None:
        await self.call.ended.wait()

    def lost(self) -> None:
        """The PBX link dropped under this call (called at once, in the session it dropped)."""
        if self._lost_in is None:
            self._lost_in = self._legs.ami.generation

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except AgiChannelGone as exc:
            raise CallerGone(str(exc)) from exc
        except AmiConnectionLost as exc:
            self.lost()
            raise LinkLost(str(exc)) from exc

    async def _execute(self, command: str) -> AgiResult:
        """One command; when the link drops under it, the same command again once the link
        is back (the caller hears the music or the prompt again), unless they hung up."""
        while True:
            session = self._legs.ami.generation
            try:
                return await self.call.execute(command, ride_out=RIDE_OUT_SECONDS)
            except AgiChannelGone as exc:
                raise CallerGone(str(exc)) from exc
            except (AmiConnectionLost, AmiNotConnected) as exc:
                log.warning(
                    "call %s: PBX link lost (%s); resuming once it is back", self.call_id, exc
                )
            await self.link_back(session)

    async def link_back(self, session: int) -> None:
        """Return once the channel view was rebuilt on a session newer than ``session``;
        CallerGone if the caller hung up meanwhile (the rebuilt view ends such a call)."""
        await self._legs.back_after(session)
        if self.call.ended.is_set():
            raise CallerGone(f"{self.call_id} hung up while the PBX link was down")

    async def _link_ready(self) -> None:
        """Before a dial: the link up and the view rebuilt on its session (a dial sent on a
        dead link would mark the agent missed for nothing). A caller who hung up meanwhile
        is told by the dial's outcome, as at any other time."""
        legs = self._legs
        if legs.ami.state is not ConnectionState.CONNECTED:
            log.info("call %s: waiting for the PBX link before dialling", self.call_id)
        await view_current(legs.ami, legs.resyncs)

    async def music_on(self) -> None:
        await self._execute(f"EXEC StartMusicOnHold {agi_quote(MUSIC_CLASS)}")

    async def music_off(self) -> None:
        await self._execute("EXEC StopMusicOnHold")

    async def play(self, sound: str) -> None:
        await self._execute(f"STREAM FILE {agi_quote(sound)} {agi_quote('')}")

    async def stop_playback(self) -> None:
        with contextlib.suppress(AmiError):
            await self._legs.ami.action(
                "ControlPlayback", {"Channel": self.call.channel, "Control": "stop"}
            )

    async def set_caller_name(self, name: str) -> None:
        self._named = asyncio.ensure_future(
            self._legs.ami.action(
                "Setvar",
                {"Channel": self.call.channel, "Variable": "CALLERID(name)", "Value": name},
            )
        )

    async def dial(self, line: AgentLine, ring_seconds: float) -> AgiRinging:
        ami, call = self._legs.ami, self.call
        await self._link_ready()
        recording: asyncio.Future[None] | None = None
        if self._legs.recorder is not None:  # MixMonitor on this channel, once per call
            # Queued with the Dial, not before it: Async AGI runs a queued command as soon as
            # the one before it returns, so MixMonitor and the Dial run at the channel's next
            # frame together. Awaiting MixMonitor's result first made the Dial wait for one
            # frame more (up to 20 ms with RTP; docs/benchmarks.md, "ACD: from the caller's
            # key to the Dial"). Both actions are written in the order their tasks start, and
            # each task writes before it first waits.
            recording = asyncio.ensure_future(self._legs.recorder.start(call, line.interaction_id))
            recording.add_done_callback(_read_outcome)
        dial_end = ami.expect_event("DialEnd", "Channel", call.channel)
        endpoint = endpoint_to_ring(self._legs.lines, line.extension)
        target = f"PJSIP/{endpoint},{round(ring_seconds)}"
        dial = asyncio.ensure_future(
            call.execute(
                f"EXEC Dial {agi_quote(target)}", timeout=LONGEST_CALL, ride_out=RIDE_OUT_SECONDS
            )
        )
        # Read its error whoever stops waiting for it (the service stopping, a lost link):
        # else asyncio logs "Task exception was never retrieved".
        dial.add_done_callback(_read_outcome)
        named, self._named = self._named, None
        await asyncio.sleep(0)  # the name and the dial go out before anything else is done
        return AgiRinging(self, line, dial, dial_end, named, recording)

    async def outlive_link_loss(self) -> None:
        legs = self._legs
        await legs.resyncs.after(self._lost_in if self._lost_in is not None else 0)
        channel = legs.tracker.channels.get(self.call_id)
        if channel is not None and not await follow_to_end(legs.ami, legs.tracker, channel):
            raise LinkLost("the service is stopping: the next run adopts the call")

    async def hang_up(self) -> None:
        """Also when the PBX link is down: the record must still be written."""
        with contextlib.suppress(AmiError):
            await self.call.hang_up()


class AgiRinging:
    def __init__(
        self,
        leg: AgiCallerLeg,
        line: AgentLine,
        dial: asyncio.Future[AgiResult],
        dial_end: asyncio.Future[Any],
        named: asyncio.Future[Any] | None,
        recording: asyncio.Future[None] | None = None,
    ) -> None:
        self._leg = leg
        self._line = line
        self._dial = dial
        self._dial_end = dial_end
        self._named = named
        self._recording = recording  # MixMonitor sent with the Dial; it logs its own failure

    async def outcome(self) -> DialOutcome:
        leg, dial = self._leg, self._dial
        try:
            if self._named is not None:
                # Refused only for a channel already gone, which the Dial then reports.
                with contextlib.suppress(AmiActionError, AmiConnectionLost):
                    await self._named
            if self._recording is not None:
                # Started before the answer can come: its AsyncAGIExec precedes the Dial's.
                await asyncio.wait({self._recording})
            while not dial.done():
                either: set[asyncio.Future[Any]] = {dial, self._dial_end}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                ringing = await self._ringing_outcome()
                if ringing is not None:
                    return ringing
            await dial
            log.info("call %s: dial of %s ended", leg.call_id, self._line.extension)
        except AmiNotConnected:
            # Refused before it was sent (the link dropped after the dial checked it): no
            # phone rang, and the call waits on for the link.
            dial.add_done_callback(_read_outcome)
            return DialOutcome.NOT_DIALLED
        except AgiResultLost:
            # The Dial ended while no AMI session listened: how is unknown. The agent is not
            # marked missed for it; the call is offered again if the caller is still there.
            return DialOutcome.CALLER_GONE if leg.gone else DialOutcome.NOT_DIALLED
        except AmiConnectionLost:
            leg.lost()
            # The Dial fails too with the lost session, later, and nobody awaits it any more:
            # read its error, or asyncio logs "Task exception was never retrieved".
            dial.add_done_callback(_read_outcome)
            return DialOutcome.LINK_LOST
        except AmiError as exc:  # AgiChannelGone among them
            log.info(
                "call %s left while agent %s was rung: %s", leg.call_id, self._line.agent_id, exc
            )
        finally:
            self._dial_end.cancel()
        return DialOutcome.CALLER_GONE if leg.gone else DialOutcome.NO_ANSWER

    async def _ringing_outcome(self) -> DialOutcome | None:
        """While the Dial runs: ANSWERED once the agent answered, CALLER_GONE if the caller
        left during a lost link; None while it still rings (or the Dial just returned)."""
        dial_end, leg = self._dial_end, self._leg
        if not dial_end.done() or self._dial.done():
            return None
        error = dial_end.exception()
        if error is None:
            if dial_end.result().get("DialStatus", "") == "ANSWER":
                return DialOutcome.ANSWERED
            self._dial_end = _never()  # rang out: the Dial returns in a moment
            return None
        if not isinstance(error, AmiConnectionLost):
            raise error
        # The link dropped while the phone rang, the Dial riding it out: its DialEnd may
        # have gone to nobody. Once the view is rebuilt, it tells.
        legs = leg._legs
        back: asyncio.Future[Any] = asyncio.ensure_future(view_current(legs.ami, legs.resyncs))
        try:
            waits: set[asyncio.Future[Any]] = {back, self._dial}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            back.cancel()
        if self._dial.done():  # it returned, or gave up riding out the loss
            return None
        self._dial_end = legs.ami.expect_event("DialEnd", "Channel", leg.call.channel)
        while not self._dial.done() and not self._dial_end.done():
            caller = legs.tracker.channels.get(leg.call_id)
            if caller is None or leg.gone:
                self._dial.add_done_callback(_read_outcome)
                return DialOutcome.CALLER_GONE
            if caller.bridge_id:
                return DialOutcome.ANSWERED  # answered while the link was down
            # Its DialEnd, or the bridge that shows an answer, may be just past: look again.
            either: set[asyncio.Future[Any]] = {self._dial, self._dial_end}
            await asyncio.wait(
                either, timeout=RINGING_LOOK_AGAIN, return_when=asyncio.FIRST_COMPLETED
            )
        return None

    async def conversation(self) -> TalkEnd:
        leg, line = self._leg, self._line
        conversations = leg._legs.conversations
        if conversations is not None:
            conversations.connected(line.agent_id, line.extension, leg.call, line.interaction_id)
        try:
            await self._dial  # the conversation
        except AgiResultLost:
            pass  # it ended while the AMI link was down: the agent's part is over
        except AmiConnectionLost:
            leg.lost()
            return TalkEnd(link_lost=True)
        except AmiError:  # AgiChannelGone among them: the caller hung up
            pass
        # Call control may have taken the agent's leg out of the Dial (hold, transfers): it
        # drives the caller until the agent's part is over.
        rest = await conversations.after_dial(leg.call) if conversations else None
        return TalkEnd(rest=rest)


def _never() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def _read_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def follow_to_end(ami: AmiClient, tracker: ChannelTracker, channel: Channel) -> bool:
    """Follow a call the service does not drive (adopted after a restart, or after the link
    dropped) until its channel hangs up; True then. The other leg hanging up hangs up the
    caller, whose Async AGI session nobody drives any more. False: the service is stopping
    (the next run adopts the call again)."""
    uniqueid = channel.uniqueid
    with ami.subscribe({"hangup"}) as events:
        if uniqueid not in tracker.channels:  # gone while subscribing
            return True
        while True:
            try:
                message = await events.get()
            except AmiEventsLost:
                if uniqueid not in tracker.channels:
                    return True
                continue
            except StopAsyncIteration:
                return False
            if message.get("Uniqueid") == uniqueid:
                return True
            if message.get("Linkedid") == channel.linkedid:
                # The agent's leg ended: the caller's channel must not wait forever.
                with contextlib.suppress(AmiError):
                    await ami.action("Hangup", {"Channel": channel.name})
