"""A call the service never saw becomes an interaction that the reports count by their own
rules (callcenter/pbx/unseen_calls.py, callcenter/crm/counting.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from callcenter.crm.callstats import CallFact, CallReportInput, call_report
from callcenter.crm.counting import Outcome, call_count, route_of
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.pbx.cel import HotlineCall, hotline_calls, read_cel_file
from callcenter.pbx.unseen_calls import FALLBACK_QUEUE, TO_CALLBACK, UnseenCall, unseen_call
from tests.unit.test_cel import APOLOGY, QUEUE

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def a_call(**changes: object) -> HotlineCall:
    base = HotlineCall(
        call_id="pbx-1.0",
        asterisk_linkedid="pbx-1.0",
        caller="+8613911112222",
        called="95555",
        started_at=T0,
        ended_at=T0 + dt.timedelta(seconds=30),
        fallback="apology",
        fallback_at=T0 + dt.timedelta(seconds=5),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def outcome(record: UnseenCall) -> Outcome | None:
    if record.queued_at is None:
        return None
    count = call_count(
        record.queue or "",
        route_of(record.ivr_path),
        record.queued_at,
        {},
        answered_at=record.answered_at,
        ended_at=record.ended_at,
    )
    return count.outcome


def test_a_caller_who_took_the_call_back_offer_went_to_a_callback() -> None:
    [call] = hotline_calls(read_cel_file(APOLOGY))
    record = unseen_call(call)
    assert record.call_id == "fbdev-1796604334.0"
    assert record.caller_number == "+8613911112222"
    assert record.called_number == "95555"
    assert (record.queue, record.queued_at) == (FALLBACK_QUEUE, call.fallback_at)
    assert record.ivr_path == ("fallback:apology", "callback:zh", TO_CALLBACK)
    assert (record.callback_language, record.callback_at) == ("zh", call.callback_at)
    assert record.ivr_outcome is None  # never in the IVR: not in its containment
    assert outcome(record) is Outcome.TO_IVR


def test_a_caller_who_heard_the_apology_and_hung_up_abandoned() -> None:
    record = unseen_call(a_call())
    assert record.ivr_path == ("fallback:apology",)
    assert record.callback_language is None
    assert outcome(record) is Outcome.ABANDONED


def test_a_caller_the_fallback_put_through_was_answered() -> None:
    [call] = hotline_calls(read_cel_file(QUEUE))
    record = unseen_call(call)
    assert record.answered_at == call.connected_at
    assert record.ivr_path == ("fallback:queue",)
    assert outcome(record) is Outcome.ANSWERED


def test_no_call_back_without_a_number_to_call() -> None:
    record = unseen_call(a_call(caller="", callback_language="zh", callback_at=T0))
    assert record.caller_number is None
    assert record.callback_language is None
    assert record.ivr_path == ("fallback:apology",)


def test_a_caller_who_hung_up_before_the_deadline_counts_for_the_ivr_only() -> None:
    record = unseen_call(
        a_call(fallback=None, fallback_at=None, ended_at=T0 + dt.timedelta(seconds=3))
    )
    assert (record.queue, record.queued_at) == (None, None)
    assert record.ivr_outcome == "abandoned_in_ivr"
    assert record.ivr_path == ("no-pickup",)


def test_the_days_report_counts_fallback_calls_in_the_fallback_queue() -> None:
    calls = [
        unseen_call(a_call(call_id="a")),  # apology, hung up
        unseen_call(a_call(call_id="b", callback_language="en", callback_at=T0)),
        unseen_call(a_call(call_id="c", connected_at=T0 + dt.timedelta(seconds=8))),
        unseen_call(a_call(call_id="d", fallback=None, fallback_at=None)),  # no pickup
    ]
    facts = [
        CallFact(
            id=n,
            started_at=r.started_at,
            queued_at=r.queued_at,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            ivr_outcome=r.ivr_outcome,
            ivr_path=r.ivr_path,
            queue=r.queue,
        )
        for n, r in enumerate(calls, 1)
    ]
    day = ReportRange.of(dt.date(2026, 12, 7), dt.date(2026, 12, 7), "Asia/Shanghai")
    report = call_report(CallReportInput(facts), day, IntervalKind.DAY, T0 + dt.timedelta(1))
    [row] = report.queues
    assert row.queue == FALLBACK_QUEUE
    figures = row.figures
    assert (figures.offered, figures.answered, figures.to_ivr, figures.abandoned) == (3, 1, 1, 1)
    assert report.total.figures.offered == 3
    assert (report.total.ivr_entered, report.total.self_served) == (1, 0)
