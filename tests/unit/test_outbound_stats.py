"""The dialler's figures (callcenter/outbound/stats.py): return-visit completion against each
deadline, callback delay, attempts per reached client, outcomes, and the wallboard's campaign
progress, all counting dials and reaching with the same two rules."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.outbound.model import AttemptOutcome
from callcenter.outbound.stats import (
    CAMPAIGN_KINDS,
    AccountFact,
    AttemptFact,
    CallbackFact,
    CampaignCounts,
    ItemCounts,
    add_month,
    attempt_report,
    callback_delay,
    campaign_progress,
    is_dial,
    percentile,
    reaches,
    return_visit_report,
)

Out = AttemptOutcome
RV, CB, BD = FollowUpKind.RETURN_VISIT, FollowUpKind.CALLBACK, FollowUpKind.BIRTHDAY
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def test_a_dial_is_an_attempt_that_reached_the_network_or_is_under_way() -> None:
    assert is_dial(None)
    assert all(
        is_dial(o) for o in (Out.NO_ANSWER, Out.BUSY, Out.ANSWERED, Out.COMPLETED, Out.REFUSED)
    )
    assert not is_dial(Out.SKIPPED)
    assert not is_dial(Out.AGENT_NO_ANSWER)  # the agent's phone: the client never dialled
    assert {o for o in Out if reaches(o)} == {Out.ANSWERED, Out.REACHED, Out.COMPLETED}


def test_percentile_interpolates_and_one_value_is_its_own() -> None:
    assert percentile([], 0.9) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([10.0, 20.0], 0.5) == 15.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_a_month_after_the_31st_is_the_next_months_last_day() -> None:
    assert add_month(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert add_month(dt.date(2026, 12, 15)) == dt.date(2027, 1, 15)


def test_return_visits_count_against_each_deadline_in_the_period() -> None:
    facts = [
        # Opened Feb 20: 14-day deadline Mar 6 (in March), month deadline Mar 20 (in March).
        AccountFact(1, dt.date(2026, 2, 20), 1, 10, completed_on=dt.date(2026, 3, 5)),
        # Visited on day 20: late for the center, in time for the regulation.
        AccountFact(2, dt.date(2026, 2, 20), 1, 10, completed_on=dt.date(2026, 3, 12)),
        # Never visited.
        AccountFact(3, dt.date(2026, 2, 20), 2, None),
        # Opened Jan 25: 14-day deadline Feb 8 (not March), month deadline Feb 25 (not March).
        AccountFact(4, dt.date(2026, 1, 25), 2, 11, completed_on=dt.date(2026, 1, 30)),
        # Opened Feb 5: 14-day deadline Feb 19 (not March), month deadline Mar 5 (March).
        AccountFact(5, dt.date(2026, 2, 5), 2, 11, completed_on=dt.date(2026, 3, 6)),
        # Closed before its deadline without a visit: owes none.
        AccountFact(6, dt.date(2026, 3, 1), 1, 10, closed_on=dt.date(2026, 3, 3)),
    ]
    rows, total = return_visit_report(facts, *MARCH, by_advisor=False)
    by_branch = {r.group_id: r for r in rows}
    assert set(by_branch) == {1, 2}
    one = by_branch[1]
    assert (one.due_14_days, one.done_14_days, one.due_month, one.done_month) == (2, 1, 2, 2)
    assert one.rate_14_days == 0.5
    two = by_branch[2]
    assert (two.due_14_days, two.done_14_days, two.due_month, two.done_month) == (1, 0, 2, 0)
    assert (total.due_14_days, total.done_14_days, total.due_month, total.done_month) == (
        3,
        1,
        4,
        2,
    )
    rows, _ = return_visit_report(facts, *MARCH, by_advisor=True)
    assert [r.group_id for r in rows] == [10, 11, None]  # no advisor: its own row, last


def test_callback_delay_runs_from_the_request_to_the_first_reaching_attempt() -> None:
    callbacks = [CallbackFact(1, at(0)), CallbackFact(2, at(0)), CallbackFact(3, at(0))]
    attempts = [
        AttemptFact(1, CB, at(1), Out.NO_ANSWER),
        AttemptFact(1, CB, at(3), Out.COMPLETED),  # reached 3 h after the request
        AttemptFact(2, CB, at(2), Out.REACHED),  # reached after 2 h...
        AttemptFact(2, CB, at(30), Out.COMPLETED),  # ...and that is what counts
        AttemptFact(3, CB, at(1), Out.BUSY),  # never reached
    ]
    delay = callback_delay(callbacks, attempts)
    assert (delay.requested, delay.reached) == (3, 2)
    assert delay.median_seconds == 2.5 * 3600
    assert delay.p90_seconds == pytest.approx(2.9 * 3600)


def test_attempts_per_reached_counts_the_dials_before_and_with_the_reaching_one() -> None:
    start, end = at(0), at(24)
    attempts = [
        AttemptFact(1, RV, at(-20), Out.NO_ANSWER),  # before the period: counts toward reach
        AttemptFact(1, RV, at(1), Out.SKIPPED),  # not a dial
        AttemptFact(1, RV, at(2), Out.BUSY),
        AttemptFact(1, RV, at(3), Out.COMPLETED),  # reached: 3 dials
        AttemptFact(2, RV, at(4), Out.ANSWERED),  # reached at once: 1 dial
        AttemptFact(3, BD, at(5), Out.NO_ANSWER),
        AttemptFact(3, BD, at(6), None),  # under way: a dial, in progress
        AttemptFact(4, CB, at(-30), Out.REACHED),  # reached before the period: not this one's
        AttemptFact(4, CB, at(7), Out.COMPLETED),
    ]
    rows, total = attempt_report(attempts, start, end)
    by_kind = {r.kind: r for r in rows}
    assert list(by_kind) == [RV, BD, CB]  # the vocabulary's order
    rv = by_kind[RV]
    assert (rv.attempts, rv.dials, rv.reached_items, rv.dials_to_reach) == (4, 3, 2, 4)
    assert rv.attempts_per_reached == 2.0
    assert rv.outcomes == {"answered": 1, "busy": 1, "completed": 1, "skipped": 1}
    assert by_kind[BD].outcomes == {"in_progress": 1, "no_answer": 1}
    assert by_kind[BD].attempts_per_reached is None
    assert by_kind[CB].reached_items == 0
    assert (total.attempts, total.dials, total.reached_items) == (7, 6, 2)


def test_campaign_progress_counts_todays_dials_as_the_report_does() -> None:
    counts = CampaignCounts(
        items={
            RV: ItemCounts(open=40, due_now=12, done_today=3),
            CB: ItemCounts(open=5, due_now=5, done_today=0),
            BD: ItemCounts(),  # nothing: left off the board
        },
        attempts={
            (CB, Out.NO_ANSWER): 4,
            (CB, None): 1,
            (CB, Out.SKIPPED): 2,  # a skip is no dial, on the board as in the report
            (RV, Out.COMPLETED): 3,
            (RV, Out.AGENT_NO_ANSWER): 1,
        },
    )
    rows = campaign_progress(counts)
    assert [r.as_row() for r in rows] == [
        {"kind": "callback", "open": 5, "due_now": 5, "done_today": 0, "attempts_today": 5},
        {"kind": "return_visit", "open": 40, "due_now": 12, "done_today": 3, "attempts_today": 3},
    ]
    # The same attempts through the report's function: the same dials.
    facts = [
        AttemptFact(i, kind, at(1), outcome)
        for i, ((kind, outcome), n) in enumerate(counts.attempts.items())
        for _ in range(n)
    ]
    _, total = attempt_report(facts, at(0), at(24))
    assert total.dials == sum(r.attempts_today for r in rows)


def test_every_kind_of_work_has_its_place_on_the_board() -> None:
    # A kind added to the vocabulary must not drop off the wallboard unnoticed.
    assert sorted(CAMPAIGN_KINDS) == sorted(FollowUpKind)
    assert CAMPAIGN_KINDS[:2] == (CB, RV)
