"""The load benchmark's figures per level, the knee found in them, and the chart (an SVG
written here: no plotting library in the project). Pure: scripts/bench_load.py measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

KEY_TO_PROMPT_GOAL_MS = 150.0  # issue 20: key-to-prompt p99 within 150 ms
# Saturated: the service's process at 90 % of one core (its event loop is one thread), or
# the service and Asterisk together at 90 % of the machine's cores. The machine's own figure
# is reported but not judged: the callers, the phones and other work share the cores.
CPU_SATURATED = 0.90
SUPERLINEAR = 2.0  # latency p99 growing this many times faster than the calls,
GROWTH_FLOOR_MS = 75.0  # judged once it is past half the goal (below, noise dominates)


@dataclass
class LevelFigures:
    """One step of concurrency, measured over its steady window."""

    target: int  # callers sipp keeps up at once
    seconds: float  # the window
    concurrent: float  # callers' channels up, mean over the window (AMI)
    concurrent_max: int
    with_agent: float  # of them, dialled to an agent (DialBegin, no Hangup yet), mean
    calls_per_second: float  # calls started by sipp in the window
    completed: int
    failed: int
    retransmissions: int
    service_cpu: float  # cores (1.0 = one core busy)
    asterisk_cpu: float
    machine_cpu: float  # every process on the machine (the callers and phones too)
    service_rss_mb: float  # at the window's start
    service_rss_peak_mb: float  # highest 20-ms sample in the window
    ami_events_per_second: float
    key_to_prompt_ms: list[float] = field(default_factory=list)
    key_to_dial_ms: list[float] = field(default_factory=list)
    key_to_prompt_by_key: dict[str, list[float]] = field(default_factory=dict)
    loadavg: str = ""

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("key_to_prompt_ms", "key_to_dial_ms"):
            values = data.pop(name)
            data[name.removesuffix("_ms")] = {
                "n": len(values),
                "p50_ms": percentile(values, 50),
                "p99_ms": percentile(values, 99),
                "max_ms": max(values, default=None),
            }
        data["key_to_prompt_by_key"] = {
            key: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
            for key, v in data.pop("key_to_prompt_by_key").items()
        }
        return data


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None with no samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@dataclass(frozen=True)
class Knee:
    level: int | None  # the first level past the knee; None: none up to the last level
    reason: str


def find_knee(levels: Sequence[LevelFigures], cores: int) -> Knee:
    """The first level where the box stops carrying its calls well: a failed call, the
    key-to-prompt p99 over the goal, the service's or the PBX's CPU saturated, or the p99
    growing much faster than the calls (against the first level)."""
    first = levels[0] if levels else None
    for level in levels:
        p99 = percentile(level.key_to_prompt_ms, 99)
        if level.failed:
            return Knee(level.target, f"{level.failed} failed calls at {level.target}")
        if p99 is not None and p99 > KEY_TO_PROMPT_GOAL_MS:
            return Knee(
                level.target,
                f"key-to-prompt p99 {p99:.0f} ms > {KEY_TO_PROMPT_GOAL_MS:.0f} ms "
                f"at {level.target}",
            )
        if level.service_cpu >= CPU_SATURATED:
            return Knee(
                level.target,
                f"the service's CPU {level.service_cpu:.2f} core at {level.target}: its event "
                "loop runs on one core",
            )
        both = level.service_cpu + level.asterisk_cpu
        if both >= CPU_SATURATED * cores:
            return Knee(
                level.target,
                f"service + Asterisk CPU {both:.2f} of {cores} cores at {level.target}",
            )
        base = percentile(first.key_to_prompt_ms, 99) if first else None
        if first is not None and level is not first and p99 and base and p99 > GROWTH_FLOOR_MS:
            growth = (p99 / base) / (level.target / first.target)
            if growth > SUPERLINEAR:
                return Knee(
                    level.target,
                    f"key-to-prompt p99 grew {p99 / base:.1f}x for "
                    f"{level.target / first.target:.1f}x the calls at {level.target}",
                )
    last = levels[-1].target if levels else 0
    return Knee(None, f"no knee up to {last} concurrent calls")


def table(levels: Sequence[LevelFigures]) -> str:
    """The per-level table, as Markdown (docs/benchmarks.md takes it as printed)."""
    head = (
        "| callers | up (mean/max) | with agent | calls/s | failed | retrans | service CPU "
        "| Asterisk CPU | machine CPU | service RSS MB (start/peak) | AMI events/s "
        "| key->prompt p50/p99 ms | key->Dial p50/p99 ms |"
    )
    rows = [head, "|" + "---|" * 13]
    for v in levels:
        rows.append(
            f"| {v.target} | {v.concurrent:.0f}/{v.concurrent_max} | {v.with_agent:.0f} "
            f"| {v.calls_per_second:.1f} | {v.failed} | {v.retransmissions} "
            f"| {v.service_cpu:.2f} | {v.asterisk_cpu:.2f} | {v.machine_cpu:.2f} "
            f"| {v.service_rss_mb:.0f}/{v.service_rss_peak_mb:.0f} "
            f"| {v.ami_events_per_second:.0f} | {_pair(v.key_to_prompt_ms)} "
            f"| {_pair(v.key_to_dial_ms)} |"
        )
    return "\n".join(rows)


def _pair(values: Sequence[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return "-" if p50 is None or p99 is None else f"{p50:.0f}/{p99:.0f}"


# --- the chart -------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 760, 400, 60
MS_LOW = 10.0  # the latency axis is logarithmic, from 10 ms
MS_TICKS = (10, 30, 100, 300, 1000, 3000, 10000, 30000)


@dataclass(frozen=True)
class ChartPoint:
    target: int
    prompt_p99: float | None
    dial_p99: float | None
    service_cpu: float
    asterisk_cpu: float
    machine_cpu: float


def chart_points(levels: Sequence[LevelFigures]) -> list[ChartPoint]:
    return [
        ChartPoint(
            v.target,
            percentile(v.key_to_prompt_ms, 99),
            percentile(v.key_to_dial_ms, 99),
            v.service_cpu,
            v.asterisk_cpu,
            v.machine_cpu,
        )
        for v in levels
    ]


def chart_points_of_summary(summary: dict[str, Any]) -> list[ChartPoint]:
    """The points again from a run's JSON (``LevelFigures.summary`` per level)."""
    return [
        ChartPoint(
            v["target"],
            v["key_to_prompt"]["p99_ms"],
            v["key_to_dial"]["p99_ms"],
            v["service_cpu"],
            v["asterisk_cpu"],
            v["machine_cpu"],
        )
        for v in summary["levels"]
    ]


