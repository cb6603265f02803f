"""Compare the screen-pop and routing benchmarks of the working tree with a baseline revision.

Issue 13 ("Measure"): the benchmarks run against the change and against the commit before it
in the same run; no figure may be worse by more than 10%. This script does that:

* the baseline revision is checked out in a temporary ``git worktree`` (removed at the end);
* both sides run with this checkout's ``.venv`` (same interpreter and libraries), each with its
  own scripts, tests and package: the benchmark runs from its side's root with ``PYTHONPATH``
  set to that root, through a shim that imports ``callcenter`` first and refuses to go on
  unless it came from that root (the venv's editable install points at this checkout; its
  finder sits after ``PYTHONPATH`` on the import path, so the baseline's package wins);
* rounds interleave the two sides, and the order flips every round (A B, B A, A B ...), so
  that slow drift of the machine and the cost of going first fall on both sides alike;
* every figure is the median over the rounds; the table gives both medians, their ratio
  (change / baseline), the spread of the rounds ((max - min) / median of either side, the
  noise to read a ratio against), and flags a figure worse by more than the threshold, saying
  so when the difference is smaller than that spread. Reference figures (the machine's floor
  in bench_pop, the naive router in bench_routing) show the noise and are never flagged.

The benchmarks:

* ``pop``: scripts/bench_pop.py, screen-pop latency through the hub to websocket clients;
* ``routing``: scripts/bench_routing.py, the ACD's routing decisions (pure Python);
* ``ring``: scripts/bench_pop_ring.py, the pop against the agent's INVITE on the real
  sandboxed Asterisk (instance ``bench``); needs root and a finished scripts/setup.

bench_pop and bench_pop_ring run smaller than their own defaults (bench_routing at its own) so
that three rounds of all three stay near ten minutes (eleven measured on two CPUs with test
suites running beside them; that load also swamps a 10% difference, so run it on a quiet
machine);
``--pop-args``, ``--routing-args`` and ``--ring-args`` replace those arguments. Each run's
output is kept in var/bench/compare-<time>/.

Usage:
    scripts/bench_compare REV [--rounds 3] [--bench pop,routing,ring] [--threshold 0.10]
        [--pop-args "--pops 500"] [--routing-args "..."] [--ring-args "..."] [--against REV2]
        [--keep-worktree]

Without REV, the merge-base of HEAD and its upstream branch. ``--against REV2`` measures a
second revision (in a second worktree) instead of the working tree, e.g. once the change is
committed and others keep editing the checkout. Exit status: 0 when no figure is
worse by more than the threshold, 1 when one is, 2 when a run failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
RUN_TIMEOUT = 1800  # seconds for one benchmark run; the defaults take under two minutes
STOP_GRACE = 30  # seconds for a stopped benchmark to bring its Asterisk down

# Runs a benchmark script as ``python script.py args`` would, after checking that the package
# comes from the side's own tree (argv: root, script, args...). The script's own
# ``sys.path.insert(0, <its root>)`` then finds the same package already imported.
SHIM = """\
import runpy, sys
root = sys.argv[1]
import callcenter
if not callcenter.__file__.startswith(root + "/"):
    sys.exit(f"bench_compare: callcenter came from {callcenter.__file__}, not from {root}")
print(f"bench_compare: callcenter from {callcenter.__file__}", file=sys.stderr, flush=True)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    higher_is_better: bool = False
    reference: bool = False  # shows the machine's noise; never flagged


Figures = dict[Figure, float]


@dataclass(frozen=True)
class Bench:
    key: str
    script: str
    default_args: tuple[str, ...]
    parse: Callable[[str], Figures]
    needs_root: bool = False


@dataclass(frozen=True)
class Side:
    label: str  # "baseline" or "change"
    root: Path
    what: str  # the revision, for the reader


