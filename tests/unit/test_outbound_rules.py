"""The dialler's rules, with the clock given: calling hours on the client's clock, the
do-not-call list, care-call opt-outs, the attempt limit, spacing, one dial a day after a
refusal, and what each outcome does to the item."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.outbound import compliance
from callcenter.outbound.compliance import may_dial
from callcenter.outbound.model import Attempt, AttemptOutcome, DialMode, DialRules, Party, WorkItem
from callcenter.outbound.retry import after_attempt

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = DialRules()


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    """A time in December 2026 (the 7th is a Monday, the 12th a Saturday), as UTC."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=tz).astimezone(dt.UTC)


def item(kind: FollowUpKind = FollowUpKind.RETURN_VISIT, **fields: object) -> WorkItem:
    base = WorkItem(
        id=1,
        kind=kind,
        status=FollowUpStatus.OPEN,
        client_id=7,
        number="+8613800138000",
        priority=5,
        due_on=dt.date(2026, 12, 20),
        not_before=None,
        assigned_to_id=None,
        queue=None,
        reason=None,
        language="zh",
        attempts=0,
        next_attempt_at=None,
        last_outcome=None,
        reserved_by_id=None,
        reserved_until=None,
        version=1,
    )
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def attempt(started: dt.datetime, outcome: AttemptOutcome) -> Attempt:
    return Attempt(1, 1, DialMode.PREVIEW, 3, 10, started, started, outcome, None)


def test_inside_weekday_calling_hours_a_due_item_may_be_dialled() -> None:
    assert may_dial(item(), Party(), [], at(7, 10), RULES).allowed


@pytest.mark.parametrize(
    ("when", "opens"),
    [
        (at(7, 8, 59), at(7, 9)),  # Monday before nine: nine
        (at(7, 20, 0), at(8, 9)),  # Monday at eight in the evening: Tuesday nine
        (at(11, 23), at(12, 10)),  # Friday night: Saturday ten (weekend hours)
        (at(12, 18, 30), at(13, 10)),  # Saturday after six: Sunday ten
    ],
)
def test_outside_calling_hours_nothing_is_dialled_and_the_next_opening_is_named(
    when: dt.datetime, opens: dt.datetime
) -> None:
    verdict = may_dial(item(), Party(), [], when, RULES)
    assert (verdict.allowed, verdict.reason, verdict.earliest) == (
        False,
        compliance.OUTSIDE_HOURS,
        opens,
    )


def test_calling_hours_are_the_clients_own_clock() -> None:
    # 10:00 in Shanghai is 03:00 in Paris: too early there.
    paris = Party(time_zone="Europe/Paris")
    verdict = may_dial(item(), paris, [], at(7, 10), RULES)
    assert verdict.reason == compliance.OUTSIDE_HOURS
    assert verdict.earliest == dt.datetime(2026, 12, 7, 9, tzinfo=ZoneInfo("Europe/Paris"))
    # An unknown zone falls back to the center's.
    assert may_dial(item(), Party(time_zone="Mars/Olympus"), [], at(7, 10), RULES).allowed


def test_a_do_not_call_number_is_never_dialled_and_care_only_entries_stop_care_calls_only() -> None:
    blocked = Party(do_not_call="all")
    assert may_dial(item(), blocked, [], at(7, 10), RULES).reason == compliance.DO_NOT_CALL
    care_only = Party(do_not_call="care")
    assert may_dial(item(), care_only, [], at(7, 10), RULES).allowed  # a return visit goes
    care = item(FollowUpKind.BIRTHDAY)
    assert may_dial(care, care_only, [], at(7, 10), RULES).reason == compliance.DO_NOT_CALL
    assert may_dial(care, blocked, [], at(7, 10), RULES).earliest is None


def test_a_client_who_opted_out_of_care_calls_gets_no_care_call_but_their_return_visit() -> None:
    opted_out = Party(care_calls_opt_out=True)
    care = item(FollowUpKind.IPO_REMINDER)
    assert may_dial(care, opted_out, [], at(7, 10), RULES).reason == compliance.CARE_OPT_OUT
    assert may_dial(item(), opted_out, [], at(7, 10), RULES).allowed


def test_past_the_attempt_limit_nothing_is_dialled() -> None:
    dials = [attempt(at(1, 10) + dt.timedelta(hours=i), AttemptOutcome.NO_ANSWER) for i in range(5)]
    verdict = may_dial(item(), Party(), dials, at(7, 10), RULES)
    assert (verdict.reason, verdict.earliest) == (compliance.ATTEMPT_LIMIT, None)
    # Skips and dials the agent's phone never started do not count.
    not_dials = [
        attempt(at(1, 10), AttemptOutcome.SKIPPED),
        attempt(at(1, 11), AttemptOutcome.AGENT_NO_ANSWER),
    ]
    assert may_dial(item(), Party(), dials[:4] + not_dials, at(7, 10), RULES).allowed


