"""The wallboard's FloorState, folded from scripted bus events (pure: no sockets, no clock)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from callcenter.crm.callstats import CallFact, CallFigures, classify
from callcenter.crm.vocabulary import Role
from callcenter.cti.floor import FLOOR_TOPIC, FloorState, SeedCall, mask_number
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.cti.routing import Viewer, delivers
from callcenter.events import EVENT_TYPES, Envelope, EventBus, FloorSnapshot, InvalidEvent
from tests.support.events import bus_event, summary, unknown_event

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Script:
    """Events at given seconds after T0, with increasing seq, applied to one FloorState."""

    def __init__(self, floor: FloorState) -> None:
        self.floor = floor
        self._seq = itertools.count(1)

    def at(self, seconds: float, topic: str, **data: Any) -> None:
        at = T0 + dt.timedelta(seconds=seconds)
        typed = bus_event(topic, **data) if topic in EVENT_TYPES else unknown_event(topic, **data)
        self.floor.apply(Envelope(next(self._seq), at, typed))


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def queue_row(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [row for row in snapshot["queues"] if row["queue"] == name]
    assert len(rows) == 1, snapshot["queues"]
    return rows[0]


def test_waiting_calls_and_the_longest_wait_per_queue() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", queue="general", priority=3)
    s.at(4, "call.queued", call_id="c2", queue="general", priority=3)
    s.at(6, "call.queued", call_id="c3", queue="vip", priority=9)

    snap = s.floor.snapshot(t(10))

    assert queue_row(snap, "general")["waiting"] == 2
    assert queue_row(snap, "general")["longest_wait_seconds"] == 10
    assert queue_row(snap, "vip")["waiting"] == 1
    assert queue_row(snap, "vip")["longest_wait_seconds"] == 4
    assert queue_row(snap, "general")["offered"] == 2


def test_the_waiting_calls_are_listed_longest_first_with_masked_caller_and_tier() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", queue="vip", priority=9,
         caller_number="+8613800138000", tier="vip")  # fmt: skip
    s.at(2, "call.queued", call_id="c2", queue="general", priority=3)
    s.at(5, "call.overflowed", call_id="c1", queue="vip", to_queue="general")
    s.at(6, "call.offered", call_id="c2", agent_id=12, caller_number="+8613900139000",
         client=summary(tier="gold"))  # fmt: skip
    s.at(7, "call.offered", call_id="c1", agent_id=13)  # names no caller: the queued one stays

    snap = s.floor.snapshot(t(10))

    assert snap["waiting"] == [
        {
            "call_id": "c1",
            "caller": "**********8000",
            "tier": "vip",
            "queue": "general",  # moved on, keeping the time it first queued
            "priority": 9,
            "waiting_since": t(0).isoformat(),
            "wait_seconds": 10,
            "kept_place": False,
        },
        {
            "call_id": "c2",
            "caller": "**********9000",
            "tier": "gold",
            "queue": "general",
            "priority": 3,
            "waiting_since": t(2).isoformat(),
            "wait_seconds": 8,
            "kept_place": False,
        },
    ]
    s.at(11, "call.answered", call_id="c1", agent_id=13, queue="general")
    after = s.floor.snapshot(t(12))
    assert [w["call_id"] for w in after["waiting"]] == ["c2"]
    assert [(c["call_id"], c["caller"], c["tier"]) for c in after["calls"]] == [
        ("c1", "**********8000", "vip")
    ]


def test_an_answered_call_leaves_the_queue_and_shows_as_a_live_call_with_its_agent() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", queue="general")
    s.at(3, "call.offered", call_id="c1", agent_id=12, caller_number="+8613800138000")
    s.at(8, "call.answered", call_id="c1", agent_id=12, queue="general", client_id=8801)

    snap = s.floor.snapshot(t(20))

    assert queue_row(snap, "general")["waiting"] == 0
    assert queue_row(snap, "general")["longest_wait_seconds"] is None
    assert snap["calls"] == [
        {
            "call_id": "c1",
            "caller": "**********8000",
            "tier": None,
            "queue": "general",
            "agent_id": 12,
            "answered_at": t(8).isoformat(),
            "duration_seconds": 12,
        }
    ]

    s.at(30, "call.ended", call_id="c1", agent_id=12, queue="general", transferred=False)
    assert s.floor.snapshot(t(31))["calls"] == []


def test_a_transferred_call_stays_on_the_board_with_the_agent_who_took_it() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", queue="general")
    s.at(2, "call.answered", call_id="c1", agent_id=12, queue="general")
    s.at(40, "call.answered", call_id="c1", agent_id=13, queue="general")
    s.at(41, "call.ended", call_id="c1", agent_id=12, queue="general", transferred=True)

    calls = s.floor.snapshot(t(50))["calls"]

    assert [(c["call_id"], c["agent_id"]) for c in calls] == [("c1", 13)]


def test_agents_by_state_with_reason_and_time_in_state_and_logged_out_agents_leave() -> None:
    s = Script(FloorState())
    s.at(0, "agent.state", agent_id=12, state="ready", reason=None, origin="api")
    s.at(5, "agent.state", agent_id=13, state="ready", reason=None, origin="api")
    s.at(10, "agent.state", agent_id=12, state="not_ready", reason="break", origin="api")
    s.at(11, "agent.state", agent_id=14, state="ready", reason=None, origin="api")
    s.at(12, "agent.state", agent_id=14, state="logged_out", reason=None, origin="api")

    agents = s.floor.snapshot(t(70))["agents"]

    assert [(a["agent_id"], a["state"], a["reason"], a["seconds_in_state"]) for a in agents] == [
        (12, "not_ready", "break", 60),
        (13, "ready", None, 65),
    ]
    assert agents[0]["since"] == t(10).isoformat()


def test_service_level_asa_and_abandon_rate_follow_the_reports_formulas() -> None:
    s = Script(FloorState(service_level_seconds={"general": 10.0}))
    # c1 answered after 8 s (in the level), c2 after 30 s (not), c3 abandons after 20 s,
    # c4 hangs up after 2 s (a short abandon: out of the level and the abandon rate).
    s.at(0, "call.queued", call_id="c1", queue="general")
    s.at(0, "call.queued", call_id="c2", queue="general")
    s.at(0, "call.queued", call_id="c3", queue="general")
    s.at(0, "call.queued", call_id="c4", queue="general")
    s.at(2, "call.abandoned", call_id="c4", queue="general", waited_seconds=2.0)
    s.at(8, "call.answered", call_id="c1", agent_id=12, queue="general")
    s.at(20, "call.abandoned", call_id="c3", queue="general", waited_seconds=20.0)
    s.at(30, "call.answered", call_id="c2", agent_id=13, queue="general")

    row = queue_row(s.floor.snapshot(t(31)), "general")

    assert row["offered"] == 4
    assert row["answered"] == 2
    assert row["service_level"] == pytest.approx(1 / 3, abs=1e-4)  # 1 of 4 - 1 short
    assert row["asa_seconds"] == 19.0  # (8 + 30) / 2
    assert row["abandon_rate"] == pytest.approx(1 / 3, abs=1e-4)


def test_an_overflow_moves_the_call_and_its_count_and_keeps_its_wait() -> None:
    s = Script(FloorState(service_level_seconds={"vip": 10.0, "general": 20.0}))
    s.at(0, "call.queued", call_id="c1", queue="vip")
    s.at(30, "call.overflowed", call_id="c1", queue="vip", to_queue="general", action="queue")
    snap = s.floor.snapshot(t(35))

    assert queue_row(snap, "vip")["waiting"] == 0
    assert queue_row(snap, "vip")["offered"] == 0
    assert queue_row(snap, "general")["waiting"] == 1
    assert queue_row(snap, "general")["longest_wait_seconds"] == 35  # from the first queue
    assert s.floor.figures("vip").overflowed_out == 1

    s.at(36, "call.answered", call_id="c1", agent_id=12, queue="general")
    general = s.floor.figures("general")
    assert (general.offered, general.answered, general.answered_in_threshold) == (1, 1, 0)
    assert general.answer_wait_seconds == 36.0


def test_an_overflow_back_to_the_ivr_counts_as_to_ivr_in_the_queue_it_left() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", queue="general")
    s.at(60, "call.overflowed", call_id="c1", queue="general", to_queue=None, action="ivr")

    figures = s.floor.figures("general")

    assert (figures.offered, figures.to_ivr, figures.waiting) == (1, 1, 0)
    assert queue_row(s.floor.snapshot(t(61)), "general")["waiting"] == 0


def test_the_figures_agree_with_the_report_of_the_same_calls() -> None:
    thresholds = {"general": 10.0, "vip": 5.0}
    s = Script(FloorState(service_level_seconds=thresholds))
    s.at(0, "call.queued", call_id="a", queue="general")
    s.at(1, "call.queued", call_id="b", queue="vip")
    s.at(2, "call.queued", call_id="c", queue="general")
    s.at(3, "call.queued", call_id="d", queue="general")
    s.at(4, "call.answered", call_id="b", agent_id=1, queue="vip")
    s.at(6, "call.abandoned", call_id="d", queue="general", waited_seconds=3.0)
    s.at(9, "call.answered", call_id="a", agent_id=2, queue="general")
    s.at(40, "call.abandoned", call_id="c", queue="general", waited_seconds=38.0)
    s.at(41, "call.queued", call_id="e", queue="general")  # still waiting

    def fact(n: int, queued: float, answered: float | None, ended: float | None) -> CallFact:
        return CallFact(
            id=n,
            started_at=t(queued),
            queued_at=t(queued),
            answered_at=None if answered is None else t(answered),
            ended_at=None if ended is None else t(ended),
            queue="vip" if n == 2 else "general",
        )

    facts = [
        fact(1, 0, 9, None),
        fact(2, 1, 4, None),
        fact(3, 2, None, 40),
        fact(4, 3, None, 6),
        fact(5, 41, None, None),
    ]
    for queue in ("general", "vip"):
        report = CallFigures.of(classify(f, thresholds, {}) for f in facts if f.queue == queue)
        assert s.floor.figures(queue) == report


@pytest.mark.parametrize("end", ["answered", "abandoned", "waiting"])
def test_a_call_the_ivr_queues_again_after_an_overflow_is_one_call_as_in_the_report(
    end: str,
) -> None:
    """Overflowed back to the IVR at 60 s, the caller keys "keep waiting" and is queued
    again at 70 s: one call, its wait from 0 s; the IVR's (to_ivr) unless answered."""
    thresholds = {"general": 10.0}
    s = Script(FloorState(service_level_seconds=thresholds))
    s.at(0, "call.queued", call_id="x", queue="general")
    s.at(60, "call.overflowed", call_id="x", queue="general", to_queue=None)
    s.at(70, "call.queued", call_id="x", queue="general")
    if end == "answered":
        s.at(75, "call.answered", call_id="x", agent_id=3, queue="general")
    elif end == "abandoned":
        s.at(75, "call.abandoned", call_id="x", queue="general", waited_seconds=5.0)
    fact = CallFact(
        id=1,
        started_at=t(0),
        queued_at=t(0),
        answered_at=t(75) if end == "answered" else None,
        ended_at=t(75) if end == "abandoned" else None,
        ivr_path=("overflow:general=max_wait",),
        queue="general",
    )
    report = CallFigures.of([classify(fact, thresholds, {})])
    assert s.floor.figures("general") == report
    assert report.offered == 1


