"""The wallboard's driver: folds the bus's events into a :class:`~callcenter.cti.floor.
FloorState` and publishes ``floor.snapshot`` on the bus, at most once a second; reads the
outbound campaigns' progress into it every few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from callcenter.cti.floor import FOLDED_TOPICS, FloorState
from callcenter.events import Envelope, EventBus, FloorSnapshot
from callcenter.outbound.stats import CampaignProgress

log = logging.getLogger(__name__)

SNAPSHOT_SECONDS = 1.0  # changes show within a second; no more than one snapshot a second
# A quiet floor is sent again this often all the same: a wallboard opened during a lull has
# its first picture within this time (until a REST route gives it one at once).
REFRESH_SECONDS = 5.0
# The campaigns' progress is read from the database this often: three grouped reads along
# indexes (callcenter/persistence/outbound_reports.py), whatever the number of wallboards.
CAMPAIGN_SECONDS = 10.0

# The campaigns' progress at a time (callcenter/persistence/outbound_reports.py).
CampaignReader = Callable[[dt.datetime], Awaitable[Sequence[CampaignProgress]]]


class FloorPublisher:
    """Folds the bus's events into a :class:`FloorState` and publishes ``floor.snapshot``
    on the bus at most once every ``interval`` seconds, and only when something changed.

    The hub then sends the snapshot to managers' connections (routing.FLOOR_TOPICS): one
    message a second each, whatever the traffic, and nothing on the path of a screen pop.
    """

    def __init__(
        self,
        bus: EventBus,
        state: FloorState,
        *,
        interval: float = SNAPSHOT_SECONDS,
        refresh: float = REFRESH_SECONDS,
        wallclock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        bus_buffer: int = 10_000,
        campaigns: CampaignReader | None = None,
        campaign_seconds: float = CAMPAIGN_SECONDS,
    ) -> None:
        self.state = state
        self._campaigns = campaigns
        self._campaign_seconds = campaign_seconds
        self.interval = interval
        self._bus = bus
        self._wallclock = wallclock
        # Subscribed at once, not when run() starts: no event falls between the two.
        self._sub = bus.subscribe(lambda e: e.topic in FOLDED_TOPICS, maxsize=bus_buffer)
        self._dropped_seen = 0
        self._refresh_ticks = max(1, round(refresh / interval))
        self._quiet_ticks = 0
        self._stopped = asyncio.Event()

    @property
    def events_lost(self) -> int:
        """Events dropped before the floor folded them: the picture may be off since."""
        return self._sub.dropped

    async def run(self) -> None:
        """Until :meth:`close`: fold events as they come, publish once per interval."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.fold(), name="floor-fold")
            tg.create_task(self._tick(), name="floor-tick")
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

    async def _tick(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.interval)
                return  # closed: no sleeping out the interval
            try:
                self.tick()
            except Exception:  # the wallboard stops moving; the calls go on
                log.exception("floor: no snapshot this tick")

    async def read_campaigns(self) -> None:
        """Read the campaigns' progress into the floor now; the next tick shows it."""
        if self._campaigns is not None:
            rows = await self._campaigns(self._wallclock())
            self.state.set_campaigns([row.as_row() for row in rows])

    async def _read_campaigns(self) -> None:
        while not self._stopped.is_set():
            try:
                await self.read_campaigns()
            except Exception:  # the database: the board keeps the last figures until the next
                log.exception("floor: campaign progress not read")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._campaign_seconds)

    def tick(self) -> Envelope[FloorSnapshot] | None:
        """One interval passed: publish if anything moved, or if the floor was quiet for
        ``refresh`` seconds. The event published, else None."""
        self._quiet_ticks += 1
        self.state.roll_day(self._wallclock())  # a quiet midnight starts the day all the same
        if not self.state.changed and self._quiet_ticks < self._refresh_ticks:
            return None
        self._quiet_ticks = 0
        # The floor's view is JSON-ready already: its rows travel as they are.
        return self._bus.publish(FloorSnapshot.from_data(self.state.snapshot(self._wallclock())))

    def close(self) -> None:
        self._stopped.set()
        self._sub.close()