def chart_svg(points: Sequence[ChartPoint], knee: Knee, cores: int, title: str) -> str:
    """Key-to-prompt and key-to-Dial p99 (left axis, ms, logarithmic) and the service's,
    Asterisk's and the machine's CPU (right axis, cores) against the callers up at once;
    the goal and the knee marked."""
    if not points:
        return ""
    xs = [p.target for p in points]
    x_max = max(xs) * 1.05
    series_ms = {
        "key->prompt p99": ([p.prompt_p99 for p in points], "#d62728"),
        "key->Dial p99": ([p.dial_p99 for p in points], "#ff7f0e"),
    }
    highest = max([KEY_TO_PROMPT_GOAL_MS * 2] + [y or 0 for s, _ in series_ms.values() for y in s])
    ms_top = next(t for t in (*MS_TICKS, highest) if t >= highest)
    series_cpu = {
        "service CPU": ([p.service_cpu for p in points], "#1f77b4"),
        "Asterisk CPU": ([p.asterisk_cpu for p in points], "#2ca02c"),
        "machine CPU": ([p.machine_cpu for p in points], "#7f7f7f"),
    }

    def px(x: float) -> float:
        return PAD + x / x_max * (WIDTH - 2 * PAD)

    def py_ms(y: float) -> float:
        share = math.log(max(y, MS_LOW) / MS_LOW) / math.log(ms_top / MS_LOW)
        return HEIGHT - PAD - share * (HEIGHT - 2 * PAD)

    def py_cpu(y: float) -> float:
        return HEIGHT - PAD - y / cores * (HEIGHT - 2 * PAD)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
        *_axes(xs, px, py_ms, py_cpu, ms_top, cores),
    ]
    goal = py_ms(KEY_TO_PROMPT_GOAL_MS)
    out.append(
        f'<line x1="{PAD}" y1="{goal:.1f}" x2="{WIDTH - PAD}" y2="{goal:.1f}" '
        'stroke="#d62728" stroke-dasharray="2,4"/>'
        f'<text x="{PAD + 4}" y="{goal - 4:.1f}" fill="#d62728">key->prompt goal</text>'
    )
    for ys, colour in series_ms.values():
        out += _line(xs, ys, px, py_ms, colour, dashed=False)
    for cpu, colour in series_cpu.values():
        out += _line(xs, cpu, px, py_cpu, colour, dashed=True)
    if knee.level is not None:
        kx = px(knee.level)
        out.append(
            f'<line x1="{kx:.1f}" y1="{PAD}" x2="{kx:.1f}" y2="{HEIGHT - PAD}" '
            'stroke="black" stroke-width="2"/>'
            f'<text x="{kx + 4:.1f}" y="{HEIGHT - PAD - 6}">knee</text>'
        )
    out += _legend([*series_ms.items()], [*series_cpu.items()])
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(ms: list[Any], cpu: list[Any]) -> list[str]:
    names = [(n, c, False) for n, (_, c) in ms] + [(n, c, True) for n, (_, c) in cpu]
    height = 16 * len(names) + 8
    out = [
        f'<rect x="{PAD + 4}" y="{PAD}" width="150" height="{height}" fill="white" '
        'fill-opacity="0.85" stroke="#cccccc"/>'
    ]
    for i, (name, colour, dashed) in enumerate(names):
        x, y = PAD + 10, PAD + 10 + i * 16
        dash = ' stroke-dasharray="6,3"' if dashed else ""
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 30}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{x + 36}" y="{y + 4}">{name}</text>'
        )
    return out


