"""The outbound campaigns' progress on the wallboard (issue 18, point 6): read by the floor's
publisher through a reader we own, carried by the next ``floor.snapshot`` and projected to a
supervisor's socket; a read that fails keeps the last figures and the board moving."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.cti.floor import FLOOR_TOPIC, FloorState
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.cti.projections import projection_of
from callcenter.events import EventBus, FloorSnapshot
from callcenter.outbound.stats import CampaignProgress

T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
CALLBACKS = CampaignProgress(FollowUpKind.CALLBACK, 6, 4, 31, 52)
RETURN_VISITS = CampaignProgress(FollowUpKind.RETURN_VISIT, 140, 37, 18, 44)


class Reader:
    """Answers what it is given, and remembers when it was asked."""

    def __init__(self, *answers: Sequence[CampaignProgress] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[dt.datetime] = []

    async def __call__(self, now: dt.datetime) -> Sequence[CampaignProgress]:
        self.asked.append(now)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def publisher_with(reader: Reader, **kwargs: float) -> tuple[EventBus, FloorPublisher]:
    bus = EventBus(clock=lambda: T0)
    return bus, FloorPublisher(
        bus, FloorState(), wallclock=lambda: T0, campaigns=reader, refresh=60.0, **kwargs
    )


async def test_the_next_snapshot_carries_the_campaigns_read() -> None:
    reader = Reader([CALLBACKS, RETURN_VISITS])
    _bus, publisher = publisher_with(reader)
    publisher.publish()  # the first picture: nothing read yet
    assert publisher.pacing.pending_since is None  # quiet

    await publisher.read_campaigns()
    assert publisher.pacing.pending_since is not None  # the read moved the floor: pushed
    snapshot = publisher.publish()

    assert reader.asked == [T0]
    assert snapshot.topic == FLOOR_TOPIC
    assert [dict(row) for row in snapshot.payload.campaigns] == [
        {"kind": "callback", "open": 6, "due_now": 4, "done_today": 31, "attempts_today": 52},
        {
            "kind": "return_visit",
            "open": 140,
            "due_now": 37,
            "done_today": 18,
            "attempts_today": 44,
        },
    ]
    # A supervisor's socket gets them as they are.
    projection = projection_of(snapshot.payload)
    assert projection is not None
    sent = projection.data(snapshot.payload)
    assert sent["campaigns"] == snapshot.payload.to_data()["campaigns"]
    assert FloorSnapshot.from_data(snapshot.payload.to_data()) == snapshot.payload


async def test_the_same_figures_again_publish_nothing_new() -> None:
    _bus, publisher = publisher_with(Reader([CALLBACKS]))
    await publisher.read_campaigns()
    publisher.publish()
    await publisher.read_campaigns()
    assert publisher.pacing.pending_since is None  # unchanged: nothing is pushed


async def test_the_running_publisher_reads_them_every_interval_and_survives_a_failure() -> None:
    reader = Reader(OSError("database gone"), [CALLBACKS])
    # No quiet refresh within the test (60 s): the campaigns' snapshot is pushed by the read.
    bus, publisher = publisher_with(reader, batch=0.0, gap=0.01, campaign_seconds=0.01)
    seen = bus.subscribe(lambda e: e.topic == FLOOR_TOPIC)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(publisher.run())
        while True:  # until a snapshot shows the campaigns read after the failed one
            event = await asyncio.wait_for(seen.get(), 5.0)
            assert isinstance(event.payload, FloorSnapshot)
            if event.payload.campaigns:
                break
        publisher.close()

    assert len(reader.asked) >= 2
    assert event.payload.campaigns[0]["kind"] == "callback"


def test_a_floor_without_outbound_work_shows_no_campaigns() -> None:
    state = FloorState()
    assert state.view(T0)["campaigns"] == []
    state.set_campaigns([])
    state.snapshot(T0)
    state.set_campaigns([])
    assert not state.changed
