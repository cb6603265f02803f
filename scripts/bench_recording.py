"""Capacity of call recording (issue 17, "Measure"): CPU per concurrently recorded call, how
many calls can be recorded at once on this machine before audio or calls suffer, and bytes per
recorded minute, against a baseline of the same calls with recording off in the same run.

    sudo flock /tmp/asterisk-tests.lock env CALLCENTER_TEST_INSTANCE=re \\
        CALLCENTER_TEST_AMI_PORT=25538 CALLCENTER_TEST_SIP_PORT=25560 \\
        CALLCENTER_TEST_RTP_START=35000 .venv/bin/python scripts/bench_recording.py

What one call is. The sandbox Asterisk (an instance of its own, started if it is not running)
gets three contexts at run time (``dialplan add``, nothing in asterisk_conf/ changes): a
"caller" (a Local channel's first half, answering and echoing what it hears: Echo) whose
second half runs, in ``bench-rec``, ``MixMonitor(<file>.raw,bD)`` exactly as the
service starts it on a caller's channel (callcenter/pbx/recording.py), then ``Dial`` to an
agent phone; ``bench-norec`` is the same without MixMonitor. The phones are the test
suite's SIP phones (tests/support/agent_phone.py; extensions 1001-1010, 2001-2060,
1901-1902: up to 72 calls at once), registered with the sandbox, answering at once and
sending their own tone. So every call is a real bridge between a caller's channel and a
phone over SIP and RTP (PCMU), recorded as production records it, both directions on the
file's two channels.

What is measured, per level of concurrent calls, recording off then on:

* CPU of Asterisk's processes (``/proc/<pid>/stat``, user + system, all threads) over a
  steady window while every call is up; the difference per call is what recording costs;
* the audio the phones receive (their own tone, through the recorded bridge to the caller
  and back): packets lost against the 50 a second expected, and the interarrival jitter
  (RFC 3550's running estimate, taken on arrival times, packets 20 ms apart);
* calls that failed (not answered, or ended before the window's end);
* the files: bytes per recorded minute, and the service's CPU to finish one (the service's
  own code, callcenter/persistence/recording_files.py: WAV header, copy, fsync, SHA-256).

It is not part of the test suite. Results: docs/benchmarks.md and docs/recording.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from callcenter.crm.recordings import (
    BYTES_PER_SECOND,
    CHANNELS,
    SAMPLE_BYTES,
    wav_header,
)
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings
from scripts.proc_stats import CLK_TCK, machine_ticks, process_ticks
from tests.support.agent_phone import AgentPhone, Answer, PhoneCall
from tests.support.phone_secrets import sandbox_phone_secrets

RATE = 8000
PACKET = 160
PACKET_SECONDS = 0.020
EXTENSIONS = (
    [str(n) for n in range(1001, 1011)] + [str(n) for n in range(2001, 2061)] + ["1901", "1902"]
)


def mulaw(sample: int) -> int:
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone(hz: int = 1000) -> list[bytes]:
    samples = [
        mulaw(round(0.25 * 32767 * math.sin(2 * math.pi * hz * n / RATE))) for n in range(RATE)
    ]
    return [bytes(samples[i : i + PACKET]) for i in range(0, RATE, PACKET)]


TONE = tone()


class MeasuringPhone(AgentPhone):
    """The suite's phone, keeping each call's RTP arrival times (for jitter)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.arrivals: dict[int, list[float]] = {}

    def _count_rtp(self, call: PhoneCall) -> None:
        self.arrivals.setdefault(id(call), []).append(time.monotonic())
        super()._count_rtp(call)


@dataclass
class Level:
    calls: int
    recording: bool
    answered: int = 0
    failed: int = 0
    asterisk_cpu: float = 0.0  # cores (1.0 = one core busy) over the window
    phones_cpu: float = 0.0  # this process (the phones), cores
    machine_cpu: float = 0.0  # the whole machine, every process (others' work too), cores
    loss: list[float] = field(default_factory=list)  # per call, fraction of packets lost
    jitter_ms: list[float] = field(default_factory=list)  # per call
    bytes_per_minute: list[float] = field(default_factory=list)
    finish_cpu_ms_per_minute: list[float] = field(default_factory=list)


