"""The wallboard's driver: folds the bus's events into a :class:`~callcenter.cti.floor.
FloorState` and pushes ``floor.snapshot`` on the bus when the floor changes; reads the
outbound campaigns' progress into it every few seconds.

A change is pushed, not waited for on a timer (issue 20): the first change after a snapshot
arms it, and it goes out :data:`BATCH_SECONDS` later with whatever else moved meanwhile, but
never within :data:`GAP_SECONDS` of the last one (cti/floor_pacing.py decides when). The
numbers:

* the target is a change on the supervisors' screens within 250 ms at p95. On a quiet floor
  a change waits for the batch alone (50 ms). On a busy one, changes come faster than the gap
  and the snapshots go out once per gap: a change waits what is left of it, up to the whole
  gap, 190 ms at p95 with a 200 ms gap, which leaves 60 ms for the hub to write the snapshot
  onto 100 sockets and the browser to read it (docs/benchmarks.md measures it end to end);
* 50 ms of batching is what the ACD takes to publish one call's events (queued, offered,
  reserved; answered, on call): they come in one snapshot instead of one each;
* a 200 ms gap is at most 5 snapshots a second per wallboard, whatever the traffic: with 100
  wallboards open, 500 writes a second of one shared, once-encoded message. The hub takes a
  screen pop before any other event waiting (cti/hub.py) and each desk's socket has its own
  queue, so a snapshot's fan-out only shares the event loop with the pop, never a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from callcenter.cti.floor import FOLDED_TOPICS, FloorState
from callcenter.cti.floor_pacing import SnapshotPacing
from callcenter.events import Envelope, EventBus, FloorSnapshot
from callcenter.outbound.stats import CampaignProgress

log = logging.getLogger(__name__)

BATCH_SECONDS = 0.05  # a change waits this long for the rest of its burst (module doc)
GAP_SECONDS = 0.2  # at most one snapshot per this long, however busy the floor
# A quiet floor is sent again this often all the same: a new business day shows after a
# quiet midnight, and a board that missed a snapshot is put right.
REFRESH_SECONDS = 5.0
# The campaigns' progress is read from the database this often: three grouped reads along
# indexes (callcenter/persistence/outbound_reports.py), whatever the number of wallboards.
CAMPAIGN_SECONDS = 10.0

# The campaigns' progress at a time (callcenter/persistence/outbound_reports.py).
CampaignReader = Callable[[dt.datetime], Awaitable[Sequence[CampaignProgress]]]


class FloorPublisher:
    """Folds the bus's events into a :class:`FloorState` and publishes ``floor.snapshot``
    on the bus ``batch`` seconds after a change, at most once every ``gap`` seconds, and
    every ``refresh`` seconds when nothing changed.

    The hub then sends the snapshot to managers' connections (routing.FLOOR_TOPICS): a few
    messages a second each at most, whatever the traffic, and nothing on a pop's queue.
    ``clock`` (monotonic seconds) and ``sleep`` are the test seam for time.
    """

    def __init__(
        self,
        bus: EventBus,
        state: FloorState,
        *,
        batch: float = BATCH_SECONDS,
        gap: float = GAP_SECONDS,
        refresh: float = REFRESH_SECONDS,
        wallclock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        bus_buffer: int = 10_000,
        campaigns: CampaignReader | None = None,
        campaign_seconds: float = CAMPAIGN_SECONDS,
    ) -> None:
        self.state = state
        self._campaigns = campaigns
        self._campaign_seconds = campaign_seconds
        self._bus = bus
        self._wallclock = wallclock
        self._clock = clock
        self._sleep = sleep
        # Subscribed at once, not when run() starts: no event falls between the two.
        self._sub = bus.subscribe(lambda e: e.topic in FOLDED_TOPICS, maxsize=bus_buffer)
        self._dropped_seen = 0
        now = clock()
        self.pacing = SnapshotPacing(batch, gap, refresh, last_sent=now)
        if state.changed:  # the seeded picture: the first snapshot carries it
            self.pacing.changed(now)
        self._wake = asyncio.Event()  # the next snapshot came forward (or closing)
        self._stopped = asyncio.Event()

    @property
    def events_lost(self) -> int:
        """Events dropped before the floor folded them: the picture may be off since."""
        return self._sub.dropped

    async def run(self) -> None:
        """Until :meth:`close`: fold events as they come, push snapshots when due."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.fold(), name="floor-fold")
            tg.create_task(self._push(), name="floor-push")
            if self._campaigns is not None:
                tg.create_task(self._read_campaigns(), name="floor-campaigns")

    async def fold(self) -> None:
        """Apply every event of the subscription until it is closed and drained."""
        while True:
            try:
                event = await self._sub.get()
            except StopAsyncIteration:
                return
            if self._sub.dropped != self._dropped_seen:
                # The buffer overflowed: the picture may be off until the next resync.
                log.warning("floor: %d events lost", self._sub.dropped - self._dropped_seen)
                self._dropped_seen = self._sub.dropped
            try:
                self.state.apply(event)
            except Exception:  # a bug here must not stop the ACD beside it: log, go on
                log.exception("floor: event %s #%d not folded", event.topic, event.seq)
            self._note_change()

    def _note_change(self) -> None:
        if self.state.changed and self.pacing.changed(self._clock()):
            self._wake.set()

    async def _push(self) -> None:
        while not self._stopped.is_set():
            # No await between reading ``due`` and clearing the wake: no change is missed.
            self._wake.clear()
            wait = self.pacing.due - self._clock()
            if wait > 0:
                await self._nap(wait)
                continue
            try:
                self.publish()
            except Exception:  # the wallboard stops moving until the next change; calls go on
                log.exception("floor: no snapshot this time")
                self.pacing.sent(self._clock())

    async def _nap(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the next snapshot comes forward or we close."""
        woken = asyncio.ensure_future(self._wake.wait())
        slept = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait((woken, slept), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            slept.cancel()
            await asyncio.gather(woken, slept, return_exceptions=True)

    async def read_campaigns(self) -> None:
        """Read the campaigns' progress into the floor now; pushed if it moved."""
        if self._campaigns is not None:
            rows = await self._campaigns(self._wallclock())
            self.state.set_campaigns([row.as_row() for row in rows])
            self._note_change()

    async def _read_campaigns(self) -> None:
        while not self._stopped.is_set():
            try:
                await self.read_campaigns()
            except Exception:  # the database: the board keeps the last figures until the next
                log.exception("floor: campaign progress not read")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._campaign_seconds)

    def publish(self) -> Envelope[FloorSnapshot]:
        """Publish the picture now, whatever the pacing says; the event published."""
        self.state.roll_day(self._wallclock())  # a quiet midnight starts the day all the same
        # The floor's view is JSON-ready already: its rows travel as they are.
        snapshot = FloorSnapshot.from_data(self.state.snapshot(self._wallclock()))
        self.pacing.sent(self._clock())
        return self._bus.publish(snapshot)

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._sub.close()
