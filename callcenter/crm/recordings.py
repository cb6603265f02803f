"""Call recordings: the model, the file layout and format, the ports, and the service.

A recording is one file per call, made by Asterisk on the caller's channel (MixMonitor, started
by callcenter/pbx/recording.py) and tied to the call's interaction. Its life:

* ``recording``: the agent answered; the row and its chain entry ``created`` are written.
* ``complete``: the call ended; the file Asterisk wrote (raw samples) was finished into a WAV
  file, hashed (SHA-256), and the row and its chain entry ``completed`` carry hash and size.
* ``failed`` with a reason: no file, an empty one, or it could not be finished.

The format: 16-bit linear PCM at 8 kHz, two channels, the caller on the left (what Asterisk
reads from the caller's channel) and the agent (and whoever else the caller is bridged to, a
transfer target, a conference) on the right: 32,000 bytes a second, 1,920,000 a minute
(docs/recording.md says why, and measured). Each party can be heard, and checked, on its own.

The ports: :class:`RecordingStorage` (the files: a local folder by default,
callcenter/persistence/recording_files.py; shared or object storage in production) and
:class:`RecordingLedger` (the rows and the chain: callcenter/persistence/recordings.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callcenter.crm.recording_alarm import RecordingAlarm

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
CHANNELS = 2
SAMPLE_BYTES = 2
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * SAMPLE_BYTES
WAV_HEADER_BYTES = 44
FORMAT = "wav-pcm16-8k-stereo"  # caller left, agent right
# How the file Asterisk writes is named: MixMonitor's D (interleaved stereo) needs .raw.
WRITTEN_SUFFIX = ".raw"
FINISHED_SUFFIX = ".wav"

# When the caller's channel hangs up, Asterisk's MixMonitor thread notices (its audiohook
# detaches), writes what it holds and closes the file a moment later; no AMI event says so
# (MixMonitorStop is sent only for StopMixMonitor). The file is taken as finished once its
# size has not changed for STABLE_SECONDS, looked at every POLL_SECONDS, for at most
# FINISH_TIMEOUT seconds (a file still growing then is finished as it is, and says so).
STABLE_SECONDS = 0.6
POLL_SECONDS = 0.1
FINISH_TIMEOUT = 15.0


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    COMPLETE = "complete"
    FAILED = "failed"
    DELETED = "deleted"  # purged when its retention ran out (the row stays, the file goes)


@dataclass(frozen=True)
class Recording:
    id: int
    interaction_id: int | None
    call_id: str  # the caller's channel's Asterisk uniqueid
    path: str  # relative to the storage root, the finished file's
    format: str
    status: RecordingStatus
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    duration_ms: int | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    failure_reason: str | None = None
    consult_of_id: int | None = None  # a consult leg's recording: the call it belongs to
    deleted_at: dt.datetime | None = None  # purged (retention)


def recording_path(at: dt.datetime, interaction_id: int | None, call_id: str) -> str:
    """``YYYY/MM/DD/<interaction-id>-<uniqueid>.wav`` (the UTC day the call was answered);
    ``0`` for a call whose interaction is not known (written later by the journal)."""
    day = at.astimezone(dt.UTC)
    safe_id = "".join(c if c.isalnum() or c in ".-" else "_" for c in call_id)
    return f"{day:%Y/%m/%d}/{interaction_id or 0}-{safe_id}{FINISHED_SUFFIX}"


def written_path(path: str) -> str:
    """Where Asterisk writes the recording whose finished file is ``path``."""
    return path.removesuffix(FINISHED_SUFFIX) + WRITTEN_SUFFIX


def wav_header(data_bytes: int) -> bytes:
    """The RIFF/WAVE header of :data:`FORMAT` for ``data_bytes`` of samples."""
    block_align = CHANNELS * SAMPLE_BYTES
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, CHANNELS, SAMPLE_RATE, BYTES_PER_SECOND, block_align, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def duration_ms_of(data_bytes: int) -> int:
    return round(data_bytes * 1000 / BYTES_PER_SECOND)


# --- ports ----------------------------------------------------------------------------------


class RecordingStorage(Protocol):
    """Where recording files live. ``path`` is always relative to the storage root."""

    def asterisk_name(self, path: str) -> str:
        """The absolute path under which Asterisk writes ``path`` (MixMonitor's file)."""
        ...

    async def size(self, path: str) -> int | None:
        """The file's size in bytes; None when there is no such file."""
        ...

    async def finish(self, written: str, path: str, header: bytes) -> None:
        """Store what Asterisk wrote at ``written`` as ``path`` with ``header`` in front, then
        remove ``written``. Durable (synced) before it returns."""
        ...

    async def digest(self, path: str) -> tuple[str, int] | None:
        """The file's SHA-256 (hex) and size; None when there is no such file."""
        ...

    def read(self, path: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive; None: to the end), in chunks: playback
        with HTTP range requests (issue 17 point 5)."""
        ...

    async def delete(self, path: str) -> bool:
        """Remove the file; False when there was none."""
        ...

    async def paths(self) -> list[str]:
        """Every recording file stored (finished or being written), for verification."""
        ...


class RecordingLedger(Protocol):
    """The ``recordings`` rows and their chain entries, each change with its entry in one
    transaction (callcenter/persistence/recordings.py)."""

    async def create(
        self,
        interaction_id: int | None,
        call_id: str,
        path: str,
        started_at: dt.datetime,
        *,
        consult_of_id: int | None = None,
    ) -> int: ...

    async def complete(
        self, recording_id: int, ended_at: dt.datetime, duration_ms: int, size: int, sha256: str
    ) -> None: ...

    async def fail(self, recording_id: int, ended_at: dt.datetime, reason: str) -> None: ...


# --- the service ----------------------------------------------------------------------------


class RecordingService:
    """Opens and finishes recordings; the PBX adapter tells it when (answer, hang-up)."""

    def __init__(
        self,
        storage: RecordingStorage,
        ledger: RecordingLedger,
        *,
        stable_seconds: float = STABLE_SECONDS,
        finish_timeout: float = FINISH_TIMEOUT,
        alarm: RecordingAlarm | None = None,
    ) -> None:
        self.storage = storage
        self.ledger = ledger
        # A failure names the storage's problem (disk-full, unwritable) when it has one, and
        # raises the recording alarm (callcenter/crm/recording_alarm.py).
        self.alarm = alarm
        self.stable_seconds = stable_seconds
        self.finish_timeout = finish_timeout

    def plan(self, at: dt.datetime, interaction_id: int | None, call_id: str) -> str:
        """The path the call's recording will have."""
        return recording_path(at, interaction_id, call_id)

    async def opened(
        self,
        interaction_id: int | None,
        call_id: str,
        path: str,
        at: dt.datetime,
        *,
        consult_of_id: int | None = None,
    ) -> int:
        """The agent answered: the row (``recording``) and its ``created`` entry. A consult's
        (callcenter/pbx/consult_recording.py) names the call's recording."""
        recording_id = await self.ledger.create(
            interaction_id, call_id, path, at, consult_of_id=consult_of_id
        )
        log.info("call %s: recording %s opened (%s)", call_id, recording_id, path)
        return recording_id

    async def finish(self, recording_id: int, path: str) -> RecordingStatus:
        """The call ended: wait for Asterisk to close the file, finish it into a WAV file,
        hash it, complete the row. A missing or empty file fails the recording, with why."""
        written = written_path(path)
        size = await self._settled_size(written)
        now = dt.datetime.now(dt.UTC)
        if size is None:
            reason = await self._reason("file-missing")
            await self.ledger.fail(recording_id, now, reason)
            log.error("recording %s failed (%s): no file %s", recording_id, reason, written)
            return RecordingStatus.FAILED
        if size == 0:
            reason = await self._reason("no-audio")
            await self.storage.delete(written)
            await self.ledger.fail(recording_id, now, reason)
            log.error("recording %s failed (%s): no audio was written", recording_id, reason)
            return RecordingStatus.FAILED
        if self.alarm is not None:
            # Cut short by a full or read-only disk: the raw file stays beside (what it
            # holds may matter), the row says why; its WAV could not be written anyway.
            reason = await self._reason("")
            if reason:
                await self.ledger.fail(recording_id, now, reason)
                log.error("recording %s failed (%s): %d bytes kept", recording_id, reason, size)
                return RecordingStatus.FAILED
        data = size - size % (CHANNELS * SAMPLE_BYTES)  # whole frames only
        try:
            await self.storage.finish(written, path, wav_header(data))
            digest = await self.storage.digest(path)
        except OSError as exc:
            reason = await self._reason(f"finish-failed: {exc.strerror or exc}", exc)
            await self.ledger.fail(recording_id, now, reason)
            log.error("recording %s failed to finish: %s", recording_id, exc)
            return RecordingStatus.FAILED
        if digest is None:
            await self.ledger.fail(recording_id, now, "file-missing")
            return RecordingStatus.FAILED
        sha256, total = digest
        await self.ledger.complete(recording_id, now, duration_ms_of(data), total, sha256)
        log.info(
            "recording %s complete: %d ms, %d bytes, sha256 %s",
            recording_id,
            duration_ms_of(data),
            total,
            sha256,
        )
        return RecordingStatus.COMPLETE

    async def _reason(self, default: str, error: OSError | None = None) -> str:
        if self.alarm is None:
            return default
        try:
            return await self.alarm.failure_reason(default, error)
        except Exception:  # the row must still say failed
            log.exception("recording storage: not probed")
            return default

    async def discard(self, path: str) -> None:
        """No agent answered: the empty file MixMonitor opened goes (there is no row)."""
        written = written_path(path)
        await self._settled_size(written)
        await self.storage.delete(written)

    async def _settled_size(self, written: str) -> int | None:
        """The written file's size once it stopped changing (see :data:`STABLE_SECONDS`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.finish_timeout
        last = await self.storage.size(written)
        still_since = loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            size = await self.storage.size(written)
            if size != last:
                last, still_since = size, loop.time()
            elif loop.time() - still_since >= self.stable_seconds:
                return size
        log.warning("recording file %s still changing after %.0f s", written, self.finish_timeout)
        return last
