"""Recording a consult: the agent talks to a colleague while the caller waits on hold.

The call's own recording (callcenter/pbx/recording.py) is made on the caller's channel, so it
follows the caller through a blind transfer (the caller's session dials the target: the same
channel, the same MixMonitor, one file) and a conference (the caller joins the bridge: everyone
it hears is in the file). A consult is the one conversation the caller does not take part in:
the agent's leg, taken out of the caller's bridge, dials the colleague
(``call-control-consult`` in extensions.conf). It is recorded as a file of its own whose row
names the call's recording (``consult_of_id``).

How, without the AMI ``system`` class: before call control redirects the agent's leg into the
consult, :meth:`ConsultRecorder.before_consult` sets ``CC_CONSULT_RECORDING`` on that leg
(AMI ``Setvar``, class ``call``) to the file Asterisk is to write; the dialplan then runs the
MixMonitor *application* on the agent's leg (option ``bD``: only while bridged, the agent on
the left and the colleague on the right) and ``StopMixMonitor`` when its Dial ends (the
consult cancelled or completed). A consult turned into a conference stops being a consult:
:meth:`ConsultRecorder.before_conference` stops its recording with the AMI action
``StopMixMonitor`` (classes ``system`` *or* ``call``: Asterisk lets an action through when the
user has any one of its classes), and the conference goes on in the call's own file.

When: the consult's row is written at ``DialEnd`` with ``DialStatus: ANSWER`` on the agent's
leg (the colleague answered); it is finished at ``MixMonitorStop`` (the dialplan's
``StopMixMonitor``, or the AMI action) or the agent's leg's ``Hangup``, whichever comes first.
A colleague who did not answer leaves no row and no file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from callcenter.asterisk.client import AmiClient, ConnectionState
from callcenter.asterisk.errors import AmiError, AmiEventsLost
from callcenter.asterisk.protocol import Message
from callcenter.crm.recordings import RecordingService, written_path
from callcenter.pbx.channels import Channel, ChannelTracker
from callcenter.pbx.recording import CallRecorder

log = logging.getLogger(__name__)

# The agent's leg's variable the consult's dialplan reads (asterisk_conf/extensions.conf).
CONSULT_VARIABLE = "CC_CONSULT_RECORDING"


def consult_call_id(call_id: str, n: int) -> str:
    """What names the call's n-th consult in its file's name: the call's recording and its
    consults sort together (``<interaction>-<uniqueid>-consult<n>.wav``)."""
    return f"{call_id}-consult{n}"


@dataclass
class _Consult:
    leg: str  # the agent's leg's uniqueid (the channel recorded)
    call_id: str  # the caller's, whose recording this consult belongs to
    interaction_id: int | None
    path: str
    opened: asyncio.Task[int | None] | None = None


class ConsultRecorder:
    """Records each consult of a recorded call (see the module's docstring). Call control
    calls :meth:`before_consult` and :meth:`before_conference`; :meth:`run` is a long-lived
    task of the service."""

    def __init__(self, ami: AmiClient, tracker: ChannelTracker, calls: CallRecorder) -> None:
        self.ami = ami
        self.tracker = tracker
        self.calls = calls
        self.service: RecordingService = calls.service
        self._by_leg: dict[str, _Consult] = {}
        self._count: dict[str, int] = {}  # consults per call, for their files' names
        self._group: asyncio.TaskGroup | None = None

    async def before_consult(
        self, call_id: str, interaction_id: int | None, agent_leg: Channel
    ) -> None:
        """The agent's leg is about to dial a colleague: name its recording's file on it. A
        failure is logged and the consult goes on unrecorded (a recording never stops a
        call)."""
        if self._group is None or not self.calls.recording(call_id):
            return
        previous = self._by_leg.get(agent_leg.uniqueid)
        if previous is not None:  # its MixMonitorStop not seen yet: it is over all the same
            self._end(previous)
        self._prune()
        n = self._count.get(call_id, 0) + 1
        self._count[call_id] = n
        at = dt.datetime.now(dt.UTC)
        path = self.service.plan(at, interaction_id, consult_call_id(call_id, n))
        target = self.service.storage.asterisk_name(written_path(path))
        try:
            await self.ami.action(
                "Setvar", {"Channel": agent_leg.name, "Variable": CONSULT_VARIABLE, "Value": target}
            )
        except AmiError as exc:
            log.warning("call %s: consult not recorded: %s", call_id, exc)
            return
        self._by_leg[agent_leg.uniqueid] = _Consult(
            agent_leg.uniqueid, call_id, interaction_id, path
        )

    async def before_conference(self, agent_leg: Channel) -> None:
        """The consult becomes a conference: the caller's own recording takes it from here."""
        if agent_leg.uniqueid not in self._by_leg:
            return
        try:
            await self.ami.action("StopMixMonitor", {"Channel": agent_leg.name})
        except AmiError as exc:
            # The consult's file then goes on with the conference until the agent leaves.
            log.warning("consult on %s: recording not stopped: %s", agent_leg.name, exc)

    async def run(self) -> None:
        with self.ami.subscribe({"dialend", "hangup", "mixmonitorstop"}) as events:
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
        consult = self._by_leg.get(message.get("Uniqueid") or "")
        if consult is None or self._group is None:
            return
        name = (message.get("Event") or "").lower()
        if name == "dialend":
            if message.get("DialStatus") == "ANSWER" and consult.opened is None:
                consult.opened = self._group.create_task(
                    self._open(consult, dt.datetime.now(dt.UTC))
                )
        else:  # hangup, mixmonitorstop: the consult's recording is over
            self._end(consult)

    async def _open(self, consult: _Consult, at: dt.datetime) -> int | None:
        # Logged, never raised: a failing task would end the TaskGroup and every consult's
        # recording with it.
        try:
            row = await self.calls.row_of(consult.call_id)
            return await self.service.opened(
                consult.interaction_id,
                consult.leg,
                consult.path,
                at,
                consult_of_id=row[0] if row is not None else None,
            )
        except Exception:
            log.exception("call %s: its consult's row could not be written", consult.call_id)
            return None

    def _end(self, consult: _Consult) -> None:
        if self._by_leg.pop(consult.leg, None) is not None and self._group is not None:
            self._group.create_task(self._finish(consult))

    async def _finish(self, consult: _Consult) -> None:
        try:
            if consult.opened is None:
                await self.service.discard(consult.path)
                return
            recording_id = await consult.opened
            if recording_id is not None:
                await self.service.finish(recording_id, consult.path)
        except Exception:
            log.exception("call %s: its consult's recording could not be finished", consult.call_id)

    def _sweep(self) -> None:
        """Events were lost (or the link was down): a consult whose agent's leg is no longer
        in a current channel view is over."""
        if self.ami.state is not ConnectionState.CONNECTED:
            return
        if self.calls.resyncs.generation < self.ami.generation:
            return  # the view is not rebuilt on this session yet: the next resync sweeps
        for consult in list(self._by_leg.values()):
            if consult.leg not in self.tracker.channels:
                self._end(consult)
        self._prune()

    async def _sweep_after_resyncs(self) -> None:
        while True:
            await self.calls.resyncs.after(self.calls.resyncs.generation)
            self._sweep()

    def _prune(self) -> None:
        """Forget the consult counts of calls that are over."""
        live = {c.call_id for c in self._by_leg.values()}
        for call_id in [c for c in self._count if c not in live and not self.calls.recording(c)]:
            del self._count[call_id]
