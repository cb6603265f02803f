"""What a fault did: Asterisk's record against the database (``callcenter reconcile``), the
callers' longest silence (from the RTP Asterisk sent them), and one row of figures."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.pbx.cel import hotline_calls, read_cel_file
from scripts.faults.floor import Caller
from scripts.faults.lab import CALLCENTER, INSTANCE, Lab, today_in_center


@dataclass
class Reconciled:
    calls: int = 0  # hotline calls Asterisk recorded in the scenario's window
    counts: dict[str, int] = field(default_factory=dict)  # problem -> findings in the window
    lines: list[str] = field(default_factory=list)
    exit_code: int = 0


def _call_time(call_id: str) -> float | None:
    """An Asterisk uniqueid is ``[<system name>-]<epoch seconds>.<counter>`` (the sandbox sets
    ``systemname`` to the instance's name): when the channel was made."""
    try:
        return float(call_id.rsplit("-", 1)[-1].split(".", 1)[0])
    except ValueError:
        return None


def reconcile(lab: Lab, since: float, until: float, *, ignore: Iterable[str] = ()) -> Reconciled:
    """``callcenter reconcile --day <today>`` on the current database and this instance's
    record; only findings for calls that started in [since, until] are counted."""
    skip = set(ignore)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(
        {
            "CALLCENTER_DATABASE_URL": lab.db_url,
            "CALLCENTER_SANDBOX_INSTANCE": INSTANCE,
        }
    )
    day = today_in_center().isoformat()
    done = subprocess.run(
        [str(CALLCENTER), "reconcile", "--day", day, "--cel-file", str(lab.cel_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = Reconciled(exit_code=done.returncode)
    for problem in ("missing", "duplicated", "ended_wrong", "not_in_asterisk"):
        result.counts[problem] = 0
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or parts[1] in skip:
            continue
        at = _call_time(parts[1])
        if at is not None and since - 1 <= at <= until:
            result.counts[parts[0]] = result.counts.get(parts[0], 0) + 1
            result.lines.append(line)
    if done.returncode not in (0, 1):
        result.lines.append(f"reconcile failed ({done.returncode}): {done.stderr[-500:]}")
    began = dt.datetime.fromtimestamp(since - 1, dt.UTC)
    ended = dt.datetime.fromtimestamp(until, dt.UTC)
    calls = hotline_calls(read_cel_file(lab.cel_file))
    result.calls = sum(1 for c in calls if began <= c.started_at <= ended)
    return result


# --- dead air --------------------------------------------------------------------------------


def read_sniff(path: Path, since: float) -> dict[int, list[float]]:
    """Packet times per destination port, from ``since`` on."""
    by_port: dict[int, list[float]] = defaultdict(list)
    if not path.exists():
        return by_port
    with path.open() as lines:
        for line in lines:
            words = line.split()
            if len(words) != 3:
                continue
            at = float(words[0])
            if at >= since:
                by_port[int(words[2])].append(at)
    return by_port


def longest_silence(times: list[float], start: float, end: float) -> float:
    """The longest stretch of [start, end] without a packet."""
    first = bisect.bisect_left(times, start)
    last = bisect.bisect_right(times, end)
    points = [start, *times[first:last], end]
    return max((b - a for a, b in itertools.pairwise(points)), default=end - start)


@dataclass
class Silence:
    seconds: float
    role: str


def dead_air(path: Path, callers: list[Caller], since: float) -> dict[str, Silence]:
    """Per caller role, the longest time a caller heard nothing between the answer and the
    end of their call (measured on the RTP Asterisk sent to the caller's media port)."""
    packets = read_sniff(path, since)
    worst: dict[str, Silence] = {}
    for caller in callers:
        log = caller.result.log if caller.result is not None else None
        if log is None or log.answered_at is None:
            continue
        end = log.ended_at or (caller.started + caller.phone.longest)
        seconds = longest_silence(packets.get(caller.media_port, []), log.answered_at, end)
        if caller.role not in worst or seconds > worst[caller.role].seconds:
            worst[caller.role] = Silence(seconds, caller.role)
    return worst


# --- the row ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One fault's figures."""

    name: str
    title: str
    calls: int = 0
    live_after: int = -1  # channels still up in Asterisk once things settled
    open_records: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    stuck: list[str] = field(default_factory=list)
    wrong_records: list[str] = field(default_factory=list)  # unlike what the phones saw
    dead_air: dict[str, Silence] = field(default_factory=dict)
    healthy_after: float | None = None  # s from the fault's end to /health 200
    answered_after: float | None = None  # s from the fault's end to a new call answered
    notes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    failed: str | None = None

    @property
    def worst_silence(self) -> str:
        if not self.dead_air:
            return "-"
        worst = max(self.dead_air.values(), key=lambda s: s.seconds)
        return f"{worst.seconds:.1f} ({worst.role})"

    def row(self) -> list[str]:
        def secs(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        p = self.problems
        return [
            self.name,
            str(self.calls),
            str(self.live_after),
            str(p.get("missing", 0)),
            str(p.get("duplicated", 0)),
            str(p.get("ended_wrong", 0)),
            str(len(self.wrong_records)),
            ", ".join(self.stuck) or "0",
            self.worst_silence,
            secs(self.healthy_after),
            secs(self.answered_after),
        ]


HEADER = [
    "fault",
    "calls",
    "live",
    "lost",
    "dup",
    "ended wrong",
    "records wrong",
    "agents stuck",
    "dead air s (who)",
    "health 200 s",
    "answered s",
]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(lines)
