"""Reconciliation: the interactions of a day against Asterisk's record of its hotline calls
(callcenter/pbx/reconcile.py)."""

from __future__ import annotations

import datetime as dt

from callcenter.pbx.cel import HotlineCall
from callcenter.pbx.reconcile import Problem, RecordedCall, reconcile

START = dt.datetime(2026, 12, 6, 16, 0, tzinfo=dt.UTC)  # 2026-12-07 00:00 in Beijing
END = START + dt.timedelta(days=1)
T0 = START + dt.timedelta(hours=10)


def call(n: int, *, ended: float | None = 60.0, started: dt.datetime = T0) -> HotlineCall:
    return HotlineCall(
        call_id=f"pbx-{n}.0",
        asterisk_linkedid=f"pbx-{n}.0",
        caller="+8613911112222",
        called="95555",
        started_at=started,
        ended_at=None if ended is None else started + dt.timedelta(seconds=ended),
    )


def record(
    interaction_id: int,
    of: HotlineCall,
    *,
    ended: float | None = 60.0,
    call_id: str | None = None,
) -> RecordedCall:
    return RecordedCall(
        interaction_id=interaction_id,
        call_id=call_id if call_id is not None else of.call_id,
        asterisk_linkedid=of.asterisk_linkedid,
        started_at=of.started_at + dt.timedelta(milliseconds=20),
        ended_at=None if ended is None else of.started_at + dt.timedelta(seconds=ended),
    )


def run(calls: list[HotlineCall], recorded: list[RecordedCall]) -> dict[Problem, list[str]]:
    result = reconcile(calls, recorded, start=START, end=END)
    found: dict[Problem, list[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.problem, []).append(finding.call_id)
    assert result.ok == (not found)
    assert sum(result.counts.values()) == len(result.findings)
    return found


def test_every_call_recorded_once_and_ended_alike_is_in_order() -> None:
    calls = [call(1), call(2, ended=300)]
    recorded = [record(10, calls[0], ended=61.5), record(11, calls[1], ended=300)]
    result = reconcile(calls, recorded, start=START, end=END)
    assert result.ok
    assert (result.calls, result.interactions) == (2, 2)
    assert result.counts == dict.fromkeys(Problem, 0)


def test_a_call_without_an_interaction_is_missing() -> None:
    assert run([call(1), call(2)], [record(10, call(1))]) == {Problem.MISSING: ["pbx-2.0"]}


def test_two_interactions_for_one_call_are_duplicated() -> None:
    first = call(1)
    recorded = [record(10, first), record(11, first, call_id="pbx-1.7")]  # same linked id
    result = reconcile([first], recorded, start=START, end=END)
    [finding] = result.findings
    assert finding.problem is Problem.DUPLICATED
    assert finding.interaction_ids == (10, 11)


def test_an_interaction_still_open_after_asterisk_ended_the_call_ended_wrong() -> None:
    found = run([call(1)], [record(10, call(1), ended=None)])
    assert found == {Problem.ENDED_WRONG: ["pbx-1.0"]}


def test_an_end_off_by_more_than_the_tolerance_ended_wrong() -> None:
    assert run([call(1)], [record(10, call(1), ended=65.0)]) == {}  # 5 s: within
    assert run([call(1)], [record(10, call(1), ended=65.1)]) == {Problem.ENDED_WRONG: ["pbx-1.0"]}
    assert run([call(1)], [record(10, call(1), ended=50.0)]) == {Problem.ENDED_WRONG: ["pbx-1.0"]}


def test_a_call_still_up_and_its_open_interaction_are_left_alone() -> None:
    live = call(1, ended=None)
    assert run([live], [record(10, live, ended=None)]) == {}


def test_an_interaction_of_the_day_for_a_call_asterisk_never_had() -> None:
    ghost = call(9)
    found = run([call(1)], [record(10, call(1)), record(11, ghost)])
    assert found == {Problem.NOT_IN_ASTERISK: ["pbx-9.0"]}


def test_only_the_calls_and_interactions_of_the_range_count() -> None:
    yesterday = call(1, started=START - dt.timedelta(minutes=1))
    tomorrow = call(2, started=END)
    late = call(3, started=END - dt.timedelta(seconds=1))  # its record starts after midnight
    recorded = [record(10, yesterday), record(11, tomorrow), record(12, late)]
    result = reconcile([yesterday, tomorrow, late], recorded, start=START, end=END)
    assert result.ok
    assert (result.calls, result.interactions) == (1, 1)
