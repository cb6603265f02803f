"""Retention per kind of call and the legal hold, as pure decisions (issue 17, point 4)."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.crm.recording_retention import (
    Action,
    CallKind,
    RecordingFacts,
    Retention,
    RetentionSettingInvalid,
    add_years,
    decide,
    oldest_unexpired_start,
    parse_retention,
)
from callcenter.crm.recordings import RecordingStatus
from callcenter.crm.vocabulary import ComplaintStatus, Direction

START = dt.datetime(2023, 3, 2, 9, 30, tzinfo=dt.UTC)


def _facts(
    *,
    direction: Direction | None = Direction.INBOUND,
    complaints: tuple[tuple[int, ComplaintStatus], ...] = (),
    return_visit: bool = False,
    status: RecordingStatus = RecordingStatus.COMPLETE,
    started_at: dt.datetime = START,
) -> RecordingFacts:
    return RecordingFacts(
        recording_id=1,
        path="2023/03/02/7-1.wav",
        status=status,
        started_at=started_at,
        interaction_id=7 if direction else None,
        call_interaction_id=7 if direction else None,
        size_bytes=44,
        sha256="0" * 64,
        direction=direction,
        complaints=complaints,
        return_visit=return_visit,
    )


def test_the_default_keeps_every_kind_three_years() -> None:
    policy = parse_retention("default=3y")
    assert all(policy.of(kind) == Retention(3, "y") for kind in CallKind)


def test_a_kind_named_overrides_the_default_and_days_are_days() -> None:
    policy = parse_retention(" default=4y , complaint=2000d,return_visit=5y")
    assert policy.of(CallKind.INBOUND) == Retention(4, "y")
    assert policy.of(CallKind.OUTBOUND) == Retention(4, "y")
    assert policy.of(CallKind.COMPLAINT) == Retention(2000, "d")
    assert policy.of(CallKind.RETURN_VISIT) == Retention(5, "y")


def test_without_a_default_item_the_default_is_three_years() -> None:
    assert parse_retention("complaint=5y").of(CallKind.INBOUND) == Retention(3, "y")


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("default=3", "'default=3' is not"),
        ("default=3m", "'default=3m' is not"),
        ("default=three", "is not"),
        ("default=0y", "is not"),
        ("", "'' is not"),
        ("default=3y,", "'' is not"),
        ("complaints=5y", "unknown kind 'complaints'"),
        ("default=3y,default=4y", "'default' is given twice"),
        ("default=2y", "shorter than the 3 years"),
        ("inbound=1095d", "shorter than the 3 years"),
        ("default=101y", "over 100 years"),
        ("Default=3y", "is not"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_item(setting: str, named: str) -> None:
    with pytest.raises(RetentionSettingInvalid, match="CALLCENTER_RECORDING_RETENTION") as exc:
        parse_retention(setting)
    assert named in str(exc.value)


def test_1096_days_are_enough() -> None:
    assert parse_retention("default=1096d").default == Retention(1096, "d")


def test_a_year_is_a_calendar_year_and_29_february_moves_to_1_march() -> None:
    assert add_years(START, 3) == dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    leap = dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    assert add_years(leap, 3) == dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
    assert add_years(leap, 4) == leap.replace(year=2028)


def test_an_inbound_call_expires_three_years_after_it_started() -> None:
    policy = parse_retention("default=3y")
    expiry = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    just_before = decide(_facts(), policy, expiry - dt.timedelta(seconds=1))
    assert just_before.action is Action.KEEP
    at = decide(_facts(), policy, expiry)
    assert at.action is Action.DELETE
    assert at.kinds == (CallKind.INBOUND,)
    assert at.reason == "inbound, kept 3y, expired 2026-03-02"


def test_a_call_of_several_kinds_is_kept_for_the_longest_of_them() -> None:
    policy = parse_retention("default=3y,complaint=2000d,return_visit=4y")
    facts = _facts(
        direction=Direction.OUTBOUND,
        complaints=((5, ComplaintStatus.CLOSED),),
        return_visit=True,
    )
    decision = decide(facts, policy, START)
    assert decision.kinds == (CallKind.OUTBOUND, CallKind.RETURN_VISIT, CallKind.COMPLAINT)
    assert decision.retention == Retention(2000, "d")  # 2000 days is past 4 years (1461)
    assert decision.expires_at == START + dt.timedelta(days=2000)


def test_a_recording_without_an_interaction_is_kept_for_the_longest_configured() -> None:
    policy = parse_retention("default=3y,outbound=6y")
    decision = decide(_facts(direction=None), policy, add_years(START, 5))
    assert decision.action is Action.KEEP
    assert decision.retention == Retention(6, "y")
    assert "no interaction known" in decision.reason


def test_an_open_complaint_holds_an_expired_recording_and_a_closed_one_does_not() -> None:
    policy = parse_retention("default=3y")
    late = add_years(START, 10)
    for status in (
        ComplaintStatus.OPEN,
        ComplaintStatus.ACKNOWLEDGED,
        ComplaintStatus.INVESTIGATING,
        ComplaintStatus.RESOLVED,
    ):
        held = decide(_facts(complaints=((9, status),)), policy, late)
        assert held.action is Action.HOLD
        assert f"complaint 9 ({status.value}) not closed" in held.reason
    closed = decide(_facts(complaints=((9, ComplaintStatus.CLOSED),)), policy, late)
    assert closed.action is Action.DELETE


def test_a_recording_still_being_written_or_already_deleted_is_never_purged() -> None:
    policy = parse_retention("default=3y")
    late = add_years(START, 10)
    for status in (RecordingStatus.RECORDING, RecordingStatus.DELETED):
        assert decide(_facts(status=status), policy, late).action is Action.SKIP
    assert decide(_facts(status=RecordingStatus.FAILED), policy, late).action is Action.DELETE


def test_nothing_that_started_after_the_cutoff_can_have_expired() -> None:
    policy = parse_retention("default=5y,inbound=1100d")
    as_of = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    cutoff = oldest_unexpired_start(policy, as_of)
    after = _facts(started_at=cutoff + dt.timedelta(microseconds=1))
    assert decide(after, policy, as_of).action is Action.KEEP
    # ... and one that started exactly when it expires now is before the cutoff
    assert as_of - dt.timedelta(days=1100) <= cutoff
