"""The recording alarm (issue 17, point 7): the recording storage full or unwritable.

A full or unwritable disk never touches a call: Asterisk's MixMonitor opens its file in a
thread of its own when it starts (``Cannot open ...`` in Asterisk's log when it cannot, the
folder read-only or gone) and each write that fails is only logged (``Bad write ...``, the
disk full); the application itself has already returned, the call goes on. So the service
learns it from the storage, in two ways:

* :class:`StorageWatch` probes the storage every few seconds (``statvfs`` for the free space,
  and a small file written and removed for writability), off the call's path: starting
  MixMonitor never waits for a probe.
* When a call's recording fails (no file, an empty or cut file, a WAV that could not be
  written), :class:`RecordingAlarm.failure_reason` probes at once and names the storage's
  problem (``disk-full``, ``unwritable``) instead of the generic reason (``file-missing``,
  ``no-audio``), and counts the call as affected.

The alarm is raised by either; it says what (``disk-full`` or ``unwritable``), since when,
and how many calls' recordings failed for it since. It clears when a probe finds the storage
writable with room again (the next probe after an operator freed space or remounted the
folder); the calls counted stay in the rows (status ``failed`` with the reason). Every change
is published as ``recording.alarm`` (docs/events.md) and shown by ``/health`` (``degraded``)
and the wallboard (docs/recording.md, "Faults and alarms").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from callcenter.events import RecordingAlarmChanged

log = logging.getLogger(__name__)

StorageProblem = Literal["disk-full", "unwritable"]
STORAGE_REASONS: frozenset[str] = frozenset({"disk-full", "unwritable"})

CHECK_SECONDS = 10.0
# Below this much free space the storage counts as full: about 52 recorded minutes
# (1,920,000 bytes a minute, callcenter/crm/recordings.py).
MIN_FREE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class StorageState:
    """What one probe found. ``problem`` None: writable, with at least the minimum free;
    ``write_failed``: the probe's own write was refused (not only below the minimum), so a
    recording written now fails too."""

    problem: StorageProblem | None
    free_bytes: int | None = None
    detail: str | None = None
    write_failed: bool = False


class StorageProbe(Protocol):
    """The storage's side: its free space and whether a file can be written into it."""

    async def probe(self, min_free_bytes: int) -> StorageState: ...


def problem_of(error: OSError) -> StorageProblem | None:
    """The storage problem an OS error means, if any."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk-full"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "unwritable"
    return None


@dataclass(frozen=True)
class AlarmView:
    """The alarm as /health, the wallboard and ``recording.alarm`` show it."""

    active: bool
    reason: StorageProblem | None = None
    since: dt.datetime | None = None
    calls_affected: int = 0
    free_bytes: int | None = None
    detail: str | None = None
    cleared_at: dt.datetime | None = None  # the last alarm's end


class RecordingAlarm:
    """The alarm's state, fed by probes and by failed recordings; ``on_change`` is told of
    every change (the composition root publishes ``recording.alarm``)."""

    def __init__(
        self,
        probe: StorageProbe,
        *,
        min_free_bytes: int = MIN_FREE_BYTES,
        on_change: Callable[[AlarmView], object] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.probe = probe
        self.min_free_bytes = min_free_bytes
        self.on_change = on_change
        self.clock = clock
        self.view = AlarmView(active=False)

    async def check(self) -> StorageState:
        """Probe the storage now and update the alarm from what it found."""
        try:
            state = await self.probe.probe(self.min_free_bytes)
        except OSError as exc:
            state = StorageState(
                problem_of(exc) or "unwritable", detail=str(exc), write_failed=True
            )
        self.storage_checked(state)
        return state

    def storage_checked(self, state: StorageState) -> None:
        if state.problem is None:
            if self.view.active:
                log.warning("recording alarm cleared: the storage is writable again")
                self._set(
                    AlarmView(active=False, free_bytes=state.free_bytes, cleared_at=self.clock())
                )
            elif state.free_bytes != self.view.free_bytes:
                self.view = replace(self.view, free_bytes=state.free_bytes)  # no event
            return
        self._raise(state.problem, state.free_bytes, state.detail, affected=0)

    async def failure_reason(self, default: str, error: OSError | None = None) -> str:
        """Why a recording failed: the storage's problem when writing fails there (``error``,
        else a probe now), else ``default``. Space below the minimum alone is not a reason:
        the recording may be whole. A storage reason counts the call as affected."""
        problem = problem_of(error) if error is not None else None
        state = await self.check()
        if problem is None and state.write_failed:
            problem = state.problem
        reason = problem or default
        if reason in STORAGE_REASONS:
            self.recording_failed(reason)
        return reason

    def recording_failed(self, reason: str) -> None:
        problem: StorageProblem
        if reason == "disk-full":
            problem = "disk-full"
        elif reason == "unwritable":
            problem = "unwritable"
        else:
            return
        self._raise(problem, self.view.free_bytes, self.view.detail, affected=1)

    def _raise(
        self, reason: StorageProblem, free: int | None, detail: str | None, *, affected: int
    ) -> None:
        current = self.view
        if not current.active:
            log.error("recording alarm: %s (%s)", reason, detail or "no detail")
            self._set(
                AlarmView(
                    active=True,
                    reason=reason,
                    since=self.clock(),
                    calls_affected=affected,
                    free_bytes=free,
                    detail=detail,
                    cleared_at=current.cleared_at,
                )
            )
            return
        changed = replace(
            current,
            reason=reason,
            calls_affected=current.calls_affected + affected,
            free_bytes=free,
            detail=detail,
        )
        if changed != current:
            if reason != current.reason:
                log.error("recording alarm now: %s (%s)", reason, detail or "no detail")
            self._set(changed)

    def _set(self, view: AlarmView) -> None:
        self.view = view
        if self.on_change is not None:
            try:
                self.on_change(view)
            except Exception:  # the wallboard's news must never stop a recording
                log.exception("recording alarm: not published")


class StorageWatch:
    """Probes the storage every ``interval`` seconds (a task of the service)."""

    def __init__(self, alarm: RecordingAlarm, interval: float = CHECK_SECONDS) -> None:
        self.alarm = alarm
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.alarm.check()
            except Exception:  # a probe's bug must not end the task: the next one tries again
                log.exception("recording storage: not probed")
            await asyncio.sleep(self.interval)


def alarm_event(view: AlarmView) -> RecordingAlarmChanged:
    """The alarm as the bus's ``recording.alarm`` carries it."""
    return RecordingAlarmChanged(
        active=view.active,
        reason=view.reason,
        since=view.since,
        calls_affected=view.calls_affected,
        free_bytes=view.free_bytes,
        cleared_at=view.cleared_at,
    )
