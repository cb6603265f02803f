"""The bus the service's events travel on, in process: what the agent desktop (websockets) and
the wallboard follow. The ACD publishes ``call.offered`` *before* it dials the agent's phone,
so a screen pop can beat the ring.

Each event published is wrapped in an :class:`Envelope`: its place in the order of all events
(``seq``) and when it was published. The envelope serialises to JSON with its event, so the
bus can later be a broker between processes.

The counter starts again at 1 each time the service starts, so a ``seq`` alone does not name
an event: the bus's ``epoch`` (random, one per bus, that is per run) says which run's counter
it is. What reaches a client names an event by (``epoch``, ``seq``).

Several service instances (issue 21, docs/scaling.md): each envelope carries the ``epoch`` of
the bus that published it, its origin. The broker link (callcenter/broker/) sends the envelopes
this bus originated to the other instances, and hands the ones they originated to this bus with
:meth:`EventBus.deliver`: offered to the subscribers as they are, with their origin's epoch and
seq, never renumbered (a desk resuming on another instance names the event as its origin
does). :attr:`Envelope.epoch` tells a local envelope from a remote one.

Publishing never waits: each subscriber has a bounded buffer, and one that falls behind loses
its oldest events and is told how many (a slow browser must never slow a call). A subscriber
may name events it must keep (``keep``, the screen pops for the websocket hub): those wait
in a buffer of their own, so a flood of other events never pushes them out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from callcenter.events.codec import InvalidEvent, UnknownVersion
from callcenter.events.topics import Event, event_type

E = TypeVar("E", bound=Event)
E_co = TypeVar("E_co", bound=Event, covariant=True)


@dataclass(frozen=True, slots=True)
class Envelope(Generic[E_co]):
    """One published event: ``seq`` increases by one per event published (a resuming client
    says where it was), ``at`` is when it was published, ``epoch`` the run of the bus that
    published it (its origin; empty only in tests that build envelopes by hand)."""

    seq: int
    at: dt.datetime
    payload: E_co
    epoch: str = ""

    @property
    def topic(self) -> str:
        return self.payload.TOPIC

    def narrow(self, kind: type[E]) -> Envelope[E] | None:
        """This envelope typed by its event's class, if the event is a ``kind``."""
        return self if isinstance(self.payload, kind) else None  # type: ignore[return-value]

    def to_json(self) -> str:
        return json.dumps(
            {
                "topic": self.payload.TOPIC,
                "version": self.payload.VERSION,
                "epoch": self.epoch,
                "seq": self.seq,
                "at": self.at.isoformat(),
                "data": self.payload.to_data(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str | bytes) -> Envelope[Event]:
        """An envelope another process sent; its topic and version must be ours."""
        try:
            body = json.loads(text)
            topic, version, seq, at = body["topic"], body["version"], body["seq"], body["at"]
            data, epoch = body["data"], body.get("epoch", "")
        except (ValueError, TypeError, KeyError):
            raise InvalidEvent("not an event envelope") from None
        if not isinstance(topic, str) or type(seq) is not int or not isinstance(at, str):
            raise InvalidEvent("an envelope's topic and at are strings, its seq a whole number")
        if not isinstance(epoch, str):
            raise InvalidEvent("an envelope's epoch is a string")
        kind = event_type(topic)
        if type(version) is not int or version != kind.VERSION:
            raise UnknownVersion(f"{topic} version {version!r}: this service reads {kind.VERSION}")
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            raise InvalidEvent(f"{topic}: at is not an ISO-8601 time") from None
        if when.tzinfo is None:
            raise InvalidEvent(f"{topic}: at has no UTC offset")
        return Envelope(seq, when, kind.from_data(data), epoch)


class EventSubscription:
    def __init__(
        self,
        bus: EventBus,
        maxsize: int,
        accept: Callable[[Envelope[Event]], bool] | None,
        keep: Callable[[Envelope[Event]], bool] | None = None,
    ) -> None:
        self._bus = bus
        # Each with its place in the order of arrival: envelopes of several origins (remote
        # ones, EventBus.deliver) have seqs of different counters, which order nothing.
        self._items: deque[tuple[int, Envelope[Event]]] = deque(maxlen=maxsize)
        self._kept: deque[tuple[int, Envelope[Event]]] = deque(maxlen=maxsize)  # ``keep``'s
        self._arrivals = itertools.count()
        self._accept = accept
        self._keep = keep
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def offer(self, event: Envelope[Event]) -> None:
        if self.closed or (self._accept is not None and not self._accept(event)):
            return
        items = self._kept if self._keep is not None and self._keep(event) else self._items
        if len(items) == items.maxlen:
            self.dropped += 1  # deque drops the oldest
        items.append((next(self._arrivals), event))
        self._ready.set()

    async def get(self) -> Envelope[Event]:
        """The next event in the order the bus offered them, whichever buffer holds it."""
        while not self._items and not self._kept:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        if not self._kept:
            return self._items.popleft()[1]
        if not self._items or self._kept[0][0] < self._items[0][0]:
            return self._kept.popleft()[1]
        return self._items.popleft()[1]

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
        self.epoch = secrets.token_hex(8)  # this run of ``_seq`` (module doc)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.published = 0
        self.delivered = 0  # envelopes of other buses (deliver)

    def publish(self, event: E, /) -> Envelope[E]:
        """Wrap ``event`` in the next envelope and offer it to every subscriber; never waits."""
        envelope = Envelope(next(self._seq), self._clock(), event, self.epoch)
        self.published += 1
        self._offer(envelope)
        return envelope

    def deliver(self, envelope: Envelope[Event], /) -> None:
        """Offer an envelope another bus published (another instance's, from the broker) to
        every subscriber as it is: its origin's epoch and seq kept, this bus's counter not
        moved. Never waits."""
        if envelope.epoch == self.epoch:
            raise ValueError("deliver() takes another bus's envelopes; publish() this one's")
        self.delivered += 1
        self._offer(envelope)

    def is_local(self, envelope: Envelope[Event]) -> bool:
        """Whether this bus published ``envelope`` (not another instance's, delivered)."""
        return envelope.epoch == self.epoch

    def _offer(self, envelope: Envelope[Event]) -> None:
        for sub in list(self._subs):
            sub.offer(envelope)

    def subscribe(
        self,
        accept: Callable[[Envelope[Event]], bool] | None = None,
        maxsize: int = 1000,
        keep: Callable[[Envelope[Event]], bool] | None = None,
    ) -> EventSubscription:
        sub = EventSubscription(self, maxsize, accept, keep)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: EventSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
