"""The phase rules of an interaction: forward only, and the KPI durations they give."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from callcenter.crm.interactions import (
    Durations,
    InteractionRecord,
    Phase,
    PhaseAlreadyRecorded,
    PhaseOutOfOrder,
    PhaseUpdate,
    apply_phase,
    check_next_phase,
    durations,
)
from callcenter.crm.vocabulary import Channel, Direction

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def call(**phases: dt.datetime | int | None) -> InteractionRecord:
    blank = {f.name: None for f in dataclasses.fields(InteractionRecord)}
    return InteractionRecord(
        **{
            **blank,
            "id": 1,
            "channel": Channel.VOICE,
            "direction": Direction.INBOUND,
            "started_at": T0,
            "ivr_path": (),
            "authenticated": False,
            "version": 1,
            **phases,
        }
    )


def test_a_phase_may_skip_ahead() -> None:
    check_next_phase({Phase.STARTED: T0}, Phase.ANSWERED, at(5))


def test_a_phase_at_the_same_moment_as_the_last_one_is_accepted() -> None:
    check_next_phase({Phase.STARTED: T0, Phase.QUEUED: at(3)}, Phase.OFFERED, at(3))


def test_a_phase_earlier_than_the_latest_recorded_time_is_refused() -> None:
    with pytest.raises(PhaseOutOfOrder, match="earlier than queued"):
        check_next_phase({Phase.STARTED: T0, Phase.QUEUED: at(10)}, Phase.ANSWERED, at(9))


def test_a_phase_that_comes_before_a_recorded_one_is_refused_whatever_its_time() -> None:
    with pytest.raises(PhaseOutOfOrder, match="cannot follow answered"):
        check_next_phase({Phase.STARTED: T0, Phase.ANSWERED: at(10)}, Phase.QUEUED, at(20))


def test_a_phase_cannot_be_recorded_twice() -> None:
    with pytest.raises(PhaseAlreadyRecorded):
        check_next_phase({Phase.STARTED: T0, Phase.ENDED: at(10)}, Phase.ENDED, at(10))


def test_answered_call_durations() -> None:
    record = call(
        queued_at=at(20),
        answered_at=at(28),
        ended_at=at(208),
        wrapup_ended_at=at(238),
        hold_seconds=30,
    )
    assert durations(record) == Durations(wait_seconds=8, talk_seconds=150, wrapup_seconds=30)


def test_an_abandoned_call_waited_until_the_caller_hung_up() -> None:
    record = call(queued_at=at(20), ended_at=at(65))
    assert (durations(record).wait_seconds, durations(record).talk_seconds) == (45, None)


def test_a_call_never_queued_has_no_wait() -> None:
    assert durations(call(answered_at=at(3), ended_at=at(63))).wait_seconds is None


def test_apply_phase_sets_the_time_brings_the_details_and_recomputes_durations() -> None:
    record = call(queued_at=at(20), answered_at=at(28), agent_id=7)
    ended = apply_phase(
        record,
        PhaseUpdate(Phase.ENDED, at(88), disposition="resolved", notes="explained fees"),
    )
    assert (ended.ended_at, ended.talk_seconds, ended.wait_seconds) == (at(88), 60, 8)
    assert (ended.disposition, ended.notes, ended.agent_id) == ("resolved", "explained fees", 7)
    assert ended.version == 2