def _axes(
    xs: Sequence[int], px: Any, py_ms: Any, py_cpu: Any, ms_top: float, cores: int
) -> list[str]:
    base = HEIGHT - PAD
    out = [
        f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="black"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{base}" stroke="black"/>',
        f'<line x1="{WIDTH - PAD}" y1="{PAD}" x2="{WIDTH - PAD}" y2="{base}" stroke="black"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 15}" text-anchor="middle">callers up at once</text>',
        f'<text x="15" y="{HEIGHT / 2}" transform="rotate(-90 15 {HEIGHT / 2})" '
        'text-anchor="middle">p99 latency (ms, log scale)</text>',
        f'<text x="{WIDTH - 15}" y="{HEIGHT / 2}" transform="rotate(90 {WIDTH - 15} '
        f'{HEIGHT / 2})" text-anchor="middle">CPU (cores, dashed)</text>',
    ]
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{base + 16}" text-anchor="middle">{x}</text>')
    for ms in (t for t in MS_TICKS if t <= ms_top):
        y = py_ms(ms) + 4
        out.append(f'<text x="{PAD - 6}" y="{y:.1f}" text-anchor="end">{ms}</text>')
    for i in range(5):
        cpu = cores * i / 4
        out.append(f'<text x="{WIDTH - PAD + 6}" y="{py_cpu(cpu) + 4:.1f}">{cpu:.1f}</text>')
    return out


def _line(
    xs: Sequence[int], ys: Sequence[float | None], px: Any, py: Any, colour: str, *, dashed: bool
) -> list[str]:
    points = [(px(x), py(y)) for x, y in zip(xs, ys, strict=True) if y is not None]
    if not points:
        return []
    dash = ' stroke-dasharray="6,3"' if dashed else ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    return [
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>',
        *dots,
    ]


def main() -> None:
    """Draw the chart again from a run's JSON: ``python scripts/load_report.py run.json``
    writes ``run.svg`` beside it."""
    import json
    import sys
    from pathlib import Path

    source = Path(sys.argv[1])
    summary = json.loads(source.read_text())
    knee = Knee(summary["knee"]["level"], summary["knee"]["reason"])
    cores = summary["cores"]
    title = f"Load on {cores} cores: p99 latency and CPU against callers up at once"
    svg = chart_svg(chart_points_of_summary(summary), knee, cores, title)
    source.with_suffix(".svg").write_text(svg)


if __name__ == "__main__":
    main()
