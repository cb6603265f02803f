"""The load benchmark's knee verdict (scripts/load_report.py): the first level where the box
stops carrying its calls well, and why; and the sipp counters it reads."""

from __future__ import annotations

from pathlib import Path

from scripts.load_crowd import read_counters
from scripts.load_report import LevelFigures, chart_points, chart_svg, find_knee


def level(target: int, *, p99: float = 20.0, failed: int = 0, service: float = 0.1) -> LevelFigures:
    return LevelFigures(
        target=target,
        seconds=60,
        concurrent=target,
        concurrent_max=target,
        with_agent=target / 2,
        calls_per_second=target / 20,
        completed=target * 3,
        failed=failed,
        retransmissions=0,
        service_cpu=service,
        asterisk_cpu=0.2,
        machine_cpu=1.0,
        service_rss_mb=140,
        service_rss_peak_mb=141,
        ami_events_per_second=target * 4,
        key_to_prompt_ms=[15.0] * 99 + [p99],
        key_to_dial_ms=[60.0],
    )


def test_no_knee_when_every_level_is_carried_well() -> None:
    knee = find_knee([level(25), level(50, p99=30)], cores=2)
    assert knee.level is None
    assert knee.reason == "no knee up to 50 concurrent calls"


def test_the_first_failed_call_is_the_knee() -> None:
    knee = find_knee([level(25), level(50, failed=2), level(75, p99=400)], cores=2)
    assert knee.level == 50
    assert "2 failed calls" in knee.reason


def test_key_to_prompt_past_the_goal_is_the_knee() -> None:
    knee = find_knee([level(25), level(50, p99=151)], cores=2)
    assert knee.level == 50
    assert "p99 151 ms > 150 ms" in knee.reason


def test_a_saturated_service_is_the_knee() -> None:
    knee = find_knee([level(25), level(50, service=0.95)], cores=2)
    assert knee.level == 50
    assert "one core" in knee.reason


def test_latency_growing_much_faster_than_the_calls_is_the_knee() -> None:
    # Twice the callers: a p99 3.5 times longer is carried, 4.7 times is not.
    carried = find_knee([level(25, p99=40), level(50, p99=140)], cores=2)
    assert carried.level is None
    knee = find_knee([level(10, p99=30), level(20, p99=140)], cores=2)
    assert knee.level == 20
    assert "grew 4.7x for 2.0x" in knee.reason


def test_the_chart_marks_the_knee() -> None:
    levels = [level(25), level(50, failed=1)]
    svg = chart_svg(chart_points(levels), find_knee(levels, cores=2), 2, "load")
    assert svg.startswith("<svg")
    assert ">knee</text>" in svg


def test_sipp_counters_are_read_from_the_last_complete_line(tmp_path: Path) -> None:
    header = "CurrentTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);Retransmissions(C);"
    header += "CurrentCall;"
    stats = tmp_path / "stats.csv"
    stats.write_text(f"{header}\nt1;5;2;0;1;3;\nt2;9;6;1;4;3;\nt3;10")
    counters = read_counters(stats)
    assert (counters.started, counters.succeeded, counters.failed) == (9, 6, 1)
    assert (counters.retransmissions, counters.current) == (4, 3)
