"""The live wallboard and the reports count with one set of rules (callcenter/crm/counting.py).

Each call below is a story of steps (queued, overflowed, sent back to the IVR, queued again,
moved by a supervisor, answered, abandoned, across midnight, in several queues). A story is
told twice: as the interaction record the service writes, which the report reads
(``call_report``), and as the bus events the ACD announces, which the wallboard folds
(``FloorState``). At every instant the two give the same figures for every queue, from an
empty start and from a seed of the report so far (a restart at any instant of the day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callcenter.crm import counting
from callcenter.crm.callstats import CallFact, CallFigures, CallReportInput, call_report
from callcenter.crm.counting import business_day, route_of
from callcenter.crm.report_intervals import IntervalKind, ReportRange, local_midnight
from callcenter.cti.floor import FloorState, SeedCall
from callcenter.events import Envelope, Event, event_from_data
from callcenter.persistence.floor import WAITING_SINCE

TIMEZONE = "Asia/Shanghai"
ZONE = ZoneInfo(TIMEZONE)
DAY1, DAY2, DAY3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)
THRESHOLDS = {"general": 10.0, "trading": 20.0, "vip": 5.0}  # "legacy" has none: 10 s
QUEUES = ("general", "trading", "vip", "legacy")
AGENT = 7


def local(day: dt.date, hh: int, mm: int, ss: float = 0.0) -> dt.datetime:
    return local_midnight(day, ZONE) + dt.timedelta(hours=hh, minutes=mm, seconds=ss)


# --- the calls ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    # queued | overflow (into a queue) | to_ivr | requeued (by the IVR) | ivr_ended | moved
    # (by a supervisor) | answered | ended (the talk) | abandoned | restart (the ACD puts a
    # waiting call back into its queue when the service starts again)
    what: str
    queue: str | None = None  # queued, requeued: the queue; overflow, moved: the target
    reason: str = "max_wait"  # to_ivr: why


@dataclass(frozen=True)
class Story:
    n: int
    steps: tuple[Step, ...]

    @property
    def call_id(self) -> str:
        return f"c{self.n}"


def story(n: int, start: dt.datetime, *steps: tuple[Any, ...]) -> Story:
    """Steps as (what, seconds after ``start``, queue?, reason?)."""
    return Story(
        n,
        tuple(Step(start + dt.timedelta(seconds=s[1]), s[0], *s[2:]) for s in steps),
    )


D1 = local(DAY1, 9, 0)
STORIES = (
    # Day 1, 09:00 local. Seconds after 09:00.
    story(1, D1, ("queued", 0, "general"), ("answered", 8), ("ended", 100)),
    story(2, D1, ("queued", 20, "general"), ("answered", 30), ("ended", 200)),  # 10 s: in SL
    story(3, D1, ("queued", 40, "general"), ("answered", 70), ("ended", 300)),  # 30 s: out
    story(4, D1, ("queued", 50, "general"), ("abandoned", 53)),  # short
    story(5, D1, ("queued", 60, "general"), ("abandoned", 65)),  # 5 s: not short
    story(6, D1, ("queued", 80, "general"), ("abandoned", 120)),
    story(7, D1, ("queued", 90, "vip"), ("overflow", 120, "general"), ("answered", 135)),
    story(8, D1, ("queued", 100, "vip"), ("overflow", 130, "general"), ("abandoned", 133)),
    story(9, D1, ("queued", 140, "general"), ("to_ivr", 200), ("ivr_ended", 230)),
    story(
        10,
        D1,
        ("queued", 150, "general"),
        ("to_ivr", 210),
        ("requeued", 220, "general"),
        ("answered", 226),
    ),
    story(
        11,
        D1,
        ("queued", 160, "general"),
        ("to_ivr", 215, None, "closed"),
        ("requeued", 225, "general"),
        ("abandoned", 228),
    ),
    story(12, D1, ("queued", 170, "general"), ("to_ivr", 240), ("requeued", 250, "general")),
    story(
        13, D1, ("queued", 300, "trading"), ("moved", 312, "vip"), ("answered", 314), ("ended", 400)
    ),
    story(14, D1, ("queued", 320, "general"), ("moved", 322, "trading"), ("abandoned", 324)),
    story(
        15,
        D1,
        ("queued", 330, "vip"),
        ("overflow", 360, "trading"),
        ("overflow", 390, "general"),
        ("answered", 395),
    ),
    story(16, D1, ("queued", 400, "legacy"), ("answered", 409)),  # the center's 10 s
    story(17, D1, ("queued", 410, "general")),  # waits on
    story(
        18,
        D1,
        ("queued", 420, "general"),
        ("to_ivr", 480),
        ("requeued", 500, "general"),
        ("moved", 510, "trading"),
        ("abandoned", 530),
    ),
    story(19, D1, ("queued", 430, "trading"), ("answered", 450), ("ended", 600)),  # 20 s: in
    story(20, D1, ("queued", 440, "vip"), ("answered", 445), ("ended", 500)),  # 5 s: in
    story(21, D1, ("queued", 450, "general"), ("answered", 450.5), ("ended", 460)),
    story(22, D1, ("queued", 460, "trading"), ("abandoned", 464.5)),
    # Across the first midnight: a call counts on the day it was first queued.
    story(23, local(DAY1, 23, 59, 50), ("queued", 0, "general"), ("answered", 15)),
    story(24, local(DAY1, 23, 59, 58), ("queued", 0, "general"), ("abandoned", 4)),
    story(25, local(DAY2, 0, 0, 3), ("queued", 0, "general"), ("answered", 7)),
    story(26, local(DAY1, 23, 59, 30), ("queued", 0, "trading"), ("abandoned", 90)),
    # Day 2.
    story(
        27,
        local(DAY2, 9, 0),
        ("queued", 0, "vip"),
        ("overflow", 30, "general"),
        ("answered", 35),
    ),
    story(28, local(DAY2, 9, 1), ("queued", 0, "general")),
    # Back in the IVR across the second midnight, queued again and answered on day 3.
    story(
        29,
        local(DAY2, 23, 59),
        ("queued", 0, "trading"),
        ("to_ivr", 30),
        ("requeued", 90, "trading"),
        ("answered", 100),
    ),
    story(30, local(DAY3, 0, 0, 20), ("queued", 0, "general"), ("abandoned", 30)),
)
END = local(DAY3, 0, 5)


# --- the record the service writes -----------------------------------------------------------


def record(s: Story, now: dt.datetime) -> CallFact | None:
    """The interaction record of ``s`` as it stands at ``now``, written as the service writes
    it: ``queued_at`` once, the queue on every overflow and move (with its path entry), an
    overflow back to the IVR only when the IVR is done with the call (callcenter/persistence/
    ivr_backend.py finish_resumed), the answer and the end."""
    queued_at = answered_at = ended_at = None
    queue: str | None = None
    path = ["language=1"]
    pending: list[str] = []  # the IVR overflow entries the record does not have yet
    for step in s.steps:
        if step.at > now:
            break
        match step.what:
            case "queued":
                queued_at, queue = step.at, step.queue
            case "overflow" | "moved":
                prefix = counting.OVERFLOW_PREFIX if step.what == "overflow" else "moved:"
                path.append(f"{prefix}{queue}={step.queue}")
                queue = step.queue
            case "to_ivr":
                pending.append(f"{counting.OVERFLOW_PREFIX}{queue}={step.reason}")
            case "requeued" | "ivr_ended":
                path += pending
                pending = []
                if step.what == "ivr_ended":
                    ended_at = step.at
            case "answered":
                answered_at = step.at
            case "abandoned" | "ended":
                ended_at = step.at
    if queued_at is None:
        return None
    return CallFact(
        id=s.n,
        started_at=queued_at - dt.timedelta(seconds=20),
        queued_at=queued_at,
        answered_at=answered_at,
        ended_at=ended_at,
        ivr_outcome="queued",
        ivr_path=tuple(path),
        queue=queue,
        agent_id=None if answered_at is None else AGENT,
    )


def in_the_ivr(s: Story, now: dt.datetime) -> bool:
    """Back in its IVR flow after an overflow: its record is behind until the IVR is done."""
    back = False
    for step in s.steps:
        if step.at <= now and step.what in ("to_ivr", "requeued", "ivr_ended"):
            back = step.what == "to_ivr"
    return back


def report(now: dt.datetime, day: dt.date | None = None) -> dict[str, CallFigures]:
    """The report of ``day`` (today) at ``now``, by queue, as the reports page and the seed
    read it."""
    day = day or business_day(now, ZONE)
    facts = [f for s in STORIES if (f := record(s, now)) is not None]
    data = CallReportInput(calls=facts, service_level_seconds=THRESHOLDS)
    rows = call_report(data, ReportRange.of(day, day, TIMEZONE), IntervalKind.DAY, now).queues
    return {row.queue: row.figures for row in rows}


# --- the events the ACD announces -----------------------------------------------------------


Published = tuple[dt.datetime, str, dict[str, Any]]  # when, topic, the event's fields


def events(s: Story, after: dt.datetime | None = None) -> Iterator[Published]:
    """What the ACD publishes for ``s``, after ``after`` (a restart then) or from the start."""
    queue: str | None = None
    taken: dt.datetime | None = None  # the ACD's last take: its waited_seconds run from there
    ids: dict[str, Any] = {"call_id": s.call_id, "interaction_id": s.n, "client_id": None}
    steps = list(s.steps)
    if after is not None and waiting_at(s, after):
        steps.append(Step(after, "restart"))
        steps.sort(key=lambda step: (step.at, step.what == "restart"))
    for step in steps:
        before = after is not None and (step.at <= after and step.what != "restart")
        topic, data = None, dict(ids)
        match step.what:
            case "queued" | "requeued" | "restart":
                queue, taken = step.queue or queue, step.at
                topic = "call.queued"
                data |= {"priority": 5, "language": "zh", "caller_number": "+8613800138000"}
                data |= {"tier": None}
            case "overflow" | "moved" | "to_ivr":
                topic = "call.overflowed"
                reason = {"moved": "moved", "to_ivr": step.reason}.get(step.what, "max_wait")
                action = "ivr" if step.what == "to_ivr" else "queue"
                data |= {"to_queue": step.queue, "action": action, "reason": reason}
                del data["client_id"]  # the overflow does not say
            case "answered":
                topic, data["agent_id"] = "call.answered", AGENT
            case "ended":
                topic = "call.ended"
                data |= {"agent_id": AGENT, "transferred": False}
            case "abandoned":
                assert taken is not None
                topic, data["waited_seconds"] = "call.abandoned", (step.at - taken).total_seconds()
            case _:
                pass  # the IVR's own end: no event
        if topic is not None and not before:
            assert queue is not None
            yield step.at, topic, {**data, "queue": queue}
        if step.what in ("overflow", "moved"):
            queue = step.queue


def waiting_at(s: Story, now: dt.datetime) -> bool:
    """In a queue at ``now`` (after its last step up to then) and started within the 12 hours
    the ACD adopts calls from (callcenter/pbx/adoption.py): the ACD takes it back."""
    fact = record(s, now)
    return (
        fact is not None
        and fact.started_at >= now - WAITING_SINCE
        and fact.answered_at is None
        and fact.ended_at is None
        and not in_the_ivr(s, now)
    )


def bus(after: dt.datetime | None = None) -> list[Envelope[Event]]:
    """Every story's events in the order the bus carries them."""
    timed = sorted(
        (at, s.n, i, topic, data)
        for s in STORIES
        for i, (at, topic, data) in enumerate(events(s, after))
    )
    return [
        envelope(seq, at, topic, data) for seq, (at, _n, _i, topic, data) in enumerate(timed, 1)
    ]