def test_an_abandon_counts_its_wait_from_the_first_queueing_not_the_acds_last_take() -> None:
    """A call waited 60 s, the service restarted and queued it again; the caller hangs up
    3 s later (the ACD says waited 3 s): a 63-s abandon in the report, not a short one."""
    floor = FloorState(service_level_seconds={"general": 10.0})
    floor.seed(T0.date(), {"general": CallFigures(offered=1, waiting=1)},
               [SeedCall("r1", "general", t(0))])  # fmt: skip
    s = Script(floor)
    s.at(61, "call.queued", call_id="r1", queue="general")
    s.at(63, "call.abandoned", call_id="r1", queue="general", waited_seconds=2.0)
    figures = s.floor.figures("general")
    assert (figures.offered, figures.abandoned, figures.short_abandoned) == (1, 1, 0)


def test_seeded_figures_carry_on_and_a_seeded_waiting_call_is_not_counted_twice() -> None:
    floor = FloorState(service_level_seconds={"general": 10.0})
    seeded = CallFigures(offered=10, answered=8, answered_in_threshold=6, answer_wait_seconds=64.0)
    floor.seed(T0.date(), {"general": seeded}, [SeedCall("w1", "general", t(-5))])
    s = Script(floor)
    s.at(1, "call.answered", call_id="w1", agent_id=12, queue="general")

    figures = floor.figures("general")

    assert (figures.offered, figures.answered, figures.answered_in_threshold) == (10, 9, 7)
    assert figures.answer_wait_seconds == 70.0