def settings_from_env() -> Settings:
    rtp = int(os.environ.get("CALLCENTER_TEST_RTP_START", "35000"))
    return load_settings(
        sandbox_instance=os.environ.get("CALLCENTER_TEST_INSTANCE", "re"),
        ami_port=int(os.environ.get("CALLCENTER_TEST_AMI_PORT", "25538")),
        sip_port=int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "25560")),
        rtp_start=rtp,
        rtp_end=rtp + 999,
        cel_import_seconds=0,
    )


def asterisk_ticks(instance: AsteriskInstance) -> int:
    return process_ticks(instance._instance_pids())


def jitter_ms(arrivals: list[float]) -> float:
    """RFC 3550's interarrival jitter, on arrival times of packets sent 20 ms apart."""
    j = 0.0
    for before, after in itertools.pairwise(arrivals):
        d = abs((after - before) - PACKET_SECONDS)
        j += (d - j) / 16
    return j * 1000


def set_up_dialplan(instance: AsteriskInstance, folder_in_asterisk: str) -> None:
    for context in ("bench-src", "bench-rec", "bench-norec"):
        instance.cli(f"dialplan remove context {context}")
    lines = [
        "s,1,Answer() into bench-src",
        "s,2,Echo() into bench-src",
        f"_X.,1,MixMonitor({folder_in_asterisk}/${{UNIQUEID}}.raw,bD) into bench-rec",
        "_X.,2,Dial(PJSIP/${EXTEN},10) into bench-rec",
        "_X.,1,Dial(PJSIP/${EXTEN},10) into bench-norec",
    ]
    for line in lines:
        instance.cli(f"dialplan add extension {line}")


async def run_level(
    instance: AsteriskInstance,
    phones: list[MeasuringPhone],
    level: Level,
    window: float,
    storage: LocalRecordingStorage,
    folder: Path,
) -> None:
    # Round robin over the phones: past one call each, a phone takes a second one (call
    # waiting, answered all the same), a third...
    targets = [phones[i % len(phones)] for i in range(level.calls)]
    used = list(dict.fromkeys(targets))
    wanted = {p.extension: targets.count(p) for p in used}
    before = {p.extension: len(p.calls) for p in used}
    context = "bench-rec" if level.recording else "bench-norec"
    loop = asyncio.get_running_loop()
    started = loop.time()
    sem = asyncio.Semaphore(8)

    async def originate(ext: str) -> None:
        async with sem:
            await asyncio.to_thread(
                instance.cli, f"channel originate Local/{ext}@{context}/n extension s@bench-src"
            )

    await asyncio.gather(*(originate(p.extension) for p in targets))

    def new_calls(p: MeasuringPhone) -> list[PhoneCall]:
        return p.calls[before[p.extension] :]

    deadline = loop.time() + 15
    while loop.time() < deadline:
        if all(sum(1 for c in new_calls(p) if c.confirmed_at) >= wanted[p.extension] for p in used):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)  # settle: every stream running
    ticks0, cpu0, t0 = asterisk_ticks(instance), time.process_time(), time.monotonic()
    busy0 = machine_ticks()
    await asyncio.sleep(window)
    ticks1, cpu1, t1 = asterisk_ticks(instance), time.process_time(), time.monotonic()
    level.machine_cpu = (machine_ticks() - busy0) / CLK_TCK / (t1 - t0)
    level.asterisk_cpu = (ticks1 - ticks0) / CLK_TCK / (t1 - t0)
    level.phones_cpu = (cpu1 - cpu0) / (t1 - t0)
    for p in used:
        up = [c for c in new_calls(p) if c.confirmed_at is not None and not c.ended]
        level.failed += max(0, wanted[p.extension] - len(up))
        for call in up[: wanted[p.extension]]:
            level.answered += 1
            arrivals = [a for a in p.arrivals.get(id(call), []) if t0 <= a <= t1]
            expected = (t1 - t0) / PACKET_SECONDS
            level.loss.append(max(0.0, 1 - len(arrivals) / expected))
            level.jitter_ms.append(jitter_ms(arrivals))
    await asyncio.to_thread(instance.cli, "channel request hangup all")
    ended_by = loop.time() + 15
    while loop.time() < ended_by and not all(c.ended for p in used for c in new_calls(p)):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    for p in used:
        p.arrivals.clear()
    if level.recording:
        await asyncio.sleep(1.0)  # MixMonitor closes its files a moment after the hang-up
        for raw in sorted(folder.glob("*.raw")):  # noqa: ASYNC240 - a benchmark, after the calls
            size = raw.stat().st_size
            data = size - size % (CHANNELS * SAMPLE_BYTES)
            seconds = data / BYTES_PER_SECOND
            if seconds < 1:
                continue
            wav = raw.name.removesuffix(".raw") + ".wav"
            cpu = time.process_time()
            await storage.finish(raw.name, wav, wav_header(data))
            await storage.digest(wav)
            spent = time.process_time() - cpu
            level.bytes_per_minute.append(size / seconds * 60)
            level.finish_cpu_ms_per_minute.append(spent * 1000 / (seconds / 60))
            (folder / wav).unlink()
    print(f"  ({loop.time() - started:.0f} s)", flush=True)


