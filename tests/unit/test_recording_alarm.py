"""The recording alarm's rules (callcenter/crm/recording_alarm.py): raised by a probe or a
failed recording, counting the calls affected, cleared by a probe that finds room again; and
the local folder's probe (statvfs and a real write)."""

from __future__ import annotations

import datetime as dt
import errno
from pathlib import Path

import pytest

from callcenter.crm.recording_alarm import (
    AlarmView,
    RecordingAlarm,
    StorageState,
    alarm_event,
    problem_of,
)
from callcenter.persistence.recording_files import LocalRecordingStorage

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


class Probe:
    def __init__(self) -> None:
        self.state = StorageState(None, free_bytes=10**9)
        self.asked: list[int] = []

    async def probe(self, min_free_bytes: int) -> StorageState:
        self.asked.append(min_free_bytes)
        return self.state


def alarm_with(probe: Probe) -> tuple[RecordingAlarm, list[AlarmView]]:
    seen: list[AlarmView] = []
    clock = iter(T0 + dt.timedelta(seconds=s) for s in range(100))
    return RecordingAlarm(
        probe, min_free_bytes=4096, on_change=seen.append, clock=lambda: next(clock)
    ), seen


FULL = StorageState("disk-full", free_bytes=0, detail="no space", write_failed=True)


async def test_a_probe_raises_the_alarm_once_and_a_probe_with_room_clears_it() -> None:
    probe = Probe()
    alarm, seen = alarm_with(probe)
    await alarm.check()
    assert seen == []
    assert probe.asked == [4096]
    probe.state = FULL
    await alarm.check()
    await alarm.check()  # the same: no second event
    assert len(seen) == 1
    assert seen[0].active
    assert seen[0].reason == "disk-full"
    assert seen[0].since == T0
    assert seen[0].calls_affected == 0
    probe.state = StorageState(None, free_bytes=10**6)
    await alarm.check()
    assert len(seen) == 2
    assert not seen[1].active
    assert seen[1].reason is None
    assert seen[1].cleared_at is not None
    assert alarm_event(seen[1]).to_data()["active"] is False


async def test_a_failed_recording_names_the_storage_problem_and_counts_the_call() -> None:
    probe = Probe()
    alarm, seen = alarm_with(probe)
    probe.state = FULL
    assert await alarm.failure_reason("no-audio") == "disk-full"
    assert await alarm.failure_reason("file-missing") == "disk-full"
    assert alarm.view.calls_affected == 2
    assert alarm.view.since == T0  # raised once, counted on
    assert [v.calls_affected for v in seen] == [0, 1, 2]
    event = alarm_event(alarm.view)
    assert (event.active, event.reason, event.calls_affected) == (True, "disk-full", 2)


async def test_low_space_alone_alarms_but_does_not_fail_a_recording_that_was_written() -> None:
    probe = Probe()
    alarm, _seen = alarm_with(probe)
    probe.state = StorageState("disk-full", free_bytes=100, detail="100 bytes free")
    assert await alarm.failure_reason("") == ""  # the WAV is finished as usual
    assert await alarm.failure_reason("file-missing") == "file-missing"
    assert alarm.view.active
    assert alarm.view.calls_affected == 0


async def test_an_os_error_names_its_problem_even_when_the_probe_finds_room() -> None:
    probe = Probe()
    alarm, _seen = alarm_with(probe)
    error = OSError(errno.EROFS, "Read-only file system")
    assert await alarm.failure_reason("finish-failed: x", error) == "unwritable"
    assert alarm.view.active
    assert alarm.view.reason == "unwritable"
    assert alarm.view.calls_affected == 1


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (errno.ENOSPC, "disk-full"),
        (errno.EDQUOT, "disk-full"),
        (errno.EROFS, "unwritable"),
        (errno.EACCES, "unwritable"),
        (errno.EIO, None),
    ],
)
def test_os_errors_map_to_storage_problems(code: int, problem: str | None) -> None:
    assert problem_of(OSError(code, "x")) == problem


async def test_the_local_folder_probe_writes_and_measures(tmp_path: Path) -> None:
    storage = LocalRecordingStorage(tmp_path / "not-made-yet", "/x")
    state = await storage.probe(0)
    assert state.problem is None
    assert state.free_bytes is not None
    assert state.free_bytes > 0
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - the probe's file gone, no folder made
    low = await storage.probe(1 << 62)
    assert low.problem == "disk-full"
    assert not low.write_failed