def test_a_new_business_day_starts_the_figures_again() -> None:
    floor = FloorState(tz=dt.timezone(dt.timedelta(hours=8)))  # 09:00 UTC is 17:00 there
    s = Script(floor)
    s.at(0, "call.queued", call_id="old", queue="general")
    s.at(1, "call.queued", call_id="x", queue="general")
    s.at(2, "call.answered", call_id="x", agent_id=1, queue="general")
    s.at(7 * 3600 + 5, "call.queued", call_id="new", queue="general")  # 00:00:05 next day
    s.at(7 * 3600 + 10, "call.answered", call_id="old", agent_id=2, queue="general")

    figures = floor.figures("general")

    assert floor.day == dt.date(2026, 3, 3)
    # Only the call queued after midnight counts; the one from yesterday was yesterday's.
    assert (figures.offered, figures.answered, figures.waiting) == (1, 0, 1)


def test_changed_is_set_by_an_event_and_cleared_by_a_snapshot() -> None:
    s = Script(FloorState())
    s.floor.snapshot(T0)
    assert not s.floor.changed
    s.at(1, "ivr.entered", call_id="c1")  # a topic the floor does not follow
    assert not s.floor.changed
    s.at(2, "call.queued", call_id="c1", queue="general")
    assert s.floor.changed
    s.floor.snapshot(t(3))
    assert not s.floor.changed


