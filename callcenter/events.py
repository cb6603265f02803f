"""The service's own events, published in process: what the agent desktop (websockets) and
the wallboard follow. The ACD publishes ``call.offered`` *before* it dials the agent's phone,
so a screen pop can beat the ring.

Publishing never waits: each subscriber has a bounded buffer, and one that falls behind loses
its oldest events and is told how many (a slow browser must never slow a call). A subscriber
may name events it must keep (``keep``, the screen pops for the websocket hub): those wait
in a buffer of their own, so a flood of other events never pushes them out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self


@dataclass(frozen=True)
class Event:
    seq: int  # increases by one per published event: a resuming client says where it was
    topic: str  # "call.offered", "agent.state", ...
    at: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)


class EventSubscription:
    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        accept: Callable[[Event], bool] | None,
        keep: Callable[[Event], bool] | None = None,
    ) -> None:
        self._bus = bus
        self._items: deque[Event] = deque(maxlen=maxsize)
        self._kept: deque[Event] = deque(maxlen=maxsize)  # the events ``keep`` names
        self._accept = accept
        self._keep = keep
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed or (self._accept is not None and not self._accept(event)):
            return
        items = self._kept if self._keep is not None and self._keep(event) else self._items
        if len(items) == items.maxlen:
            self.dropped += 1  # deque drops the oldest
        items.append(event)
        self._ready.set()

    async def get(self) -> Event:
        """The next event in publishing order (by seq), whichever buffer holds it."""
        while not self._items and not self._kept:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        if not self._kept:
            return self._items.popleft()
        if not self._items or self._kept[0].seq < self._items[0].seq:
            return self._kept.popleft()
        return self._items.popleft()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.unsubscribe(self)
            self._ready.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._subs: list[EventSubscription] = []
        self._seq = itertools.count(1)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.published = 0

    def publish(self, topic: str, data: Mapping[str, Any]) -> Event:
        event = Event(next(self._seq), topic, self._clock(), dict(data))
        self.published += 1
        for sub in list(self._subs):
            sub.offer(event)
        return event

    def subscribe(
        self,
        accept: Callable[[Event], bool] | None = None,
        maxsize: int = 1000,
        keep: Callable[[Event], bool] | None = None,
    ) -> EventSubscription:
        sub = EventSubscription(self, maxsize, accept, keep)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: EventSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
