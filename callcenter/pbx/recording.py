"""Recording every call put through to an agent, with Asterisk's MixMonitor on the caller's
channel, started through the caller's own Async AGI session.

Why this way:

* No ``system`` class for the service's AMI user: the AMI action ``MixMonitor`` needs it
  (app_mixmonitor.c registers it with EVENT_FLAG_SYSTEM), and that class also allows
  restarting Asterisk. The *application* MixMonitor, run by ``EXEC MixMonitor`` in the
  caller's Async AGI session, needs no AMI right beyond ``agi``.
* On the caller's channel, not the agent's: a consult or blind transfer takes the agent's leg
  away, a conference adds legs, while the caller's channel stays for the whole call. One
  MixMonitor there records everything the caller says and hears, whoever the caller is
  bridged to: one file per call.
* Started just before the first Dial to an agent, with the option ``b`` ("only save audio
  while the channel is bridged"): nothing is written while the phone rings or while the caller
  is on hold with music or in the IVR; the file starts at the answer. The AGI command returns
  at once (MixMonitor runs in a thread of its own).
* The option ``D`` interleaves what comes from the channel (the caller) and what goes to it
  (the agent) as a 2-channel raw stream; it needs the ``.raw`` extension. The service adds the
  WAV header when the call is over (callcenter/crm/recordings.py, RecordingService.finish).

When: ``DialEnd`` with ``DialStatus: ANSWER`` on the caller's channel opens the recording's
row; the caller's ``Hangup`` finishes it. MixMonitor's own AMI events do not help there:
``MixMonitorStart`` comes at the start of the (still unbridged) recording, and
``MixMonitorStop`` only for StopMixMonitor, never for a hang-up. A call that hung up while
the AMI link was down is finished at the next resync of the channel view; one that no agent
answered has its empty file removed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.asterisk.agi import agi_quote
from callcenter.asterisk.client import AmiClient, ConnectionState
from callcenter.asterisk.errors import AmiError, AmiEventsLost
from callcenter.asterisk.protocol import Message
from callcenter.crm.recordings import RecordingService, written_path
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import AgiCall, Resyncs

log = logging.getLogger(__name__)

# b: only while bridged (from the answer; not on hold); D: caller and agent on two channels.
MIXMONITOR_OPTIONS = "bD"


@dataclass
class _Recorded:
    call_id: str
    interaction_id: int | None
    path: str
    opened: asyncio.Task[int | None] | None = None  # the row's creation, once the agent answered
    answered: float | None = None  # monotonic time of the answer: the file's first sample


class CallRecorder:
    """Starts each agent call's recording and tells the recording service its answer and end.

    :meth:`start` is called by the caller's leg before it dials an agent (once per call);
    :meth:`run` is a long-lived task of the service (its TaskGroup, callcenter/app.py).
    """

    def __init__(
        self,
        ami: AmiClient,
        tracker: ChannelTracker,
        resyncs: Resyncs,
        service: RecordingService,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.resyncs = resyncs
        self.service = service
        self._calls: dict[str, _Recorded] = {}
        self._group: asyncio.TaskGroup | None = None
        # Whether the agent has the call's recording paused (callcenter/crm/recording_pauses.py;
        # set by the app): a restarted MixMonitor is muted again at once (see rejoin).
        self.is_paused: Callable[[str], bool] = lambda _call_id: False

    def recording(self, call_id: str) -> bool:
        return call_id in self._calls

    async def row_of(self, call_id: str) -> tuple[int, str, int | None, float | None] | None:
        """The call's recording's row id, path, interaction and answer (monotonic) once the
        agent answered (None: not recorded, not answered yet). For pausing it
        (callcenter/pbx/recording_mute.py)."""
        recorded = self._calls.get(call_id)
        if recorded is None or recorded.opened is None:
            return None
        recording_id = await asyncio.shield(recorded.opened)
        if recording_id is None:
            return None
        return recording_id, recorded.path, recorded.interaction_id, recorded.answered

    async def start(self, call: AgiCall, interaction_id: int | None) -> None:
        """MixMonitor on the caller's channel. A failure is logged and the call goes on
        unrecorded: a recording never stops a call (issue 17, point 7)."""
        if call.uniqueid in self._calls or self._group is None:
            return
        path = self.service.plan(dt.datetime.now(dt.UTC), interaction_id, call.uniqueid)
        target = f"{self.service.storage.asterisk_name(written_path(path))},{MIXMONITOR_OPTIONS}"
        try:
            result = await self.call_execute(call, f"EXEC MixMonitor {agi_quote(target)}")
        except AmiError as exc:
            log.warning("call %s: recording not started: %s", call.uniqueid, exc)
            return
        if result is not None:
            log.warning("call %s: recording not started: MixMonitor said %s", call.uniqueid, result)
            return
        self._calls[call.uniqueid] = _Recorded(call.uniqueid, interaction_id, path)
        log.info("call %s: recording into %s", call.uniqueid, path)

    async def rejoin(self, call: AgiCall) -> None:
        """The caller's channel is about to join a new bridge from its AGI session (back to
        the agent after a hold, a blind transfer's target, a consult's colleague, a
        conference): its MixMonitor is restarted, appending to the same file.

        Why: a MixMonitor started before the first bridge, left on the channel through music
        on hold and into a second bridge, recorded digital silence for what the caller was
        sent in that bridge in about one run in three (the caller's own voice was there, and
        the far party's audio did reach the caller on the wire), so a transferred call's file
        lost the colleague. A fresh audiohook attached before the bridge has none of that.
        Nothing is lost between: the option ``b`` writes only while bridged, and the caller is
        not bridged here. A paused recording is muted again before the bridge. A failure is
        logged and the call goes on."""
        recorded = self._calls.get(call.uniqueid)
        if recorded is None:
            return
        written = self.service.storage.asterisk_name(written_path(recorded.path))
        target = f"{written},{MIXMONITOR_OPTIONS}a"  # a: append to the call's file
        try:
            await call.execute("EXEC StopMixMonitor")
            result = await self.call_execute(call, f"EXEC MixMonitor {agi_quote(target)}")
            if result is not None:
                log.warning("call %s: recording not restarted: %s", call.uniqueid, result)
                return
            if self.is_paused(call.uniqueid):
                await self.ami.action(
                    "MixMonitorMute", {"Channel": call.channel, "Direction": "both", "State": "1"}
                )
        except AmiError as exc:
            log.warning("call %s: recording not restarted: %s", call.uniqueid, exc)
            return
        log.info("call %s: recording restarted for a new bridge", call.uniqueid)

    def outbound(self, call_id: str, interaction_id: int | None) -> str | None:
        """A click-to-dial call about to be originated (callcenter/pbx/click_to_dial.py): the
        file Asterisk is to write, which the dialplan records the dialled party's channel into
        (``call-control-outbound``: MixMonitor from the dialplan, no AMI class needed), the
        client on the left and the agent on the right as on an inbound call. ``call_id`` is
        the agent's channel's uniqueid: its DialEnd (the client answered) opens the row and
        its Hangup finishes it, as for an inbound call. None when nothing is recorded."""
        if call_id in self._calls or self._group is None:
            return None
        path = self.service.plan(dt.datetime.now(dt.UTC), interaction_id, call_id)
        written = self.service.storage.asterisk_name(written_path(path))
        if any(c in written for c in ",^()"):  # the Originate's and Dial's separators
            log.warning("call %s: not recorded: the recordings path %r", call_id, written)
            return None
        self._calls[call_id] = _Recorded(call_id, interaction_id, path)
        log.info("call %s: recording the outbound call into %s", call_id, path)
        return written

    def forget(self, call_id: str) -> None:
        """The call planned by :meth:`outbound` was never made."""
        self._calls.pop(call_id, None)

    @staticmethod
    async def call_execute(call: AgiCall, command: str) -> str | None:
        """Run the AGI command; None when it worked, else the reply (EXEC answers -2 for an
        application Asterisk does not have)."""
        reply = await call.execute(command)
        return None if reply.ok and reply.result_int == 0 else reply.raw

    async def run(self) -> None:
        with self.ami.subscribe({"dialend", "hangup"}) as events:
            async with asyncio.TaskGroup() as group:
                self._group = group
                sweeper = group.create_task(self._sweep_after_resyncs())
                try:
                    while True:
                        try:
                            message = await events.get()
                        except AmiEventsLost:
                            self._sweep()
                            continue
                        except StopAsyncIteration:
                            return
                        self._on_event(message)
                finally:
                    self._group = None
                    sweeper.cancel()

    def _on_event(self, message: Message) -> None:
        recorded = self._calls.get(message.get("Uniqueid") or "")
        if recorded is None or self._group is None:
            return
        name = (message.get("Event") or "").lower()
        if name == "dialend":
            if message.get("DialStatus") == "ANSWER" and recorded.opened is None:
                recorded.answered = time.monotonic()
                recorded.opened = self._group.create_task(
                    self._open(recorded, dt.datetime.now(dt.UTC))
                )
        elif name == "hangup":
            self._end(recorded)

    async def _open(self, recorded: _Recorded, at: dt.datetime) -> int | None:
        # Failures are logged, never raised: a task failing would end the TaskGroup, and so
        # every other call's recording.
        try:
            return await self.service.opened(
                recorded.interaction_id, recorded.call_id, recorded.path, at
            )
        except Exception:
            log.exception("call %s: its recording's row could not be written", recorded.call_id)
            return None

    def _end(self, recorded: _Recorded) -> None:
        if self._calls.pop(recorded.call_id, None) is not None and self._group is not None:
            self._group.create_task(self._finish(recorded))

    async def _finish(self, recorded: _Recorded) -> None:
        try:
            if recorded.opened is None:
                await self.service.discard(recorded.path)
                return
            recording_id = await recorded.opened
            if recording_id is not None:
                await self.service.finish(recording_id, recorded.path)
        except Exception:
            log.exception("call %s: its recording could not be finished", recorded.call_id)

    def _sweep(self) -> None:
        """Calls whose Hangup was not seen (events lost, the link down): those no longer in
        a current channel view are over."""
        if self.ami.state is not ConnectionState.CONNECTED:
            return
        if self.resyncs.generation < self.ami.generation:
            return  # the view is not rebuilt on this session yet: the next resync sweeps
        for recorded in list(self._calls.values()):
            if recorded.call_id not in self.tracker.channels:
                self._end(recorded)

    async def _sweep_after_resyncs(self) -> None:
        while True:
            await self.resyncs.after(self.resyncs.generation)
            self._sweep()