def envelope(seq: int, at: dt.datetime, topic: str, data: dict[str, Any]) -> Envelope[Event]:
    """The event as the bus carries it to the wallboard."""
    return Envelope(seq, at, event_from_data(topic, data))


# --- the comparison -------------------------------------------------------------------------


def figures(f: CallFigures) -> dict[str, object]:
    """Every figure the wallboard and the reports both show (handle times and first-contact
    resolution are the reports' alone)."""
    counts = dataclasses.asdict(f.counts())
    return {
        **counts,
        "decided": f.decided,
        "service_level": f.service_level,
        "abandon_rate": f.abandon_rate,
        "asa_seconds": f.asa_seconds,
    }


def assert_agree(floor: FloorState, now: dt.datetime) -> None:
    floor.roll_day(now)  # as the publisher's tick does on a quiet floor
    expected = report(now)
    assert floor.day == business_day(now, ZONE)
    for queue in QUEUES:
        want = figures(expected.get(queue, CallFigures()))
        assert figures(floor.figures(queue)) == want, f"{queue} at {now.astimezone(ZONE)}"
    for row in floor.view(now)["queues"]:  # what a supervisor reads on the board
        want_row = expected.get(row["queue"], CallFigures())
        assert (row["offered"], row["answered"]) == (want_row.offered, want_row.answered)
        assert row["service_level"] == _round(want_row.service_level, 4)
        assert row["asa_seconds"] == _round(want_row.asa_seconds, 1)
        assert row["abandon_rate"] == _round(want_row.abandon_rate, 4)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def comparable(now: dt.datetime) -> bool:
    """Whether the report at ``now`` reads what the floor knows: not while a call is back in
    the IVR after an overflow, whose record gets that overflow only when the IVR is done."""
    return not any(in_the_ivr(s, now) for s in STORIES)


