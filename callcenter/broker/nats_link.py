"""The broker link over NATS JetStream: this instance's events out, the others' in.

Subjects (``<prefix>`` is ``callcenter`` unless set):

* ``<prefix>.events.<topic>``: every envelope this instance's bus originated, as
  :meth:`Envelope.to_json` writes it, with the headers ``Callcenter-Origin`` (this bus's
  epoch, which names this run of this instance) and ``Nats-Msg-Id`` (``<epoch>-<seq>``: a
  publish retried after a lost acknowledgement is stored once). A JetStream stream with
  memory storage and a short max age holds them, created by the first instance that finds
  it missing. Memory, not file: an event matters for seconds (a pop before a ring, a
  wallboard's snapshot); the database holds the durable story.
* ``<prefix>.desks``: each instance's users with a desk open, every few seconds and on a
  change (plain NATS; callcenter/broker/desks.py says why).
* ``<prefix>.pops.<origin>``: a desk here has the pop the instance ``<origin>`` published
  on its socket: that instance's ACD may ring the phone (plain NATS; the word matters within
  the pop's time limit only).

Following the stream: an ephemeral push consumer without acknowledgements, from the events
published since the link was built (before the floor read its seed from the database: an event
in both is folded twice, which re-counts its call the same way, where one in neither would
leave the call on the board as it was). When the connection is lost (or the broker
restarts) nats-py reconnects; the link then makes a new consumer that starts after the last
stream sequence it handed to the bus, so nothing stored meanwhile is lost or repeated. A
broker restarted with memory storage has a new, empty stream whose sequences start again at
1 (its creation time tells): the link then follows it from its first event, which is one
published since the restart.

Publishing never waits on the broker: the bus hands this instance's envelopes to a bounded
subscription (``broker_buffer``); while the broker is away they wait there, and past its size
the oldest are dropped and counted (/health), as for any slow subscriber of the bus.

The floor is folded on every instance, and ``floor.snapshot`` never crosses: each instance's
floor (callcenter/cti/floor_publisher.py) is seeded from the database at its start and folds
the events on its own bus, the call owner's delivered from the broker among them, and each
instance's wallboards get that instance's snapshots. Why not one fold on the owner whose
snapshots cross: a standby's floor is then warm when it takes the calls over (no second seed,
the wallboards on it never jump), every instance runs the same composition whatever its role,
and a wallboard's snapshot waits for no broker hop on top of its 50-200 ms pacing. What it
costs: an instance that lost events (a broker outage longer than the stream's
``broker_max_age_seconds``, a full buffer; both counted in /health) shows other figures than
the owner's until the calls concerned have their next event or it restarts, where a crossing
snapshot would have been put right by the next one; the link keeps that loss rare (it resumes
the stream where it left it). Folding costs each instance a few microseconds per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from callcenter.broker.desks import RemoteDesks
from callcenter.broker.status import BrokerConfig, BrokerState, BrokerStatus
from callcenter.cti.hub import CtiHub
from callcenter.events import CallOffered, Envelope, Event, EventBus, EventError, FloorSnapshot

log = logging.getLogger(__name__)

ORIGIN_HEADER = "Callcenter-Origin"
MSG_ID_HEADER = "Nats-Msg-Id"  # JetStream's de-duplication of a retried publish
# JetStream keeps the ids it saw this long to refuse a duplicate: a retry comes within it.
DUPLICATE_WINDOW_SECONDS = 30.0
ACKS_WAITING = 1_000  # pops' words back to their origins waiting to be sent
CHANGES_SECONDS = 0.2  # how often the desks open here are compared with the last word

Connect = Callable[..., Awaitable[NatsClient]]


def _unless_cancelled() -> None:
    """Raise CancelledError if this task is being cancelled: nats-py answers a request
    cancelled in flight with an error of its own, or (asyncio.wait_for in Python 3.11, when
    the answer comes at the same moment) with the answer, the cancellation swallowed."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NatsBrokerLink:
    """One instance's link to the others (module doc). Build it before anything publishes
    (its subscription on the bus is made at once, so no event falls before :meth:`run`);
    :meth:`run` is a long-lived task; :attr:`status` is for /health."""

    def __init__(
        self, bus: EventBus, hub: CtiHub, config: BrokerConfig, *, connect: Connect = nats.connect
    ) -> None:
        self.config = config
        self.status = BrokerStatus()
        self.origin = bus.epoch  # this run of this instance
        self._bus = bus
        self._hub = hub
        self._connect = connect
        # This instance's envelopes but its wallboard's snapshots (each instance folds its own).
        self._out = bus.subscribe(
            lambda e: bus.is_local(e) and e.topic != FloorSnapshot.TOPIC, maxsize=config.buffer
        )
        self._since = dt.datetime.now(dt.UTC)  # the stream is followed from here on
        self.desks = RemoteDesks(self._word_for_origin)
        hub.elsewhere = self.desks
        self._acks: deque[tuple[str, str]] = deque(maxlen=ACKS_WAITING)  # (origin, call id)
        self._acks_ready = asyncio.Event()
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._up = asyncio.Event()  # connected, the stream followed
        self._lost = asyncio.Event()  # reconnected: follow the stream again
        self._events_sub: JetStreamContext.PushSubscription | None = None
        self._stream_created: dt.datetime | None = None
        self._last_stream_seq = 0  # the last stream sequence handed to the bus (or skipped)

    @property
    def dropped(self) -> int:
        """Envelopes of this instance dropped unpublished (the buffer was full)."""
        return self._out.dropped

    # --- the task ------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect (trying again until the broker answers), then publish, follow the stream,
        say who has a desk here and answer pops, until cancelled."""
        try:
            await self._open()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._publish_loop(), name="broker-publish")
                tg.create_task(self._follow_loop(), name="broker-follow")
                tg.create_task(self._ack_loop(), name="broker-pop-words")
                tg.create_task(self._desks_loop(), name="broker-desks")
        finally:
            self.status.state = BrokerState.CLOSED
            self._up.clear()
            nc, self._nc = self._nc, None
            if nc is not None:
                with contextlib.suppress(Exception):  # closing: nothing left to tell anyone
                    await nc.close()

    async def _open(self) -> None:
        while True:
            try:
                self._nc = await self._connect(
                    self.config.url,
                    name=f"callcenter-{self.origin}",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,  # a broker that comes back is reached again
                    reconnect_time_wait=self.config.reconnect_seconds,
                    connect_timeout=2,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                )
            except (OSError, nats.errors.Error) as exc:
                self._down(f"the broker at {self.config.url} does not answer: {exc}")
                await asyncio.sleep(self.config.reconnect_seconds)
                continue
            self._js = self._nc.jetstream(timeout=self.config.publish_timeout)
            await self._nc.subscribe(self.config.desks_subject, cb=self._on_desks)
            await self._nc.subscribe(self.config.pops_subject(self.origin), cb=self._on_pop_word)
            log.info("broker: connected to %s as %s", self.config.url, self.origin)
            return

    def _down(self, why: str) -> None:
        if self.status.last_error != why:
            log.warning("broker: %s; events wait (at most %d)", why, self.config.buffer)
        self.status.last_error = why
        if self.status.state is not BrokerState.CONNECTING:
            self.status.state = BrokerState.DISCONNECTED
        self._up.clear()

    async def _on_disconnected(self) -> None:
        self._down(f"the connection to the broker at {self.config.url} is lost")

    async def _on_reconnected(self) -> None:
        self.status.reconnects += 1
        log.info("broker: reconnected to %s", self.config.url)
        self._lost.set()

    async def _on_error(self, exc: Exception) -> None:
        if self.status.state is BrokerState.CONNECTING:
            # nats-py tries again by itself (max_reconnect_attempts -1), telling us each time.
            self._down(f"the broker at {self.config.url} does not answer: {exc!r}")
        else:
            log.debug("broker: %s", exc)  # a lost connection says so: disconnected_cb logs

    # --- the stream ------------------------------------------------------------------------

    async def _ensure_stream(self) -> dt.datetime | None:
        """The stream, made if missing; when it was created (a new one after a restart)."""
        assert self._js is not None
        config = StreamConfig(
            name=self.config.stream,
            subjects=[f"{self.config.events_subject}.>"],
            storage=StorageType.MEMORY,
            max_age=self.config.max_age_seconds,
            duplicate_window=min(DUPLICATE_WINDOW_SECONDS, self.config.max_age_seconds),
        )
        try:
            info = await self._js.stream_info(self.config.stream)
        except nats.js.errors.NotFoundError:
            info = await self._js.add_stream(config)
            log.info("broker: stream %s created (memory)", self.config.stream)
        return info.created

    async def _follow_loop(self) -> None:
        """Follow the stream; again after every reconnect, from where it was left."""
        while True:
            try:
                await self._follow()
            except (OSError, nats.errors.Error) as exc:
                _unless_cancelled()
                self._down(f"the stream {self.config.stream} cannot be followed: {exc}")
                await asyncio.sleep(self.config.reconnect_seconds)
                continue
            self.status.state = BrokerState.CONNECTED
            self.status.last_error = None
            self._up.set()
            await self._lost.wait()

    async def _follow(self) -> None:
        assert self._js is not None
        self._lost.clear()
        old, self._events_sub = self._events_sub, None
        if old is not None:
            with contextlib.suppress(Exception):  # its consumer may be gone with the broker
                await old.unsubscribe()
        created = await self._ensure_stream()
        first = self._stream_created is None
        if not first and created != self._stream_created:
            log.warning("broker: the stream %s is new (the broker restarted)", self.config.stream)
            self._last_stream_seq = 0
        self._stream_created = created
        if first:
            start = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=self._since,
            )
        else:
            start = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self._last_stream_seq + 1,
            )
        start.ack_policy = AckPolicy.NONE
        self._events_sub = await self._js.subscribe(
            f"{self.config.events_subject}.>",
            stream=self.config.stream,
            cb=self._on_event,
            config=start,
            manual_ack=True,
        )
        log.info(
            "broker: following %s after stream seq %d", self.config.stream, self._last_stream_seq
        )

    async def _on_event(self, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq <= self._last_stream_seq:
            return  # handed to the bus already (an old consumer's last push)
        self._last_stream_seq = seq
        if (msg.headers or {}).get(ORIGIN_HEADER) == self.origin:
            return  # our own, not echoed
        self.take(msg.data, seq)

    def take(self, data: bytes, seq: int = 0) -> Envelope[Event] | None:
        """Hand one envelope from the broker to the bus; one that cannot be read is logged
        and skipped (an instance of another version, a bug): the link goes on."""
        try:
            envelope = Envelope.from_json(data)
        except EventError as exc:  # the message names types, never values
            self.status.rejected += 1
            log.warning("broker: event at stream seq %d skipped: %s", seq, exc)
            return None
        if not envelope.epoch or envelope.epoch == self.origin:
            self.status.rejected += 1
            log.warning("broker: event at stream seq %d skipped: no other origin", seq)
            return None
        if envelope.topic == FloorSnapshot.TOPIC:
            return None  # another instance's wallboard: this one folds its own (module doc)
        self._bus.deliver(envelope)
        self.status.received += 1
        return envelope

    # --- publishing --------------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        while True:
            _unless_cancelled()  # asyncio.wait_for in nats-py may have swallowed it (3.11)
            try:
                envelope = await self._out.get()
            except StopAsyncIteration:
                return
            await self._publish(envelope)

    async def _publish(self, envelope: Envelope[Event]) -> None:
        """Until the broker stored it: the same envelope is tried again after a failure
        (its message id makes the broker keep one copy)."""
        subject = f"{self.config.events_subject}.{envelope.topic}"
        headers = {ORIGIN_HEADER: self.origin, MSG_ID_HEADER: f"{self.origin}-{envelope.seq}"}
        data = envelope.to_json().encode()
        while True:
            await self._up.wait()
            assert self._js is not None
            try:
                await self._js.publish(subject, data, headers=headers)
            except nats.js.errors.NoStreamResponseError:
                self._down(f"the stream {self.config.stream} is missing")
                self._lost.set()  # made again by the follower, then this goes out
                continue
            except (OSError, nats.errors.Error) as exc:
                _unless_cancelled()  # nats-py may turn our cancellation into its own error
                self._down(f"publishing to the broker failed: {exc}")
                await asyncio.sleep(self.config.reconnect_seconds)
                self._lost.set()
                continue
            self.status.published += 1
            return

    # --- desks and pops ------------------------------------------------------------------------

    def _word_for_origin(self, offer: Envelope[CallOffered]) -> None:
        """A pop of ``offer.epoch`` reached a desk here: tell it (by the ack loop)."""
        self._acks.append((offer.epoch, offer.payload.call_id))
        self._acks_ready.set()

    async def _ack_loop(self) -> None:
        while True:
            while not self._acks:
                self._acks_ready.clear()
                await self._acks_ready.wait()
            origin, call_id = self._acks.popleft()
            nc = self._nc
            if nc is None or not nc.is_connected:
                continue  # the origin's pop times out by itself and the phone rings
            with contextlib.suppress(nats.errors.Error):
                await nc.publish(self.config.pops_subject(origin), call_id.encode())

    async def _on_pop_word(self, msg: Msg) -> None:
        self._hub.pop_reached(msg.data.decode(errors="replace"))

    async def _desks_loop(self) -> None:
        """Say who has a desk open here: at a change (looked for every 0.2 s) and every
        ``desks_seconds`` all the same."""
        said: frozenset[int] | None = None
        since = 0.0
        loop = asyncio.get_running_loop()
        while True:
            users = self._hub.desk_users
            now = loop.time()
            due = users != said or now - since >= self.config.desks_seconds
            if due and await self._say_desks(users):
                said, since = users, now
            await asyncio.sleep(CHANGES_SECONDS)

    async def _say_desks(self, users: frozenset[int]) -> bool:
        nc = self._nc
        if nc is None or not nc.is_connected:
            return False
        word: dict[str, Any] = {
            "origin": self.origin,
            "users": sorted(users),
            "period": self.config.desks_seconds,
        }
        try:
            await nc.publish(self.config.desks_subject, json.dumps(word).encode())
        except nats.errors.Error:
            return False
        return True

    async def _on_desks(self, msg: Msg) -> None:
        try:
            word = json.loads(msg.data)
            origin, users, period = word["origin"], word["users"], float(word["period"])
        except (ValueError, TypeError, KeyError):
            log.warning("broker: a desks message that is not one, skipped")
            return
        if origin != self.origin and isinstance(origin, str) and isinstance(users, list):
            self.desks.heard(origin, (u for u in users if type(u) is int), period)