def test_a_malformed_event_is_ignored_and_the_picture_stays() -> None:
    s = Script(FloorState())
    s.at(0, "agent.state", agent_id=12, state="ready", reason=None)
    # Refused where they are built: a malformed event never reaches the floor.
    with pytest.raises(InvalidEvent):
        s.at(1, "agent.state", agent_id=True, state="not_ready", reason="break")
    with pytest.raises(InvalidEvent):
        s.at(2, "call.answered", queue="general")  # no call_id

    snap = s.floor.snapshot(t(3))

    assert [(a["agent_id"], a["state"]) for a in snap["agents"]] == [(12, "ready")]
    assert snap["calls"] == []


def test_a_kept_place_waits_on_the_board_from_its_first_queueing_and_counts_once() -> None:
    s = Script(FloorState())
    s.at(0, "call.queued", call_id="c1", caller_number="+8613800138000", tier="gold")
    s.at(30, "call.overflowed", call_id="c1", to_queue=None)  # to the callback offer
    s.at(3, "call.queued", call_id="c2")
    s.at(36, "call.place_kept", call_id="c1", item_id=77, waiting_since=t(0).isoformat(),
         caller_number="+8613800138000", tier="gold")  # fmt: skip

    snap = s.floor.snapshot(t(40))

    row = queue_row(snap, "general")
    assert (row["waiting"], row["kept_places"], row["longest_wait_seconds"]) == (2, 1, 40)
    assert row["offered"] == 2, "the kept call is counted once, as its record says"
    assert [(w["call_id"], w["kept_place"], w["caller"]) for w in snap["waiting"]] == [
        ("c1", True, "**********8000"),
        ("c2", False, None),
    ]

    s.at(50, "call.place_left", call_id="c1", item_id=77, agent_id=12, outcome="reached")
    after = s.floor.snapshot(t(51))
    assert [w["call_id"] for w in after["waiting"]] == ["c2"]
    assert queue_row(after, "general")["kept_places"] == 0


def test_no_queue_shows_figures_before_a_call() -> None:
    s = Script(FloorState())
    s.at(0, "queue.changed", queue="general")

    row = queue_row(s.floor.snapshot(t(1)), "general")

    assert row == {
        "queue": "general",
        "waiting": 0,
        "kept_places": 0,
        "longest_wait_seconds": None,
        "longest_waiting_since": None,
        "offered": 0,
        "answered": 0,
        "service_level": None,
        "asa_seconds": None,
        "abandon_rate": None,
    }


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+8613800138000", "**********8000"),
        ("1001", "1001"),
        ("12", "12"),
        ("", None),
        (None, None),
    ],
)
def test_the_callers_number_is_masked_to_its_last_four_digits(
    number: str | None, masked: str | None
) -> None:
    assert mask_number(number) == masked


