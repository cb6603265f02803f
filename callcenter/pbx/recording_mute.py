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

The offset of a pause in the recording is read from the file itself: its size while Asterisk
writes it (raw samples, 32,000 bytes a second), so a hold (nothing is written while the
caller is not bridged, option ``b``) does not shift it. MixMonitor writes through a buffered
stream, so what is on disk trails the audio by at most its buffer (a few kilobytes, well under
a quarter of a second); once the call ended and the file was finished into a WAV, its size
less the header.
"""

from __future__ import annotations

import asyncio
import logging

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
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.recording import CallRecorder

log = logging.getLogger(__name__)


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
        recording_id, path, interaction_id = row
        return RecordedCall(
            call_id, recording_id, path, interaction_id, self.calls.agent_of(call_id)
        )

    async def offset_ms(self, path: str) -> int:
        size = await self.storage.size(written_path(path))
        if size is None:  # finished already: the WAV file
            finished = await self.storage.size(path)
            size = max((finished or 0) - WAV_HEADER_BYTES, 0)
        return round(size * 1000 / BYTES_PER_SECOND)

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
