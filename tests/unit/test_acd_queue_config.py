"""Queue configuration: opening hours, the checks a stored queue passes, its JSON form, and
what a waiting caller is told."""

# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from callcenter.acd.model import QueueConfig, QueueHours
from callcenter.acd.queues import (
    InvalidQueueConfig,
    check_queue_config,
    config_from_json,
    config_to_json,
)
from callcenter.ivr.speech import CoreSound, Phrase, speak_queue_place, vocabulary

MON, SAT, SUN = dt.date(2026, 11, 23), dt.date(2026, 11, 28), dt.date(2026, 11, 29)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm))


TRADING = QueueHours(dt.time(9, 0), dt.time(15, 30))
NIGHT = QueueHours(dt.time(22, 0), dt.time(6, 0), frozenset({1, 2, 3, 4, 5}))


@pytest.mark.parametrize(
    ("hours", "when", "holiday", "open_"),
    [
        (TRADING, at(MON, 9), False, True),
        (TRADING, at(MON, 8, 59), False, False),
        (TRADING, at(MON, 15, 29), False, True),
        (TRADING, at(MON, 15, 30), False, False),  # closes is exclusive
        (TRADING, at(SAT, 10), False, False),
        (TRADING, at(MON, 10), True, False),  # the exchange's holidays close every queue
        (NIGHT, at(MON, 23), False, True),
        (NIGHT, at(MON + dt.timedelta(days=1), 3), False, True),  # Monday's night, Tuesday 3am
        (NIGHT, at(MON, 3), False, False),  # Sunday's night: Sunday is not a working day
        (NIGHT, at(SAT, 3), False, True),  # Friday's night runs into Saturday
        (NIGHT, at(SUN, 23), False, False),
        (NIGHT, at(MON, 12), False, False),
    ],
)
def test_queue_hours(hours: QueueHours, when: dt.datetime, holiday: bool, open_: bool) -> None:
    assert hours.is_open(when, holiday) is open_


def test_a_queue_config_round_trips_through_json_with_hours_and_overflow() -> None:
    config = QueueConfig(
        "trading_support",
        required_skills=("trading",),
        max_wait_seconds=90,
        overflow_node="queue_full",
        announce_position=True,
        announce_every_seconds=45,
        hours=TRADING,
    )
    data = config_to_json(config)
    assert data["hours"] == {"opens": "09:00", "closes": "15:30", "weekdays": [1, 2, 3, 4, 5]}
    assert config_from_json("trading_support", data) == config


def test_a_stored_queue_without_the_new_fields_reads_back_with_defaults() -> None:
    old_row = {"required_skills": ["trading"], "max_wait_seconds": 60, "announce_position": True}
    config = config_from_json("q", old_row)
    assert config.overflow_node is None
    assert config.hours is None
    assert config.announce_every_seconds == QueueConfig("x").announce_every_seconds


def test_bad_stored_hours_are_a_named_error() -> None:
    with pytest.raises(InvalidQueueConfig, match="hours are") as error:
        config_from_json("q", {"hours": {"opens": "9 o'clock", "closes": "17:00"}})
    assert error.value.detail.get("field") == "hours"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"overflow_node": "queue_full", "overflow_queue": "general"}, "overflow_node", "not both"),
        ({"overflow_node": "queue full!"}, "overflow_node", "not an IVR node id"),
        ({"max_wait_seconds": 0}, "max_wait_seconds", "more than 0"),
        ({"wrap_up_seconds": -1}, "wrap_up_seconds", "cannot be negative"),
        ({"announce_every_seconds": 5}, "announce_every_seconds", "at least 15"),
        ({"hours": QueueHours(dt.time(9), dt.time(9))}, "hours", "open and close at once"),
        ({"hours": QueueHours(dt.time(9), dt.time(17), frozenset({0}))}, "hours", "1-7"),
    ],
)
def test_queue_config_checks(change: dict[str, object], field: str, message: str) -> None:
    config = dataclasses.replace(QueueConfig("q"), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueueConfig, match=message) as error:
        check_queue_config(config, {"q": None, "general": None})
    assert error.value.detail.get("field") == field


def test_an_overflow_node_alone_is_accepted() -> None:
    config = QueueConfig("q", overflow_node="queue_full", hours=TRADING)
    assert check_queue_config(config, {"q": None}) == config


# --- what a waiting caller hears ------------------------------------------------------------


def _texts(utterance: tuple[object, ...]) -> list[str]:
    return [p.text if isinstance(p, Phrase) else str(getattr(p, "name", p)) for p in utterance]


def test_the_next_caller_is_told_so_and_the_wait_under_a_minute() -> None:
    assert _texts(speak_queue_place(0, 0, "en")) == [
        "You are next. Please hold.",
        "Your expected wait is under a minute.",
    ]
    assert _texts(speak_queue_place(0, None, "zh")) == ["您是下一位，请稍候。"]


def test_callers_ahead_and_minutes_in_english_with_singulars() -> None:
    assert speak_queue_place(1, 1, "en") == (
        Phrase("There is", "en"),
        CoreSound("digits/1"),
        Phrase("caller ahead of you.", "en"),
        Phrase("Your expected wait is about", "en"),
        CoreSound("digits/1"),
        Phrase("minute.", "en"),
    )
    spoken = _texts(speak_queue_place(3, 12, "en"))
    assert spoken == [
        "There are",
        "digits/3",
        "callers ahead of you.",
        "Your expected wait is about",
        "digits/12",
        "minutes.",
    ]


def test_callers_ahead_and_minutes_in_mandarin_say_liang() -> None:
    assert _texts(speak_queue_place(2, 2, "zh")) == [
        "您前面还有",
        "两",
        "位客户在等候。",
        "预计等待约",
        "两",
        "分钟。",
    ]


def test_every_announcement_phrase_is_rendered_at_setup() -> None:
    rendered = set(vocabulary())
    for ahead in (0, 1, 2, 7, 23, 105):
        for minutes in (None, 0, 1, 2, 15):
            for language in ("zh", "en"):
                for part in speak_queue_place(ahead, minutes, language):  # type: ignore[arg-type]
                    if isinstance(part, Phrase):
                        assert (part.text, part.language) in rendered


def test_a_negative_place_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        speak_queue_place(-1, None, "en")
