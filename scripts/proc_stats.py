"""What the benchmarks read from /proc: CPU ticks of processes and of the machine, and a
process's resident memory sampled finely in a thread of its own.

Shared by scripts/bench_recording.py and scripts/bench_load.py. Linux only.
"""

from __future__ import annotations

import contextlib
import os
import threading
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


@dataclass
class RssSampler:
    """Samples ``pid``'s RSS every ``interval`` seconds in a thread: an asyncio task would be
    late exactly when the machine is busiest, which is when the spikes happen."""

    pid: int
    interval: float = 0.020
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, bytes)
    marks: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, phase begun)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.samples.append((time.monotonic(), rss_bytes(self.pid)))
            except OSError:
                return  # the process ended

    def between(self, start: float, end: float) -> list[int]:
        return [rss for at, rss in list(self.samples) if start <= at <= end]

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
