"""What the benchmarks read from /proc: CPU ticks of processes and of the machine, and a
process's resident memory sampled finely in a thread of its own.

Shared by scripts/bench_recording.py and scripts/bench_load.py. Linux only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def process_ticks(pids: Iterable[int]) -> int:
    """User + system ticks of ``pids`` (every thread; a process gone meanwhile counts 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total


def machine_ticks() -> int:
    """Busy ticks of the whole machine (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_bytes(pid: int) -> int:
    """Resident set size now (/proc/<pid>/statm's second field, in pages)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES


# The sampler's own process: a thread of the benchmark would wait for the GIL behind the
# agents' phones (a run of 150 saw gaps of seconds); a process of its own only waits for a
# core. It writes "<CLOCK_MONOTONIC seconds> <RSS bytes>" lines; the clock is the machine's,
# the same as time.monotonic() here.
_SAMPLER = """
import os, sys, time
pid, interval, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
page = os.sysconf("SC_PAGE_SIZE")
fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
with open(out, "w", buffering=1) as f:
    while True:
        try:
            rss = int(os.pread(fd, 200, 0).split()[1]) * page
        except (OSError, IndexError):
            break
        f.write(f"{time.monotonic():.4f} {rss}\\n")
        time.sleep(interval)
"""


@dataclass
class RssSampler:
    """Samples ``pid``'s RSS every ``interval`` seconds from a process of its own (see
    _SAMPLER), into ``file``."""

    pid: int
    file: Path
    interval: float = 0.020
    marks: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, phase begun)
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SAMPLER, str(self.pid), str(self.interval), str(self.file)]
        )

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait()

    @property
    def samples(self) -> list[tuple[float, int]]:
        """(monotonic seconds, bytes), in order."""
        out = []
        with contextlib.suppress(OSError):
            for line in self.file.read_text().splitlines():
                words = line.split()
                if len(words) == 2:
                    out.append((float(words[0]), int(words[1])))
        return out

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in self.samples if start <= at <= end]

    def mark(self, phase: str) -> None:
        """A phase begins now (it lasts until the next mark)."""
        self.marks.append((time.monotonic(), phase))

    def phases(self) -> list[PhaseMemory]:
        ends = [at for at, _ in self.marks[1:]] + [time.monotonic()]
        out = []
        for (start, name), end in zip(self.marks, ends, strict=True):
            rss = self.between(start, end)
            if rss:
                out.append(PhaseMemory(name, end - start, rss[0], max(rss), rss[-1]))
        return out


@dataclass(frozen=True)
class PhaseMemory:
    phase: str
    seconds: float
    start: int  # bytes
    peak: int
    end: int
