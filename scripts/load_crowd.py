"""A crowd of callers for the load benchmark: one sipp process that keeps ``limit`` calls up
at once, each playing the same script (tests/support/dtmf.py), from numbers read in turn
from an injection file, and writes its counters to a CSV every second.

One sipp process carries many calls (``-l``, ``-r``) instead of one process per call as the
feature tests do: at hundreds of calls, hundreds of sipp processes would cost the machine
more than the calls themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.dtmf import Step, answered_steps, plan_script
from tests.support.sipp import caller_scenario, free_udp_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class CrowdCounters:
    """sipp's cumulative counters (its ``-trace_stat`` file's ``(C)`` columns)."""

    started: int = 0
    succeeded: int = 0
    failed: int = 0
    retransmissions: int = 0
    current: int = 0

    def __sub__(self, other: CrowdCounters) -> CrowdCounters:
        return CrowdCounters(
            self.started - other.started,
            self.succeeded - other.succeeded,
            self.failed - other.failed,
            self.retransmissions - other.retransmissions,
            self.current,
        )

    def __add__(self, other: CrowdCounters) -> CrowdCounters:
        return CrowdCounters(
            self.started + other.started,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.retransmissions + other.retransmissions,
            self.current + other.current,
        )


def read_counters(stat_file: Path) -> CrowdCounters:
    """The last complete line of sipp's statistics CSV (``;``-separated, a header first)."""
    try:
        lines = stat_file.read_text(errors="replace").splitlines()
    except OSError:
        return CrowdCounters()
    rows = [row for row in csv.reader(lines, delimiter=";") if row]
    if len(rows) < 2:
        return CrowdCounters()
    header, last = rows[0], rows[-1]
    if len(last) < len(header) - 1:
        last = rows[-2] if len(rows) > 2 else last  # the line being written
    value = dict(zip(header, last, strict=False))

    def number(name: str) -> int:
        with contextlib.suppress(KeyError, ValueError):
            return int(value[name])
        return 0

    return CrowdCounters(
        number("OutgoingCall(C)"),
        number("SuccessfulCall(C)"),
        number("FailedCall(C)"),
        number("Retransmissions(C)"),
        number("CurrentCall"),
    )


class Crowd:
    """``limit`` callers at once to ``called``, each a new call as one ends (at most ``rate``
    new calls a second), until :meth:`stop`."""

    def __init__(
        self,
        sip_port: int,
        called: str,
        script: Sequence[Step],
        numbers: Sequence[str],
        *,
        limit: int,
        rate: float,
        hold: float,
        name: str,
    ) -> None:
        self.sip_port, self.called, self.limit, self.rate = sip_port, called, limit, rate
        self.name = name
        self._dir = tempfile.TemporaryDirectory(prefix=f"sipp-{name}-")
        self.folder = Path(self._dir.name)
        plan = plan_script(script, hold=hold)
        capture = self.folder / "stream.pcap"
        capture.write_bytes(plan.stream.to_capture().to_bytes())
        # [field0]: sipp puts each call's number from the injection file in From and Contact.
        scenario = caller_scenario(
            answered_steps(plan, capture), caller="[field0]", caller_name="Load Caller"
        )
        (self.folder / "caller.xml").write_text(scenario)
        (self.folder / "callers.csv").write_text(
            "SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers)
        )
        self.longest = plan.longest
        self.stat_file = self.folder / "stats.csv"
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            "sipp",
            f"{HOST}:{self.sip_port}",
            "-sf", str(self.folder / "caller.xml"),
            "-s", self.called,
            "-inf", str(self.folder / "callers.csv"),
            "-i", HOST,
            "-p", str(free_udp_port(HOST)),
            # The media address: Asterisk's RTP is bound to loopback (see TrunkCaller).
            "-mi", HOST,
            "-mp", str(free_udp_port(HOST)),
            "-l", str(self.limit),
            "-r", f"{self.rate:.3f}",
            "-rp", "1000",
            "-m", "1000000",
            "-nostdin",
            "-trace_stat", "-stf", str(self.stat_file), "-fd", "1",
            "-trace_err", "-error_file", str(self.folder / "errors.log"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.folder,
        )  # fmt: skip

    def counters(self) -> CrowdCounters:
        return read_counters(self.stat_file)

    def errors(self, limit: int = 2000) -> str:
        path = self.folder / "errors.log"
        return path.read_text(errors="replace")[-limit:] if path.exists() else ""

    async def stop(self, timeout: float) -> CrowdCounters:
        """No new calls (SIGUSR1 is sipp's soft exit); the calls up end as their scripts say."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGUSR1)
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        return self.counters()

    def cleanup(self) -> None:
        self._dir.cleanup()