async def test_the_publisher_folds_bus_events_and_a_burst_makes_one_snapshot() -> None:
    now = [0.0]
    bus = EventBus(clock=lambda: t(0))
    publisher = FloorPublisher(
        bus,
        FloorState(),
        batch=0.05,
        gap=0.2,
        refresh=5.0,
        wallclock=lambda: t(12),
        clock=lambda: now[0],
    )
    seen = bus.subscribe(lambda e: e.topic == FLOOR_TOPIC)
    # The seeded picture is pending from the start, and waits for the gap like any other.
    assert publisher.pacing.due == pytest.approx(0.2)
    now[0] = 0.2
    publisher.publish()  # the first picture, empty
    await seen.get()
    assert publisher.pacing.due == pytest.approx(5.2)  # nothing moved: the quiet refresh
    now[0] = 1.0
    for n in range(50):  # a burst
        bus.publish(bus_event("call.queued", call_id=f"c{n}", queue="general"))
    bus.publish(bus_event("agent.state", agent_id=12, state="ready", reason=None))
    publisher.close()
    await publisher.fold()  # drains what was published, then stops
    # The burst's first change armed the snapshot; the 50 others ride in it.
    assert publisher.pacing.due == pytest.approx(1.05)

    snapshot = publisher.publish()

    assert snapshot.topic == FLOOR_TOPIC
    assert queue_row(snapshot.payload.to_data(), "general")["waiting"] == 50
    assert snapshot.payload.agents[0]["seconds_in_state"] == 12
    assert await seen.get() is snapshot
    assert bus.published == 1 + 51 + 1
    assert publisher.pacing.due == pytest.approx(6.0)  # quiet again: the refresh


async def test_the_publisher_does_not_fold_its_own_snapshots() -> None:
    bus = EventBus()
    publisher = FloorPublisher(bus, FloorState())
    publisher.publish()
    publisher.close()
    await publisher.fold()
    assert not publisher.state.changed
    assert publisher.pacing.pending_since is None


@pytest.mark.parametrize(
    ("role", "receives"),
    [(Role.AGENT, False), (Role.ADVISOR, False), (Role.SUPERVISOR, True), (Role.ADMIN, True)],
)
def test_the_snapshot_reaches_managers_only(role: Role, receives: bool) -> None:
    event = Envelope(1, T0, FloorSnapshot.from_data(FloorState().snapshot(T0)))
    assert delivers(Viewer(12, "someone", role), event) is receives


def test_a_call_answered_exactly_at_the_threshold_is_within_the_service_level() -> None:
    s = Script(FloorState(service_level_seconds={"general": 10.0}))
    s.at(0, "call.queued", call_id="c1", queue="general")
    s.at(10, "call.answered", call_id="c1", agent_id=12, queue="general")

    assert queue_row(s.floor.snapshot(t(11)), "general")["service_level"] == 1.0


async def test_a_snapshot_after_a_quiet_midnight_starts_the_new_day() -> None:
    now = [t(0)]
    bus = EventBus(clock=lambda: now[0])
    publisher = FloorPublisher(bus, FloorState(), wallclock=lambda: now[0])
    bus.publish(bus_event("call.queued", call_id="c1", queue="general"))
    bus.publish(bus_event("call.answered", call_id="c1", agent_id=1, queue="general"))
    publisher.close()
    await publisher.fold()
    assert publisher.state.figures("general").answered == 1

    now[0] = t(15 * 3600)  # 00:00 UTC next day, and no event since
    snapshot = publisher.publish()  # the quiet refresh (test_floor_push.py runs it)

    assert snapshot.payload.day == dt.date(2026, 3, 3)
    assert queue_row(snapshot.payload.to_data(), "general")["answered"] == 0


def test_configured_queues_are_on_the_board_with_zero_figures_and_stay_after_midnight() -> None:
    floor = FloorState(tz=dt.timezone(dt.timedelta(hours=8)))  # 09:00 UTC is 17:00 there
    floor.seed(
        T0.date(), {"general": CallFigures(offered=1, answered=1)}, queues=["vip", "general"]
    )
    s = Script(floor)

    assert [q["queue"] for q in floor.snapshot(t(1))["queues"]] == ["general", "vip"]
    assert queue_row(floor.snapshot(t(1)), "vip")["offered"] == 0
    s.at(7 * 3600 + 5, "call.queued", call_id="new", queue="general")  # 00:00:05 next day

    snap = floor.snapshot(t(7 * 3600 + 6))
    assert [q["queue"] for q in snap["queues"]] == ["general", "vip"]
    assert (queue_row(snap, "vip")["offered"], queue_row(snap, "general")["offered"]) == (0, 1)