def instants(envelopes: Sequence[Envelope[Event]]) -> list[dt.datetime]:
    midnights = [local_midnight(day, ZONE) for day in (DAY2, DAY3)]
    return sorted({e.at for e in envelopes} | {m - dt.timedelta(seconds=1) for m in midnights}
                  | set(midnights) | {END})  # fmt: skip


def seeded(at: dt.datetime) -> FloorState:
    """The floor as the service starts at ``at``: today's report so far and the calls still
    in a queue (callcenter/persistence/floor.py load_floor_seed, without the SQL)."""
    day = business_day(at, ZONE)
    since = min(local_midnight(day, ZONE), at - WAITING_SINCE)
    waiting = [
        SeedCall(s.call_id, fact.queue, fact.queued_at, route=route_of(fact.ivr_path))
        for s in STORIES
        if (fact := record(s, at)) is not None
        and fact.queue is not None
        and fact.queued_at is not None
        and since <= fact.queued_at <= at
        and fact.answered_at is None
        and fact.ended_at is None
    ]
    floor = FloorState(tz=ZONE, service_level_seconds=THRESHOLDS)
    floor.seed(day, report(at), waiting)
    return floor


def run(floor: FloorState, after: dt.datetime | None = None) -> int:
    """Fold the bus's events after ``after`` into ``floor``, comparing it with the report at
    every instant; how many instants were compared."""
    envelopes = bus(after)
    pending = iter(envelopes)
    upcoming = next(pending, None)
    compared = 0
    for now in instants(envelopes):
        if after is not None and now < after:
            continue
        while upcoming is not None and upcoming.at <= now:
            floor.apply(upcoming)
            upcoming = next(pending, None)
        if comparable(now):
            assert_agree(floor, now)
            compared += 1
    return compared


