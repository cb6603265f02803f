"""The recording storage full or unwritable, against the real Asterisk (issue 17, point 7).

The test mounts a small tmpfs (64 KiB) on a recordings folder of its own, inside Asterisk's
mount namespace (the sandbox's ``unshare --mount`` keeps its mounts private, so a mount made
outside would not be seen by Asterisk); the service reads the same filesystem through
``/proc/<pid>/root`` of the namespace. Filled up, or remounted read-only, then a caller talks
to an agent: the call must stay up for the whole talk and end with the caller's BYE, the
recording must say failed with the storage's reason (not ``no-audio``), and ``/health``, the
wallboard's route and its ``recording.alarm`` event must carry the alarm; freeing the space
clears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callcenter.crm.recordings import RecordingStatus
from callcenter.events import EventSubscription, RecordingAlarmChanged
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in, short_queue, until
from tests.integration.test_call_control_real_asterisk import bearer
from tests.integration.test_recording_real_asterisk import finished_recording
from tests.support.agent_phone import AgentPhone, Answer, PhoneCall
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

TALK_SECONDS = 6.0


@dataclass
class SmallDisk:
    seen_by_service: Path  # the tmpfs, as the service reads it (through /proc/<pid>/root)
    in_asterisk: str  # the same folder as Asterisk names it
    pid: int  # the namespace's first process
    mountpoint: Path  # where it is mounted, in the namespace

    def nsenter(self, *command: str) -> None:
        subprocess.run(
            ["nsenter", f"--target={self.pid}", "--mount", *command],
            check=True,
            capture_output=True,
        )

    def fill(self) -> int:
        """Write until the filesystem refuses: the bytes written."""
        written = 0
        with (self.seen_by_service / "filler").open("wb", buffering=0) as out:
            try:
                while True:
                    written += out.write(b"\0" * 4096)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        return written

    def free(self) -> None:
        (self.seen_by_service / "filler").unlink()


@contextlib.contextmanager
def small_disk(asterisk: AsteriskInstance, size: str = "64k") -> Iterator[SmallDisk]:
    """A ``size`` tmpfs on a fresh folder of the instance's spool, owned by Asterisk's user,
    mounted in Asterisk's mount namespace; unmounted whatever happens."""
    pid = int(asterisk.pidfile.read_text().strip())
    name = f"faults-{secrets.token_hex(4)}"
    spool = asterisk.dir / "spool"
    folder = spool / "recordings" / name
    owner = spool.stat()
    for made in (folder.parent, folder):  # Asterisk's, as if MixMonitor had made them: a
        made.mkdir(exist_ok=True)  # root-owned spool/recordings would refuse its next file
        os.chown(made, owner.st_uid, owner.st_gid)
    disk = SmallDisk(
        Path(f"/proc/{pid}/root") / folder.relative_to("/"),
        str(asterisk.dir_in_root / "spool" / "recordings" / name),
        pid,
        folder,
    )
    disk.nsenter(
        "mount",
        "-t",
        "tmpfs",
        "-o",
        f"size={size},mode=0750,uid={owner.st_uid},gid={owner.st_gid}",
        "tmpfs",
        str(folder),
    )
    try:
        stats = os.statvfs(disk.seen_by_service)  # the tmpfs, not the folder under it
        assert stats.f_blocks * stats.f_frsize <= 64 * 1024
        yield disk
    finally:
        disk.nsenter("umount", "--lazy", str(folder))
        with contextlib.suppress(OSError):
            folder.rmdir()


async def talk_to_agent(line: Hotline) -> tuple[bool, str, PhoneCall]:
    """A caller through the IVR to agent01, who answers; the caller says a tone for
    TALK_SECONDS and hangs up. (caller's scenario passed, its output, the phone's call)"""
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=line.phone_secrets,
        behaviour=Answer(after=0.5),
        audio=tone_packets(1000),
    ) as phone:
        await log_in(line, "agent01")
        script = [
            Wait(1.0),
            Keys("1"),
            Wait(GAP),
            Keys("0"),
            Talk(TALK_SECONDS, tone_packets(440)),
            Hangup(),
        ]
        caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        result = await caller.wait()
        call = await phone.wait_ended(timeout=10)
    return result.succeeded, result.output, call


def assert_the_call_went_on(succeeded: bool, output: str, call: PhoneCall) -> None:
    assert succeeded, output  # the caller's BYE was answered 200: a normal end
    assert call.confirmed_at is not None
    assert call.bye_received_at is not None  # the agent's phone got the caller's BYE
    assert not call.hung_up_by_phone
    talked = call.bye_received_at - call.confirmed_at
    assert talked > TALK_SECONDS - 1.0, talked  # up for the whole talk, not cut
    assert call.rtp_received > 0.8 * TALK_SECONDS * 50  # the caller's audio reached the agent