def fmt(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values) * scale:.{digits}f}/{max(values) * scale:.{digits}f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10,30,50,72", help="concurrent calls per step")
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured per step")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    settings = settings_from_env()
    instance = AsteriskInstance(settings)
    if not instance.status().running:
        instance.up()
    name = "bench"
    folder = instance.dir / "spool" / "recordings" / name
    shutil.rmtree(folder, ignore_errors=True)
    owner = (instance.dir / "spool").stat()
    for made in (folder.parent, folder):  # Asterisk's, as if MixMonitor had made them
        made.mkdir(exist_ok=True)
        os.chown(made, owner.st_uid, owner.st_gid)
    storage = LocalRecordingStorage(
        folder, str(instance.dir_in_root / "spool" / "recordings" / name)
    )
    set_up_dialplan(instance, storage.root_in_asterisk)
    password = await sandbox_phone_secrets(instance, settings)  # each phone's own
    phones = [
        MeasuringPhone(
            settings.sip_port,
            ext,
            password=password,
            behaviour=Answer(after=0.0),
            audio=lambda n: TONE[n % len(TONE)],
        )
        for ext in EXTENSIONS[: min(len(EXTENSIONS), max(levels))]
    ]
    results: list[Level] = []
    async with contextlib.AsyncExitStack() as stack:
        for phone in phones:
            await stack.enter_async_context(phone)
        print(f"{len(phones)} phones registered; {os.cpu_count()} cores", flush=True)
        for n in levels:
            for recording in (False, True):
                level = Level(n, recording)
                print(f"{n} calls, recording {'on' if recording else 'off'}", flush=True)
                await run_level(instance, phones, level, args.window, storage, folder)
                results.append(level)
                await asyncio.sleep(1.0)
    for context in ("bench-src", "bench-rec", "bench-norec"):
        instance.cli(f"dialplan remove context {context}")
    shutil.rmtree(folder, ignore_errors=True)

    print()
    print(
        "| calls | recording | answered | failed | Asterisk CPU (cores) | per call (ms CPU/s) "
        "| phones' CPU | machine CPU | loss % median/max | jitter ms median/max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.calls} | {'on' if r.recording else 'off'} | {r.answered} | {r.failed} "
            f"| {r.asterisk_cpu:.3f} | {r.asterisk_cpu / r.calls * 1000:.2f} "
            f"| {r.phones_cpu:.2f} | {r.machine_cpu:.2f} "
            f"| {fmt(r.loss, 100)} | {fmt(r.jitter_ms)} |"
        )
    print()
    for off, on in zip(results[::2], results[1::2], strict=True):
        extra = (on.asterisk_cpu - off.asterisk_cpu) / on.calls * 1000
        print(f"{on.calls} calls: recording adds {extra:.2f} ms of Asterisk CPU per call-second")
    sizes = [b for r in results for b in r.bytes_per_minute]
    finish = [c for r in results for c in r.finish_cpu_ms_per_minute]
    if sizes:
        print(
            f"bytes per recorded minute: median {statistics.median(sizes):,.0f} "
            f"({len(sizes)} files); service CPU to finish and hash: median "
            f"{statistics.median(finish):.1f} ms per recorded minute"
        )


if __name__ == "__main__":
    asyncio.run(main())
