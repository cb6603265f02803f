"""Muting a call's running recording over AMI: the PBX side of pausing it
(callcenter/crm/recording_pauses.py).

Why the AMI action ``MixMonitorMute``: during the conversation the caller's Async AGI session
is busy with its Dial (or Bridge), so no AGI command can reach the channel then. Asterisk
registers ``MixMonitorMute`` with ``EVENT_FLAG_SYSTEM | EVENT_FLAG_CALL`` (apps/
app_mixmonitor.c), and the manager lets an action through when the user's write classes
share *any* of its flags (main/manager.c: ``writeperm & authority``), so the service's
``call`` class suffices: no ``system`` class (which could restart Asterisk) is needed. (The
actions ``MixMonitor``, with ``system`` alone, would not do.)

``Direction: both`` sets the audiohook's mute flags for what the channel reads (the caller)
and what it is sent (the agent and whoever else is bridged): MixMonitor goes on writing
frames, zeroed (main/audiohook.c), so the file keeps its timeline and the pause is a silent
span. ``State: 0`` clears the flags.

The offset of a pause in the recording: the time since the answer (the file's first sample),
less the time on hold (nothing is written while the caller is not bridged, option ``b``),
kept within what the file itself says. Asterisk writes recordings through a 32 KiB stdio
buffer (main/file.c, ``setvbuf(..., 32768)``): 1.024 s of this format, so the size on disk
trails the audio by up to that, in steps of 1.024 s (measured: offsets 2048 and 5120 ms for
a pause heard at 2.86 s). The offset is therefore the elapsed time clamped to [size on disk,
size on disk + 1.024 s]: exact to a few tens of milliseconds on a call without hold, and never
more than the buffer off whatever happened. Once the call ended and the file was finished
into a WAV, its size (less the header) is exact and caps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AmiError, AmiEventsLost
from callcenter.crm.recording_pauses import (
    RecordedCall,
    RecordingMuteFailed,
    RecordingPauses,
)
from callcenter.crm.recordings import (
    BYTES_PER_SECOND,
    WAV_HEADER_BYTES,
    RecordingStorage,
    written_path,
)
from callcenter.pbx.call_control import CallControl
from callcenter.pbx.call_states import NoLiveCall
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.recording import CallRecorder

log = logging.getLogger(__name__)

# Asterisk's stdio buffer on a file it writes (main/file.c): 32 KiB, 1.024 s of this format.
WRITE_BUFFER_MS = round(32768 * 1000 / BYTES_PER_SECOND)


class AmiRecordingMute:
    """The :class:`callcenter.crm.recording_pauses.RecordingMute` port over AMI."""

    def __init__(
        self,
        ami: AmiClient,
        tracker: ChannelTracker,
        recorder: CallRecorder,
        calls: CallControl,
        storage: RecordingStorage,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.recorder = recorder
        self.calls = calls
        self.storage = storage

    async def recorded(self, call_id: str) -> RecordedCall | None:
        if call_id not in self.tracker.channels:
            return None
        row = await self.recorder.row_of(call_id)
        if row is None:
            return None
        recording_id, path, interaction_id, answered = row
        agent_id = self.calls.agent_of(call_id)
        return RecordedCall(call_id, recording_id, path, interaction_id, agent_id, answered)

    async def offset_ms(self, call: RecordedCall) -> int:
        elapsed = self._elapsed_ms(call)
        size = await self.storage.size(written_path(call.path))
        if size is None:  # finished already: the WAV file, whose length is exact
            finished = await self.storage.size(call.path)
            on_disk = round(max((finished or 0) - WAV_HEADER_BYTES, 0) * 1000 / BYTES_PER_SECOND)
            return on_disk if elapsed is None else min(elapsed, on_disk)
        on_disk = round(size * 1000 / BYTES_PER_SECOND)
        if elapsed is None:
            return on_disk
        return min(max(elapsed, on_disk), on_disk + WRITE_BUFFER_MS)

    def _elapsed_ms(self, call: RecordedCall) -> int | None:
        """Since the answer, less the hold so far (None: the answer's time is not known)."""
        if call.answered is None:
            return None
        held = 0
        if call.agent_id is not None:
            with contextlib.suppress(NoLiveCall):
                held = self.calls.status(call.agent_id).hold_seconds
        return max(round((time.monotonic() - call.answered - held) * 1000), 0)

    async def mute(self, call_id: str, muted: bool) -> None:
        channel = self.tracker.channels.get(call_id)
        if channel is None:
            raise RecordingMuteFailed("the call has ended", call_id=call_id)
        try:
            await self.ami.action(
                "MixMonitorMute",
                {"Channel": channel.name, "Direction": "both", "State": "1" if muted else "0"},
            )
        except AmiError as exc:
            log.warning("call %s: MixMonitorMute %s refused: %s", call_id, muted, exc)
            raise RecordingMuteFailed(
                "the PBX did not mute the recording" if muted else "the PBX did not unmute it",
                call_id=call_id,
            ) from exc


async def end_pauses_on_hangup(
    ami: AmiClient, tracker: ChannelTracker, pauses: RecordingPauses
) -> None:
    """A long-lived task: a caller's hang-up closes its call's open pause (``hangup``)."""
    with ami.subscribe({"hangup"}) as hangups:
        async with asyncio.TaskGroup() as group:
            while True:
                try:
                    message = await hangups.get()
                except AmiEventsLost:
                    for call_id in pauses.paused_calls():
                        if call_id not in tracker.channels:
                            group.create_task(_ended(pauses, call_id))
                    continue
                except StopAsyncIteration:
                    return
                call_id = message.get("Uniqueid") or ""
                if pauses.is_paused(call_id):
                    group.create_task(_ended(pauses, call_id))


async def _ended(pauses: RecordingPauses, call_id: str) -> None:
    try:
        await pauses.call_ended(call_id)
    except Exception:  # logged: one call's failure must not end the others' follower
        log.exception("call %s: its recording's pause could not be closed", call_id)
