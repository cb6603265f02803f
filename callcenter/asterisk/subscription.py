"""Bounded, non-blocking fan-out from the AMI reader to its consumers.

The reader task must never wait on a consumer: Asterisk drops a manager session whose socket
it cannot write to within ``writetimeout`` (100 ms by default), so a slow handler anywhere would
cost every call its events. Each consumer therefore gets its own bounded buffer. When a
consumer falls behind and its buffer is full, everything it had not read is dropped and it
receives :class:`AmiEventsLost` next: a view built from events is only right again after a
resync, so partial delivery would be worse than an honest gap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, Self, TypeVar

from callcenter.asterisk.errors import AmiEventsLost

T = TypeVar("T")


class Subscription(Generic[T]):
    """One consumer's buffer. Read it from one task at a time: two concurrent ``get()``
    calls would share one waiter. Fan out to several consumers with several subscriptions."""

    def __init__(
        self,
        maxsize: int,
        on_close: Callable[[Subscription[T]], None],
        accept: Callable[[T], bool] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._accept = accept
        self._lost = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._on_close = on_close
        self.delivered = 0
        self.dropped_total = 0

    def offer(self, item: T) -> None:
        """Called by the reader, synchronously. Never blocks, never raises."""
        if self._closed or (self._accept is not None and not self._accept(item)):
            return
        self._put(item)
        self._wake()

    def offer_many(self, items: list[T]) -> None:
        """``offer()`` each of ``items`` in order, with one wake-up for them all.

        The reader hands over a whole read's events at once: a read holds hundreds of events
        under load, and one append and one wake-up each were a tenth of the client's time.
        What the consumer sees is the same as after one ``offer()`` per item, drops included.
        """
        if self._closed:
            return
        accept = self._accept
        if accept is not None:
            items = [item for item in items if accept(item)]
        if not items:
            return
        queue = self._items
        if len(queue) + len(items) <= self._maxsize:
            queue.extend(items)
        else:
            for item in items:
                self._put(item)
        self._wake()

    def _put(self, item: T) -> None:
        items = self._items
        if len(items) >= self._maxsize:
            dropped = len(items) + 1
            self._lost += dropped
            self.dropped_total += dropped
            items.clear()
        else:
            items.append(item)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
            self._wake()

    def __len__(self) -> int:
        return len(self._items)

    def get_nowait(self) -> T | None:
        """The next item, or None when nothing is buffered. Raises AmiEventsLost after a gap."""
        if self._lost:
            lost, self._lost = self._lost, 0
            raise AmiEventsLost(lost)
        if self._items:
            self.delivered += 1
            return self._items.popleft()
        return None

    async def get(self) -> T:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        # The common case inline: an item is buffered and nothing was lost.
        if self._items and not self._lost:
            self.delivered += 1
            return self._items.popleft()
        return await self.get()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
