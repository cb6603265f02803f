"""The hub: one subscription on the event bus, fanned out to every open connection.

Each connection has its own bounded queue of encoded messages. Delivering never waits: a
connection whose queue is full is closed as too slow and removed at once, so a browser that
stopped reading can slow neither a call nor anyone else's screen. The edge (api/ws.py) runs
one writer per connection that empties its queue into the socket.

A screen pop goes out whole, at once, as the ACD published it: the call (caller number,
queue, IVR path, ...) and the caller's client summary, which the ACD read when the call
joined its queue and audited with the agent's reservation, before the pop was published. The
hub never reads the database: a desk that reconnects gets its agent's pending pops again
from memory (:class:`~callcenter.cti.pops.PendingPops`), the same pop of the same offer to
the same agent, so nothing more of the record is disclosed and nothing more is audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callcenter.cti.messages import encode, event_message
from callcenter.cti.pops import POP_TOPIC, PendingPops
from callcenter.cti.routing import FLOOR_TOPICS, MANAGER_ROLES, Viewer, delivers
from callcenter.events import (
    CallOffered,
    Envelope,
    Event,
    EventBus,
    EventSubscription,
    FloorSnapshot,
)

log = logging.getLogger(__name__)


class CloseKind(StrEnum):
    """Why the server ends a connection; the edge maps each to a websocket close code."""

    TOO_SLOW = "too_slow"
    NO_HEARTBEAT = "no_heartbeat"
    SESSION_ENDED = "session_ended"
    SERVER_STOPPING = "server_stopping"
    UNSUPPORTED_DATA = "unsupported_data"
    FRAME_TOO_LARGE = "frame_too_large"
    SERVER_ERROR = "server_error"
    CLIENT_GONE = "client_gone"  # the client closed or vanished: nothing to send it


@dataclass(frozen=True)
class Closing:
    kind: CloseKind
    reason: str  # for the close frame: short, and never holding a secret


class ConnectionClosed(Exception):
    def __init__(self, closing: Closing) -> None:
        super().__init__(closing.reason)
        self.closing = closing


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Connection:
    """One open socket as the hub sees it: who, a bounded queue, and whether it is over."""

    def __init__(
        self,
        conn_id: int,
        viewer: Viewer,
        maxsize: int,
        now: float,
        on_close: Callable[[Connection], None],
    ) -> None:
        self.id = conn_id
        self.viewer = viewer
        self.maxsize = maxsize
        self.last_heard = now  # the hub's clock: when the client last sent anything
        self.closing: Closing | None = None
        self._queue: deque[tuple[str, Callable[[], None] | None]] = deque()
        self._after_send: Callable[[], None] | None = None
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._on_close = on_close

    @property
    def closed(self) -> bool:
        return self.closing is not None

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def push(self, text: str, on_sent: Callable[[], None] | None = None) -> bool:
        """Queue one message; False if the connection is over (or is now, being too slow).
        ``on_sent`` is called once the edge has written it (:meth:`sent`)."""
        if self.closing is not None:
            return False
        if len(self._queue) >= self.maxsize:
            self.close(
                CloseKind.TOO_SLOW,
                f"too slow: {self.maxsize} messages waiting; reconnect and resume",
            )
            return False
        self._queue.append((text, on_sent))
        self._ready.set()
        return True

    async def next(self) -> str:
        """The next message to send; ConnectionClosed once the connection is over (what is
        still queued then is dropped: the client resumes after reconnecting)."""
        while True:
            if self.closing is not None:
                raise ConnectionClosed(self.closing)
            if self._queue:
                text, self._after_send = self._queue.popleft()
                return text
            self._ready.clear()
            await self._ready.wait()

    def sent(self) -> None:
        """The edge wrote the message :meth:`next` gave it onto the socket."""
        after, self._after_send = self._after_send, None
        if after is not None:
            after()

    def close(self, kind: CloseKind, reason: str) -> None:
        """End the connection (the first reason given wins); the hub forgets it at once."""
        if self.closing is not None:
            return
        self.closing = Closing(kind, reason)
        self._queue.clear()
        self._ready.set()
        self._closed.set()
        self._on_close(self)

    async def wait_closed(self) -> Closing:
        await self._closed.wait()
        assert self.closing is not None
        return self.closing

    def heard(self, now: float) -> None:
        self.last_heard = now


@dataclass(frozen=True)
class HubConfig:
    send_queue: int = 256  # messages waiting per connection before it is closed as too slow
    heartbeat_seconds: float = 20.0  # a ping this often
    missed_heartbeats: int = 3  # silent this many intervals: closed
    pending_pop_seconds: float = 120.0  # a pop whose ending was missed is forgotten then
    bus_buffer: int = 10_000  # the hub's own subscription on the bus


class Presence(Protocol):
    """Who has a desk open (callcenter/cti/desk_watch.py DeskWatch)."""

    def opened(self, user_id: int) -> None: ...

    def closed(self, user_id: int) -> None: ...


class DesksElsewhere(Protocol):
    """The desks open on other service instances, and the way back to a pop's origin (the
    broker link, callcenter/broker/): a pop published here for an agent whose desk is open
    elsewhere waits for that desk, as it waits for one here, before the phone rings."""

    def open_elsewhere(self, user_id: int) -> bool: ...

    def pop_written(self, offer: Envelope[CallOffered]) -> None:
        """A pop another instance published was written onto a desk's socket here."""


