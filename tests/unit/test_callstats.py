"""The rules of the call-center figures one at a time: intervals in local time, the bounds of
service level and short abandons, first-contact resolution, occupancy, empty denominators
(docs/metrics.md, section 4)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcenter.acd.model import AgentState
from callcenter.crm.agent_time import AgentTime, StateChange, agent_time
from callcenter.crm.callstats import CallFact, CallFigures, Outcome, classify, overflow_moves
from callcenter.crm.report_intervals import (
    MAX_REPORT_DAYS,
    IntervalKind,
    InvalidReportRange,
    ReportRange,
    slot_of,
    split_by_slot,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
S = dt.timedelta(seconds=1)


def queued(
    wait: float | None,
    *,
    answered: bool = True,
    client: int | None = None,
    queue: str = "general",
    path: tuple[str, ...] = (),
    started: dt.datetime = T0,
) -> CallFact:
    q = started + 10 * S
    if wait is None:
        return CallFact(1, started, client, q, queue=queue, ivr_path=path)
    done = q + wait * S
    if answered:
        return CallFact(1, started, client, q, done, done + 60 * S, queue=queue, ivr_path=path)
    return CallFact(1, started, client, q, None, done, queue=queue, ivr_path=path)


# --- ranges and intervals -------------------------------------------------------------------


def test_a_range_is_local_days_from_midnight_to_midnight() -> None:
    days = ReportRange.of(dt.date(2026, 3, 2), dt.date(2026, 3, 3))
    assert days.start == dt.datetime(2026, 3, 1, 16, tzinfo=dt.UTC)
    assert days.end == dt.datetime(2026, 3, 3, 16, tzinfo=dt.UTC)
    assert days.contains(days.start)
    assert not days.contains(days.end)


def test_a_range_ending_before_it_starts_names_the_to_field() -> None:
    with pytest.raises(InvalidReportRange) as caught:
        ReportRange.of(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    assert caught.value.detail["field"] == "to"


def test_a_range_may_cover_93_days_and_no_more() -> None:
    first = dt.date(2026, 1, 1)
    ReportRange.of(first, first + dt.timedelta(days=MAX_REPORT_DAYS - 1))
    with pytest.raises(InvalidReportRange, match="at most 93"):
        ReportRange.of(first, first + dt.timedelta(days=MAX_REPORT_DAYS))


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        (IntervalKind.MIN15, "09:15", "09:30"),
        (IntervalKind.MIN30, "09:00", "09:30"),
        (IntervalKind.MIN60, "09:00", "10:00"),
    ],
)
def test_a_time_falls_in_its_local_wall_clock_slot(
    kind: IntervalKind, start: str, end: str
) -> None:
    slot = slot_of(T0 + dt.timedelta(minutes=17, seconds=3), kind, SHANGHAI)
    local_start, local_end = slot.local(SHANGHAI)
    assert (local_start.strftime("%H:%M"), local_end.strftime("%H:%M")) == (start, end)


def test_a_day_slot_follows_the_local_date_not_the_utc_one() -> None:
    late = dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC)  # 01:30 on 3 March in Shanghai
    slot = slot_of(late, IntervalKind.DAY, SHANGHAI)
    assert slot.start == dt.datetime(2026, 3, 2, 16, tzinfo=dt.UTC)


def test_a_span_is_cut_at_interval_boundaries() -> None:
    pieces = list(split_by_slot(T0 + 50 * 60 * S, T0 + 130 * 60 * S, IntervalKind.MIN60, SHANGHAI))
    assert [seconds for _slot, seconds in pieces] == [600.0, 3600.0, 600.0]


def test_slots_keep_moving_across_a_clock_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # clocks go back at 03:00 on 25 October 2026
    start = dt.datetime(2026, 10, 24, 22, tzinfo=dt.UTC)
    pieces = list(split_by_slot(start, start + dt.timedelta(hours=5), IntervalKind.MIN60, berlin))
    assert sum(seconds for _slot, seconds in pieces) == 5 * 3600
    assert all(seconds > 0 for _slot, seconds in pieces)


# --- one call -------------------------------------------------------------------------------


@pytest.mark.parametrize(("wait", "inside"), [(10.0, True), (10.5, False), (0.0, True)])
def test_answered_within_the_threshold_includes_the_threshold(wait: float, inside: bool) -> None:
    call = classify(queued(wait), {"general": 10.0}, {})
    assert call.in_service_level is inside


@pytest.mark.parametrize(("wait", "short"), [(4.999, True), (5.0, False)])
def test_an_abandon_under_five_seconds_is_short(wait: float, short: bool) -> None:
    call = classify(queued(wait, answered=False), {}, {})
    assert (call.outcome, call.short_abandon) == (Outcome.ABANDONED, short)


def test_a_queue_without_a_stored_threshold_uses_ten_seconds() -> None:
    assert classify(queued(10.0, queue="gone"), {}, {}).threshold_seconds == 10.0


def test_overflow_entries_name_the_queue_and_where_the_call_went() -> None:
    path = ("main_menu=1", "overflow:general=trading", "overflow:trading=max_wait", "callback=1")
    assert overflow_moves(path) == [("general", "trading"), ("trading", "max_wait")]


def test_a_call_sent_back_to_the_ivr_is_not_an_abandon() -> None:
    fact = queued(40, answered=False, path=("overflow:general=closed",))
    call = classify(fact, {}, {})
    assert (call.outcome, call.wait_seconds, call.overflowed_from) == (Outcome.TO_IVR, None, ())


def test_an_overflowed_call_keeps_the_first_queue_as_its_topic() -> None:
    fact = queued(12, queue="trading", path=("overflow:general=trading",))
    call = classify(fact, {"trading": 20.0}, {})
    assert (call.queue, call.topic, call.overflowed_from) == ("trading", "general", ("general",))
    assert call.in_service_level  # the answering queue's threshold


def test_hold_longer_than_the_call_is_capped_at_the_call() -> None:
    fact = queued(3)
    fact = CallFact(**{**fact.__dict__, "hold_seconds": 500})
    call = classify(fact, {}, {})
    assert (call.talk_seconds, call.hold_seconds, call.wrapup_seconds) == (0.0, 60.0, 0.0)


# --- first-contact resolution ---------------------------------------------------------------

WEEK = dt.timedelta(days=7)


@pytest.mark.parametrize(
    ("later", "topic", "resolved"),
    [
        (WEEK, "general", False),  # exactly 7 days later: a repeat
        (WEEK + S, "general", True),  # a second more: a new matter
        (dt.timedelta(hours=1), "trading", True),  # another topic
        (-dt.timedelta(hours=1), "general", True),  # an earlier call is no repeat
    ],
)
def test_a_call_is_resolved_unless_the_client_calls_again_on_its_topic_within_7_days(
    later: dt.timedelta, topic: str, resolved: bool
) -> None:
    repeats = {5: [(T0, "general"), (T0 + later, topic)]}
    call = classify(queued(3, client=5), {}, repeats)
    assert call.first_contact_resolved is resolved


def test_calls_without_a_known_client_or_an_answer_are_not_judged() -> None:
    assert classify(queued(3), {}, {}).first_contact_resolved is None
    assert classify(queued(30, answered=False, client=5), {}, {}).first_contact_resolved is None


# --- figures and empty denominators ---------------------------------------------------------


def test_no_calls_give_no_rates() -> None:
    empty = CallFigures.of([])
    assert (empty.service_level, empty.asa_seconds, empty.aht_seconds, empty.fcr_rate) == (
        None,
        None,
        None,
        None,
    )
    assert AgentTime().occupancy is None


def test_only_short_abandons_give_no_service_level() -> None:
    figures = CallFigures.of([classify(queued(2, answered=False), {}, {})])
    assert (figures.offered, figures.short_abandoned, figures.service_level) == (1, 1, None)


def test_a_call_still_waiting_is_offered_but_not_in_the_service_level() -> None:
    calls = [classify(queued(None), {}, {}), classify(queued(4), {}, {})]
    figures = CallFigures.of(calls)
    assert (figures.offered, figures.waiting, figures.service_level) == (2, 1, 1.0)


# --- agents' time ---------------------------------------------------------------------------


def test_the_state_before_the_range_counts_from_its_start_and_the_last_until_now() -> None:
    days = ReportRange.of(dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    changes = [
        StateChange(1, days.start - dt.timedelta(hours=3), AgentState.READY),
        StateChange(1, days.start + dt.timedelta(minutes=30), AgentState.ON_CALL),
    ]
    now = days.start + dt.timedelta(minutes=45)
    time = agent_time(changes, days, IntervalKind.DAY, now)
    [(slot, agent)] = time
    assert (agent, time[(slot, agent)].available_seconds) == (1, 1800.0)
    assert time[(slot, agent)].busy_seconds == 900.0  # on call until now, not the day's end


def test_not_ready_time_is_out_of_occupancy_and_logged_out_time_is_not_counted() -> None:
    days = ReportRange.of(dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    hour = dt.timedelta(hours=1)
    changes = [
        StateChange(1, days.start, AgentState.READY),
        StateChange(1, days.start + hour, AgentState.WRAP_UP),
        StateChange(1, days.start + 2 * hour, AgentState.NOT_READY, "lunch"),
        StateChange(1, days.start + 3 * hour, AgentState.LOGGED_OUT),
    ]
    [spent] = agent_time(changes, days, IntervalKind.DAY, days.end).values()
    assert (spent.logged_in_seconds, spent.occupancy) == (3 * 3600.0, 0.5)