CUTS = [at for at in instants(bus()) if comparable(at) and at < END]


# --- the tests ------------------------------------------------------------------------------


def test_the_stories_cover_every_case_and_the_report_counts_them_as_by_hand() -> None:
    def counted(figures_by_queue: dict[str, CallFigures], queue: str, **want: float) -> None:
        got = figures(figures_by_queue.get(queue, CallFigures()))
        assert {k: got[k] for k in want} == want, queue

    # Day 1's last microsecond: calls 23 and 24 (general) and 26 (trading) still wait.
    last = report(local_midnight(DAY2, ZONE) - dt.timedelta(microseconds=1))
    counted(
        last,
        "general",
        offered=17,
        answered=7,  # 1 2 3 7 10 15 21
        answered_in_threshold=3,  # 1 (8 s), 2 (10 s: inclusive), 21 (0.5 s)
        abandoned=4,  # 4 (3 s: short), 5 (5 s: not), 6, 8 (33 s from its first queue)
        short_abandoned=1,
        to_ivr=3,  # 9 ended in the IVR, 11 abandoned after it, 12 waits after it
        waiting=3,  # 17, 23, 24
        overflowed_out=0,  # 14 and 18 were moved out by a supervisor: no overflow
        answer_wait_seconds=8 + 10 + 30 + 45 + 76 + 65 + 0.5,
    )
    # 13 moved in (14 s: out of vip's 5 s), 20 (5 s: in); 7, 8, 15 overflowed out.
    counted(last, "vip", offered=2, answered=2, answered_in_threshold=1, overflowed_out=3)
    counted(
        last,
        "trading",
        offered=5,  # 14 (moved in), 18 (moved in, the IVR's), 19, 22, 26
        answered_in_threshold=1,  # 19 (20 s: inclusive)
        abandoned=2,
        short_abandoned=2,  # 14 (4 s), 22 (4.5 s)
        to_ivr=1,
        waiting=1,
        overflowed_out=1,  # 15, on to general
    )
    counted(last, "legacy", offered=1, answered_in_threshold=1)  # 9 s: the center's 10 s
    # Each day once it is over: the calls across midnight count on the day they queued.
    over = {day: report(END, day) for day in (DAY1, DAY2, DAY3)}
    counted(over[DAY1], "general", answered=8, abandoned=5, short_abandoned=2, waiting=1)
    counted(over[DAY1], "trading", abandoned=3, waiting=0)  # 26 after 90 s
    counted(over[DAY2], "general", offered=3, answered=2, answered_in_threshold=1, waiting=1)
    counted(over[DAY2], "vip", offered=0, overflowed_out=1)
    counted(over[DAY2], "trading", offered=1, answered=1, to_ivr=0)  # 29, answered after 100 s
    counted(over[DAY3], "general", offered=1, abandoned=1)  # 30