def test_dials_of_one_item_are_spaced() -> None:
    last = attempt(at(7, 10), AttemptOutcome.BUSY)
    verdict = may_dial(item(), Party(), [last], at(7, 10, 5), RULES)
    assert (verdict.reason, verdict.earliest) == (compliance.TOO_SOON, at(7, 10, 10))
    assert may_dial(item(), Party(), [last], at(7, 10, 10), RULES).allowed


def test_a_client_who_refused_is_rung_back_at_most_once_a_day() -> None:
    refused = attempt(at(7, 10), AttemptOutcome.REFUSED)
    verdict = may_dial(item(), Party(), [refused], at(7, 15), RULES)
    assert (verdict.reason, verdict.earliest) == (compliance.REFUSED_TODAY, at(8, 9))
    assert may_dial(item(), Party(), [refused], at(8, 9), RULES).allowed
    ring_back = attempt(at(8, 9), AttemptOutcome.NO_ANSWER)
    again = may_dial(item(), Party(), [refused, ring_back], at(8, 14), RULES)
    assert (again.reason, again.earliest) == (compliance.REFUSED_TODAY, at(9, 9))


def test_an_item_not_due_yet_waits_for_its_window_and_the_retry_time() -> None:
    later = item(not_before=at(8, 11))
    verdict = may_dial(later, Party(), [], at(7, 10), RULES)
    assert (verdict.reason, verdict.earliest) == (compliance.NOT_DUE, at(8, 11))
    retry = item(next_attempt_at=at(7, 21))  # after hours: the next opening
    verdict = may_dial(retry, Party(), [], at(7, 10), RULES)
    assert (verdict.reason, verdict.earliest) == (compliance.TOO_SOON, at(8, 9))


def test_a_closed_item_or_one_without_a_number_is_not_dialled() -> None:
    done = item(status=FollowUpStatus.DONE)
    assert may_dial(done, Party(), [], at(7, 10), RULES).reason == compliance.CLOSED
    assert may_dial(item(number=None), Party(), [], at(7, 10), RULES).reason == (
        compliance.NO_NUMBER
    )


def test_each_outcome_does_what_the_retry_rules_say() -> None:
    now = at(7, 10)
    no_answer = after_attempt(item(), AttemptOutcome.NO_ANSWER, now, RULES)
    assert (no_answer.status, no_answer.attempts, no_answer.next_attempt_at) == (
        FollowUpStatus.OPEN,
        1,
        now + dt.timedelta(hours=2),
    )
    busy = after_attempt(item(), AttemptOutcome.BUSY, now, RULES)
    assert busy.next_attempt_at == now + dt.timedelta(minutes=15)
    done = after_attempt(item(), AttemptOutcome.COMPLETED, now, RULES)
    assert (done.status, done.closing_outcome) == (FollowUpStatus.DONE, "completed")
    skipped = after_attempt(item(), AttemptOutcome.SKIPPED, now, RULES)
    assert (skipped.attempts, skipped.status) == (0, FollowUpStatus.OPEN)
    asked = after_attempt(item(), AttemptOutcome.REACHED, now, RULES, call_again_at=at(8, 16))
    assert asked.next_attempt_at == at(8, 16)


def test_a_refused_care_call_ends_but_a_refused_return_visit_is_tried_again() -> None:
    now = at(7, 10)
    care = after_attempt(item(FollowUpKind.CARE_CALL), AttemptOutcome.REFUSED, now, RULES)
    assert (care.status, care.closing_outcome) == (FollowUpStatus.CANCELLED, "refused")
    duty = after_attempt(item(), AttemptOutcome.REFUSED, now, RULES)
    assert (duty.status, duty.next_attempt_at) == (FollowUpStatus.OPEN, now + dt.timedelta(days=1))


def test_the_last_allowed_attempt_closes_the_item_as_not_reached() -> None:
    last = after_attempt(item(attempts=4), AttemptOutcome.NO_ANSWER, at(7, 10), RULES)
    assert last.status is FollowUpStatus.CANCELLED
    assert last.closing_outcome == "not reached after 5 attempts (last: no_answer)"


def test_an_item_whose_dial_is_under_way_is_not_dialled_again() -> None:
    under_way = Attempt(1, 1, DialMode.PROGRESSIVE, 3, 10, at(7, 10), None, None, None)
    verdict = may_dial(item(), Party(), [under_way], at(7, 10, 1), RULES)
    assert (verdict.reason, verdict.earliest) == (
        compliance.DIAL_UNDER_WAY,
        at(7, 10, 1) + RULES.reservation,
    )
    # One lost an hour ago (the service stopped mid-call) holds nothing back.
    assert may_dial(item(), Party(), [under_way], at(7, 11, 1), RULES).allowed