@dataclass
class Samples:
    values: dict[Figure, dict[str, list[float]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, side: str, figures: Figures) -> None:
        for figure, value in figures.items():
            self.values.setdefault(figure, {}).setdefault(side, []).append(value)


# --- parsing each benchmark's printed table -------------------------------------------------

_NUM = r"-?[\d.]+"
_POP_ROW = re.compile(
    rf"^(?P<path>[a-z][a-z ]*?)\s+(?P<clients>\d+)\s+\d+\s+(?P<p50>{_NUM})\s+(?P<p90>{_NUM})"
    rf"\s+(?P<p99>{_NUM})\s+(?P<max>{_NUM})\s*$",
    re.MULTILINE,
)
_ROUTING_ROW = re.compile(
    rf"^(?P<op>\w+)\s+[\d,]+\s+\S+\s+(?P<p50>{_NUM})\s+(?P<p99>{_NUM})\s+(?P<max>{_NUM})"
    rf"\s+[\d,]+\s+(?P<naive_p50>{_NUM})\s+(?P<naive_p99>{_NUM})\s+{_NUM}x\s*$",
    re.MULTILINE,
)
_RING_FIRST = re.compile(rf"^pop before the INVITE: \d+/\d+ = (?P<share>{_NUM}) %", re.MULTILINE)
_RING_MARGIN = re.compile(
    rf"^margin \(INVITE - pop\) ms: min (?P<min>{_NUM})\s+p1 (?P<p1>{_NUM})"
    rf"\s+p50 (?P<p50>{_NUM})\s+p99 (?P<p99>{_NUM})",
    re.MULTILINE,
)


def parse_pop(out: str) -> Figures:
    figures: Figures = {}
    for row in _POP_ROW.finditer(out):
        floor = row["path"] == "baseline"  # the bare-websockets floor, not the baseline revision
        path = "floor (bare websockets)" if floor else row["path"]
        for stat in ("p50", "p90", "p99", "max"):
            name = f"pop: {path}, {row['clients']} clients, {stat}"
            figures[Figure(name, "ms", reference=floor)] = float(row[stat])
    return figures


def parse_routing(out: str) -> Figures:
    figures: Figures = {}
    for row in _ROUTING_ROW.finditer(out):
        for stat in ("p50", "p99", "max"):
            figures[Figure(f"routing: {row['op']} {stat}", "µs")] = float(row[stat])
        for stat in ("p50", "p99"):
            name = f"routing: naive {row['op']} {stat}"
            figures[Figure(name, "µs", reference=True)] = float(row[f"naive_{stat}"])
    return figures


def parse_ring(out: str) -> Figures:
    figures: Figures = {}
    if first := _RING_FIRST.search(out):
        name = "ring: pops before the INVITE"
        figures[Figure(name, "%", higher_is_better=True)] = float(first["share"])
    if margin := _RING_MARGIN.search(out):
        for stat in ("min", "p1", "p50", "p99"):
            name = f"ring: margin INVITE - pop, {stat}"
            figures[Figure(name, "ms", higher_is_better=True)] = float(margin[stat])
    return figures


BENCHES = (
    Bench("pop", "bench_pop.py", ("--pops", "500"), parse_pop),
    Bench("routing", "bench_routing.py", (), parse_routing),  # its own sizes: 12 s a run
    Bench(
        "ring",
        "bench_pop_ring.py",
        ("--calls", "40", "--agents", "10", "--clients", "2000"),
        parse_ring,
        needs_root=True,
    ),
)


# --- running --------------------------------------------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def baseline_revision(given: str | None) -> str:
    if given is None:
        try:
            given = git("merge-base", "HEAD", "@{upstream}")
        except subprocess.CalledProcessError:
            raise SystemExit(
                "bench_compare: no upstream branch to take a merge-base from; "
                "give the baseline revision, e.g. scripts/bench_compare 4cfb4e0"
            ) from None
    return resolve(given)


def resolve(revision: str) -> str:
    try:
        return git("rev-parse", "--verify", f"{revision}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(
            f"bench_compare: {revision!r} is not a revision of this repository"
        ) from None


@contextlib.contextmanager
def worktree(revision: str, keep: bool) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    path = parent / revision[:12]
    git("worktree", "add", "--detach", str(path), revision)
    try:
        yield path
    finally:
        if keep:
            print(f"bench_compare: the baseline worktree stays at {path}", file=sys.stderr)
        else:
            # --force: the runs leave ignored files (var/bench, __pycache__) behind.
            git("worktree", "remove", "--force", str(path))
            shutil.rmtree(parent, ignore_errors=True)


def imported_from(side: Side) -> str:
    """Where this side's interpreter finds ``callcenter``: shown once, before the runs."""
    done = subprocess.run(
        [str(PYTHON), "-c", "import callcenter; print(callcenter.__file__)"],
        cwd=side.root,
        env={**os.environ, "PYTHONPATH": str(side.root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise SystemExit(f"bench_compare: {side.label} does not import: {lines[-1:]}")
    return done.stdout.strip()


def run_script(command: list[str], root: Path) -> tuple[str, str, int]:
    """Runs one benchmark; stdout, stderr, exit status. A benchmark stopped early (timeout, or
    Ctrl-C, which its process group gets too) is given time to stop its sandboxed Asterisk."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    pipe = subprocess.PIPE
    with subprocess.Popen(command, cwd=root, env=env, stdout=pipe, stderr=pipe, text=True) as run:
        try:
            out, err = run.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGINT)
            try:
                out, err = run.communicate(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                run.kill()
                out, err = run.communicate()
            return out, f"{err}\nbench_compare: stopped after {RUN_TIMEOUT} s", -1
        except KeyboardInterrupt:
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.wait(STOP_GRACE)
            raise
    return out, err, run.returncode


def run_once(side: Side, bench: Bench, args: list[str], log: Path) -> Figures | None:
    script = side.root / "scripts" / bench.script
    if not script.exists():
        print(f"  {bench.key}: {side.label} has no scripts/{bench.script}", file=sys.stderr)
        return None
    command = [str(PYTHON), "-c", SHIM, str(side.root), str(script), *args]
    started = time.perf_counter()
    out, err, code = run_script(command, side.root)
    log.with_suffix(".out").write_text(out)
    log.with_suffix(".err").write_text(err)
    seconds = time.perf_counter() - started
    figures = bench.parse(out) if code == 0 else {}
    if code != 0 or not figures:
        tail = "\n    ".join(err.strip().splitlines()[-5:])
        print(
            f"  {bench.key} {side.label}: FAILED (exit {code}, {seconds:.0f} s; {log}.err)\n"
            f"    {tail}",
            file=sys.stderr,
        )
        return None
    print(f"  {bench.key} {side.label}: {seconds:.0f} s", file=sys.stderr)
    return figures


def run_rounds(
    sides: tuple[Side, Side], benches: list[tuple[Bench, list[str]]], rounds: int, logs: Path
) -> Samples:
    samples = Samples()
    for number in range(1, rounds + 1):
        print(f"round {number}/{rounds}", file=sys.stderr)
        order = sides if number % 2 else sides[::-1]
        for bench, args in benches:
            for side in order:
                figures = run_once(side, bench, args, logs / f"{bench.key}-{side.label}-{number}")
                if figures is None:
                    samples.failures.append(f"{bench.key} {side.label} round {number}")
                else:
                    samples.add(side.label, figures)
    return samples


# --- the table ------------------------------------------------------------------------------


def worse_by(figure: Figure, baseline: float, change: float) -> float | None:
    """How much worse the change is, as a fraction of the baseline (negative: better)."""
    if baseline == 0:
        return None
    delta = (change - baseline) / abs(baseline)
    return -delta if figure.higher_is_better else delta


def spread(values: list[float]) -> float | None:
    middle = statistics.median(values)
    return (max(values) - min(values)) / abs(middle) if middle else None


def report(samples: Samples, threshold: float) -> int:
    """Prints the table; returns how many figures are worse by more than the threshold."""
    header = (
        f"{'figure':<48}{'unit':>5}{'baseline':>11}{'change':>11}{'ratio':>8}{'noise':>8}  flag"
    )
    print(header)
    print("-" * len(header))
    flagged = 0
    for figure, by_side in samples.values.items():
        base_values, change_values = by_side.get("baseline", []), by_side.get("change", [])
        if not base_values or not change_values:
            print(f"{figure.name:<48}{figure.unit:>5}  (measured on one side only)")
            continue
        base, change = statistics.median(base_values), statistics.median(change_values)
        ratio = f"{change / base:.3f}" if base else "-"
        noises = [s for s in (spread(base_values), spread(change_values)) if s is not None]
        noise = f"{max(noises):.0%}" if noises and len(base_values) > 1 else "-"
        worse = worse_by(figure, base, change)
        if figure.reference:
            flag = "(reference)"
        elif worse is not None and worse > threshold:
            # Said either way; a difference smaller than the rounds' own spread may be noise.
            flag = f"WORSE by {worse:.0%}"
            if noises and len(base_values) > 1 and worse < max(noises):
                flag += " (within the noise)"
            flagged += 1
        else:
            flag = ""
        print(
            f"{figure.name:<48}{figure.unit:>5}{base:>11.2f}{change:>11.2f}{ratio:>8}"
            f"{noise:>8}  {flag}"
        )
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", nargs="?", help="revision (default: merge-base @{upstream})")
    parser.add_argument("--rounds", type=int, default=3, help="baseline and change runs each")
    parser.add_argument("--bench", default="pop,routing,ring", help="comma-separated subset")
    parser.add_argument("--threshold", type=float, default=0.10, help="worse by more: flagged")
    for bench in BENCHES:
        parser.add_argument(
            f"--{bench.key}-args",
            default=shlex.join(bench.default_args),
            help=f"for scripts/{bench.script} (default: %(default)r)",
        )
    parser.add_argument("--against", help="a revision to measure instead of the working tree")
    parser.add_argument("--keep-worktree", action="store_true")
    args = parser.parse_args()
    wanted = set(args.bench.split(","))
    if unknown := wanted - {bench.key for bench in BENCHES}:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    chosen: list[tuple[Bench, list[str]]] = []
    for bench in BENCHES:
        if bench.key not in wanted:
            continue
        if bench.needs_root and os.geteuid() != 0:
            print(f"bench_compare: {bench.key} skipped (needs root)", file=sys.stderr)
            continue
        chosen.append((bench, shlex.split(getattr(args, f"{bench.key}_args"))))
    revision = baseline_revision(args.baseline)
    logs = ROOT / "var" / "bench" / f"compare-{dt.datetime.now():%Y%m%d-%H%M%S}"
    logs.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        tree = stack.enter_context(worktree(revision, args.keep_worktree))
        baseline = Side("baseline", tree, git("log", "-1", "--format=%h %s", revision))
        if args.against is None:
            status = git("status", "--porcelain", "--untracked-files=no")
            dirty = " + uncommitted changes" if status else ""
            head = git("rev-parse", "--short", "HEAD")
            change = Side("change", ROOT, f"working tree ({head}{dirty})")
        else:
            against = resolve(args.against)
            other = stack.enter_context(worktree(against, args.keep_worktree))
            change = Side("change", other, git("log", "-1", "--format=%h %s", against))
        sides = (baseline, change)
        for side in sides:
            print(f"{side.label}: {side.what}\n  callcenter from {imported_from(side)}")
        load_before = os.getloadavg()[0]
        samples = run_rounds(sides, chosen, args.rounds, logs)
    print(f"\n{args.rounds} rounds, medians; runs' output in {logs.relative_to(ROOT)}")
    print(f"load average before and after: {load_before:.1f}, {os.getloadavg()[0]:.1f}")
    for bench, bench_args in chosen:
        print(f"  {bench.key}: scripts/{bench.script} {shlex.join(bench_args)}")
    print()
    flagged = report(samples, args.threshold)
    # Other work on the machine (a test suite, a build) moves these figures by far more than
    # 10%; the benchmarks themselves keep one or two cores busy.
    if max(load_before, os.getloadavg()[0]) > (os.cpu_count() or 1):
        print(f"\nthe machine was busy (more runnable tasks than its {os.cpu_count()} CPUs)")
    if samples.failures:
        print(f"\nfailed runs: {', '.join(samples.failures)}")
        raise SystemExit(2)
    print(f"\n{flagged} figure(s) worse by more than {args.threshold:.0%}")
    raise SystemExit(1 if flagged else 0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("bench_compare: interrupted") from None