def test_the_wallboard_from_an_empty_start_agrees_with_the_report_at_every_instant() -> None:
    compared = run(FloorState(tz=ZONE, service_level_seconds=THRESHOLDS))
    assert compared > 40


def test_the_wallboard_seeded_with_half_the_day_agrees_with_the_report() -> None:
    half = CUTS[len(CUTS) // 2]
    floor = seeded(half)
    assert floor.figures("general").offered > 0  # the seed carries figures
    assert run(floor, after=half) > 10


@pytest.mark.parametrize("cut", CUTS, ids=lambda at: at.astimezone(ZONE).strftime("%dT%H:%M:%S.%f"))
def test_the_wallboard_seeded_at_any_instant_agrees_with_the_report(cut: dt.datetime) -> None:
    """A restart at ``cut``: the seed, the ACD putting the waiting calls back into their
    queues, then the rest of the events."""
    run(seeded(cut), after=cut)


@pytest.mark.parametrize(
    ("rule", "value", "queue", "figure"),
    [
        # Abandons under 35 s are short: 5 s (call 5) and 33 s (call 8) become short.
        ("SHORT_ABANDON_SECONDS", 35.0, "general", "short_abandoned"),
        # The service level exclusive of its threshold: 10 s (call 2) falls out.
        ("is_in_service_level", lambda wait, cap: wait < cap, "general", "answered_in_threshold"),
        # An unconfigured queue judged by 8 s: 9 s (call 16) falls out.
        ("DEFAULT_SERVICE_LEVEL_SECONDS", 8.0, "legacy", "answered_in_threshold"),
    ],
)  # fmt: skip
def test_a_rule_changed_in_counting_moves_the_wallboard_and_the_report_alike(
    monkeypatch: pytest.MonkeyPatch, rule: str, value: object, queue: str, figure: str
) -> None:
    at = local(DAY1, 12, 0)
    before = figures(report(at)[queue])[figure]
    monkeypatch.setattr(counting, rule, value)
    after = figures(report(at)[queue])[figure]
    assert after != before  # the report moved...
    floor = FloorState(tz=ZONE, service_level_seconds=THRESHOLDS)
    for envelope in bus():
        if envelope.at <= at:
            floor.apply(envelope)
    assert figures(floor.figures(queue))[figure] == after  # ...and the wallboard with it
    run(FloorState(tz=ZONE, service_level_seconds=THRESHOLDS))  # and agree all along