class CtiHub:
    def __init__(
        self,
        bus: EventBus,
        config: HubConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.config = config or HubConfig()
        self._clock = clock
        self._wallclock = wallclock
        # Subscribed at once, not when run() starts: no event falls between the two.
        # Pops wait apart: a flood of other events falling behind never pushes one out.
        self._sub: EventSubscription = bus.subscribe(
            maxsize=self.config.bus_buffer, keep=lambda e: e.topic == POP_TOPIC
        )
        self._conns: dict[int, Connection] = {}
        # Who may receive what narrows to two groups (routing.delivers): the connections of
        # the agent an event is about, and managers'. With 500 agents on line, a pop is
        # checked against a few connections instead of all.
        self._by_user: dict[int, dict[int, Connection]] = {}
        self._managers: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self.pending = PendingPops(self.config.pending_pop_seconds, clock)
        # The run the bus's seqs count in, on every message: after a restart the seqs start
        # at 1 again, and a desk that saw seq 7 of the last run must still show seq 7 of this.
        # With several instances (issue 21) a standby's desks follow the call owner's events,
        # delivered from the broker with the owner's epoch: the hub's epoch is that of the
        # last event it dispatched (but the floor's snapshots, which every instance makes of
        # its own), so a desk sees one run at a time (docs/events.md).
        self.epoch = bus.epoch
        self._bus = bus
        self.last_seq = 0  # the newest event seen
        self._dropped_seen = 0
        # Screen pops written onto a socket, by call: the ACD dials once its pop is out.
        self._pops_out: dict[str, asyncio.Event] = {}
        # Told of every connection opened and closed, by user (cti/desk_watch.py): None, no
        # one is (no desk watch).
        self.presence: Presence | None = None
        # Desks on other instances (the broker link); None: this instance is the only one.
        self.elsewhere: DesksElsewhere | None = None

    # --- connections -------------------------------------------------------------------

    def connect(self, viewer: Viewer) -> Connection:
        conn = Connection(
            next(self._ids), viewer, self.config.send_queue, self._clock(), self._forget
        )
        self._conns[conn.id] = conn
        self._by_user.setdefault(viewer.user_id, {})[conn.id] = conn
        if viewer.role in MANAGER_ROLES:
            self._managers[conn.id] = conn
        if self.presence is not None:
            self.presence.opened(viewer.user_id)
        log.info("cti: connection %d opened by user %d (%s)", conn.id, viewer.user_id, viewer.role)
        return conn

    def _forget(self, conn: Connection) -> None:
        if self._remove(conn) and conn.closing is not None:
            log.info(
                "cti: connection %d of user %d closed: %s",
                conn.id,
                conn.viewer.user_id,
                conn.closing.kind,
            )

    def heard(self, conn: Connection) -> None:
        """The client sent something: it is alive (heartbeats)."""
        conn.heard(self._clock())

    def disconnect(self, conn: Connection) -> None:
        """The client went away (or the edge is done with it)."""
        self._remove(conn)

    def _remove(self, conn: Connection) -> bool:
        if self._conns.pop(conn.id, None) is None:
            return False
        self._managers.pop(conn.id, None)
        mine = self._by_user.get(conn.viewer.user_id, {})
        mine.pop(conn.id, None)
        if not mine:
            self._by_user.pop(conn.viewer.user_id, None)
        if self.presence is not None:
            self.presence.closed(conn.viewer.user_id)
        return True

    @property
    def events_lost(self) -> int:
        """Events the hub's bus subscription dropped since start (it fell behind the bus)."""
        return self._sub.dropped

    @property
    def connections(self) -> list[Connection]:
        return list(self._conns.values())

    @property
    def desk_users(self) -> frozenset[int]:
        """The users with a connection open here (their desks, or wallboards)."""
        return frozenset(self._by_user)

    def message(self, kind: str, data: dict[str, object] | None = None) -> str:
        """A message made for one connection (seq null)."""
        return encode(kind, None, self._wallclock(), data or {}, epoch=self.epoch)

    # --- events ------------------------------------------------------------------------

    def dispatch(self, event: Envelope[Event]) -> None:
        """Hand ``event`` to every connection allowed to see it. Never waits."""
        self.last_seq = event.seq
        if event.topic != FloorSnapshot.TOPIC:  # each instance's own (callcenter/broker/)
            self.epoch = event.epoch or self.epoch
        try:
            text = event_message(event, self.epoch)
        except (TypeError, ValueError) as exc:  # a publisher's bug must not stop the hub
            log.error("cti: event %d (%s) cannot be sent: %s", event.seq, event.topic, exc)
            return
        self.pending.follow(event)
        if text is None:
            return  # an event no socket gets (projections.py)
        offer = event.narrow(CallOffered)
        pop = self.pending.offered(offer, text) if offer is not None else None
        out = self._pops_out.get(pop.call_id) if pop is not None else None
        on_sent = out.set if out else None
        if offer is not None and self.elsewhere is not None and not self._bus.is_local(offer):
            on_sent = self._tell_origin(offer)  # the origin's ACD waits for this desk
        reached = False
        for conn in self._candidates(event):
            if delivers(conn.viewer, event) and conn.push(text, on_sent):
                reached = True
        if out is not None and not reached and not self._open_elsewhere(event):
            out.set()  # no desk open for this agent: nothing to wait for

    def _open_elsewhere(self, event: Envelope[Event]) -> bool:
        agent_id = event.payload.about_agent
        return (
            self.elsewhere is not None
            and agent_id is not None
            and self.elsewhere.open_elsewhere(agent_id)
        )

    def _tell_origin(self, offer: Envelope[CallOffered]) -> Callable[[], None]:
        """Once, when the first of the agent's desks here has the pop on its socket."""
        told = False

        def written() -> None:
            nonlocal told
            if not told and self.elsewhere is not None:
                told = True
                self.elsewhere.pop_written(offer)

        return written

    def pop_reached(self, call_id: str) -> None:
        """A desk on another instance has the pop of ``call_id`` published here on its
        socket (DesksElsewhere.pop_written, back over the broker): the ring may go."""
        out = self._pops_out.get(call_id)
        if out is not None:
            out.set()

    def _candidates(self, event: Envelope[Event]) -> list[Connection]:
        """Every connection that may receive ``event``, and maybe a few that may not."""
        agent_id = event.payload.about_agent
        own = self._by_user.get(agent_id, {}) if agent_id is not None else {}
        if event.topic not in FLOOR_TOPICS:
            return list(own.values())  # a pop is checked against its agent's desks alone
        return list({**own, **self._managers}.values())

    async def pop_out(self, call_id: str, publish: Callable[[], object], within: float) -> bool:
        """Publish a screen pop (``publish``) and return once it is written onto the socket
        of (one of) its agent's desks, or at once if the agent has none open; at most
        ``within`` seconds. False when that time ran out (a desk too slow to wait for). A
        desk on another instance counts as one here (:class:`DesksElsewhere`)."""
        out = self._pops_out[call_id] = asyncio.Event()
        try:
            publish()
            try:
                await asyncio.wait_for(out.wait(), within)
            except TimeoutError:
                return False
            return True
        finally:
            self._pops_out.pop(call_id, None)

    def resume(self, conn: Connection) -> int:
        """Send ``conn`` its viewer's pending pops again, as first sent (their summaries in
        them): from memory, with no database read and no new audit entry (module doc)."""
        return sum(1 for pop in self.pending.of(conn.viewer.user_id) if conn.push(pop.text))

    # --- heartbeats ----------------------------------------------------------------------

    def beat(self) -> None:
        """Ping every connection; close those silent for ``missed_heartbeats`` intervals."""
        now = self._clock()
        silent_limit = self.config.heartbeat_seconds * self.config.missed_heartbeats
        ping = self.message("ping")
        for conn in list(self._conns.values()):
            if now - conn.last_heard >= silent_limit:
                conn.close(
                    CloseKind.NO_HEARTBEAT,
                    f"nothing heard for {silent_limit:g} s: answer each ping with a pong",
                )
            else:
                conn.push(ping)

    # --- the tasks -----------------------------------------------------------------------

    async def run(self) -> None:
        """Dispatch events and ping, until the bus subscription is closed (:meth:`close`) or
        the task is cancelled."""
        async with asyncio.TaskGroup() as tg:
            beats = tg.create_task(self._beat_loop(), name="cti-heartbeats")
            try:
                while True:
                    try:
                        event = await self._sub.get()
                    except StopAsyncIteration:
                        break
                    self._note_drops()
                    self.dispatch(event)
                    # Let the writers run between two events: a burst of events published
                    # in one go must not fill queues that their writers would empty at once
                    # (a full queue must mean a client that stopped reading).
                    await asyncio.sleep(0)
            finally:
                beats.cancel()

    def _note_drops(self) -> None:
        if self._sub.dropped != self._dropped_seen:
            log.warning("cti: %d events lost: the hub fell behind the bus", self._sub.dropped)
            self._dropped_seen = self._sub.dropped

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            self.beat()

    def close(self) -> None:
        """Stop: every connection is closed (the service is going away)."""
        for conn in list(self._conns.values()):
            conn.close(CloseKind.SERVER_STOPPING, "the service is stopping")
        self._sub.close()