async def next_alarm(
    alarms: EventSubscription, fits: Callable[[RecordingAlarmChanged], bool]
) -> RecordingAlarmChanged:
    """The first ``recording.alarm`` that ``fits`` (within 5 s)."""

    async def wait() -> RecordingAlarmChanged:
        while True:
            event = (await alarms.get()).payload
            assert isinstance(event, RecordingAlarmChanged)
            if fits(event):
                return event

    return await asyncio.wait_for(wait(), 5)


async def alarm_now(line: Hotline) -> dict[str, Any]:
    supervisor, _ = await bearer(line, "supervisor01")
    response = await line.http.get("/api/supervision/recording-alarm", headers=supervisor)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_full_recording_disk_fails_the_recording_not_the_call_and_raises_the_alarm(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    with small_disk(asterisk) as disk:
        line: Hotline = await hotline_factory(
            recordings_dir=disk.seen_by_service,
            recordings_dir_in_asterisk=disk.in_asterisk,
            recordings_check_seconds=0.3,
            recordings_min_free_bytes=8192,
        )
        alarms = line.runtime.events.subscribe(lambda e: e.topic == RecordingAlarmChanged.TOPIC)
        assert (await line.http.get("/health")).json()["recording_alarm"]["active"] is False
        # An agent (the agent's right) must not see the alarm route.
        agent, _ = await bearer(line, "agent01")
        refused = await line.http.get("/api/supervision/recording-alarm", headers=agent)
        assert refused.status_code == 403
        await short_queue(line)

        assert disk.fill() > 32 * 1024
        raised = await next_alarm(alarms, lambda e: e.active)
        assert (raised.active, raised.reason, raised.calls_affected) == (True, "disk-full", 0)

        succeeded, output, call = await talk_to_agent(line)
        assert_the_call_went_on(succeeded, output, call)
        row = await finished_recording(line)
        assert row.status is RecordingStatus.FAILED
        assert row.failure_reason == "disk-full"
        interaction = await line.ended_interaction()
        assert row.interaction_id == interaction.id

        counted = await next_alarm(alarms, lambda e: e.calls_affected > 0)
        assert (counted.active, counted.reason, counted.calls_affected) == (True, "disk-full", 1)
        assert counted.since == raised.since
        health = await line.http.get("/health")
        assert health.status_code == 200  # calls are handled: degraded, not unavailable
        body = health.json()
        assert body["status"] == "degraded"
        assert body["recording_alarm"]["active"] is True
        assert body["recording_alarm"]["reason"] == "disk-full"
        assert body["recording_alarm"]["calls_affected"] == 1
        shown = await alarm_now(line)
        assert (shown["active"], shown["reason"], shown["calls_affected"]) == (True, "disk-full", 1)

        # Room again: the next probe clears it.
        disk.free()
        cleared = await next_alarm(alarms, lambda e: not e.active)
        assert cleared.reason is None
        assert cleared.cleared_at is not None
        body = (await line.http.get("/health")).json()
        assert body["status"] == "ok", body
        assert body["recording_alarm"]["active"] is False
        alarms.close()
        await line.stop()


async def test_a_read_only_recording_folder_fails_the_recording_as_unwritable(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    with small_disk(asterisk) as disk:
        line: Hotline = await hotline_factory(
            recordings_dir=disk.seen_by_service,
            recordings_dir_in_asterisk=disk.in_asterisk,
            recordings_check_seconds=0.3,
            recordings_min_free_bytes=8192,
        )
        await short_queue(line)
        disk.nsenter("mount", "-o", "remount,ro", str(disk.mountpoint))
        alarm = line.runtime.recording_alarm
        assert alarm is not None
        await until(lambda: alarm.view.active, timeout=5)
        assert alarm.view.reason == "unwritable"

        succeeded, output, call = await talk_to_agent(line)
        assert_the_call_went_on(succeeded, output, call)
        row = await finished_recording(line)
        assert row.status is RecordingStatus.FAILED
        assert row.failure_reason == "unwritable"
        body = (await line.http.get("/health")).json()
        assert body["status"] == "degraded"
        assert body["recording_alarm"]["reason"] == "unwritable"
        assert body["recording_alarm"]["calls_affected"] == 1
        shown = await alarm_now(line)
        assert (shown["active"], shown["reason"], shown["calls_affected"]) == (
            True,
            "unwritable",
            1,
        )
        await line.stop()
