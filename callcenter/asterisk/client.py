"""An asyncio AMI client: one socket, one reader task, ActionID correlation, reconnects.

Lifecycle. ``run()`` owns the connection: it connects, logs in, reads until the connection
drops, then reconnects with exponential backoff and jitter, until ``close()``. Use
:func:`open_ami` to run it for the length of an ``async with`` block.

Guarantees:

* The reader never awaits a consumer (see ``subscription.py``).
* An action is written once. If the connection drops before its reply, the caller gets
  :class:`AmiConnectionLost` and the action is *not* resent on the next connection: Asterisk
  may already have carried it out, and a duplicated Originate is a duplicated phone call.
* A refused login is final (:class:`AmiAuthenticationError`): retrying the same secret cannot
  succeed and would only trip the server's brute-force protection.
* The secret never reaches a log line: logs name the action and its ActionID only.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import random
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from callcenter.asterisk.errors import (
    AmiActionError,
    AmiAuthenticationError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.asterisk.protocol import AmiParser, HeaderValue, Message, encode_action
from callcenter.asterisk.subscription import Subscription

log = logging.getLogger(__name__)

Connector = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass(frozen=True)
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = ""
    secret: str = field(default="", repr=False)
    ssl_context: ssl.SSLContext | None = None
    connect_timeout: float = 5.0
    action_timeout: float = 10.0
    ping_interval: float = 20.0
    ping_timeout: float = 5.0
    event_queue_size: int = 10_000
    reconnect_min: float = 0.5
    # At most this long between two attempts: after Asterisk comes back, calls wait for the
    # service's reconnect (the dialplan's fallback takes them meanwhile).
    reconnect_max: float = 5.0
    # A session must last this long before the backoff starts again from reconnect_min: a
    # healthy session that is reset (six AMI resets in a row) reconnects at the minimum
    # each time; one dropped right after its login (an overloaded server) backs off.
    stable_session: float = 2.0

    def __post_init__(self) -> None:
        for name in ("username", "secret"):
            if any(ch in getattr(self, name) for ch in "\r\n"):
                # Named, never shown: the value may be the secret.
                raise ValueError(f"AMI {name} must not contain a line break")


class ConnectionState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"  # logged in: actions may be sent
    CLOSED = "closed"


@dataclass(frozen=True)
class ConnectionChange:
    state: ConnectionState
    # Increments at every successful login; a consumer that sees a new generation resyncs.
    generation: int
    reason: str = ""


@dataclass
class ActionListResult:
    """The reply to an action that answers with an event list (``EventList: start``)."""

    response: Message
    events: list[Message]
    complete: Message | None


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[ActionListResult]
    is_list: bool
    response: Message | None = None
    events: list[Message] = field(default_factory=list)


class AmiClient:
    def __init__(
        self,
        config: AmiConfig,
        *,
        connector: Connector | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._connector = connector or self._open_tcp
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._state = ConnectionState.DISCONNECTED
        self._generation = 0
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, _Pending] = {}
        self._list_pending = 0
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(4)
        self._event_subs: list[Subscription[Message]] = []
        self._state_subs: list[Subscription[ConnectionChange]] = []
        # event name (lower) -> header (lower) -> value -> futures waiting for that event
        self._waiters: dict[str, dict[str, dict[str, list[asyncio.Future[Message]]]]] = {}
        # a waiter's further condition (expect_event's ``where``), by future
        self._conditions: dict[asyncio.Future[Message], Callable[[Message], bool]] = {}
        self._closing = asyncio.Event()
        self._connected = asyncio.Event()
        self._fatal: AmiError | None = None
        self._logged_in_at = 0.0
        self._last_failure = ""  # why the latest connection attempt or session ended
        self.parser_stats_total = {"garbage_lines": 0, "oversized_messages": 0}
        self.banner: str | None = None

    # -- public surface -------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def generation(self) -> int:
        return self._generation

    def subscribe(
        self, names: set[str] | None = None, maxsize: int | None = None
    ) -> Subscription[Message]:
        """Events (not replies to our own actions), optionally only those named in ``names``."""
        wanted = {n.lower() for n in names} if names else None
        accept = (lambda m: m.name.lower() in wanted) if wanted else None
        sub: Subscription[Message] = Subscription(
            maxsize or self.config.event_queue_size, self._event_subs.remove, accept
        )
        self._event_subs.append(sub)
        self._end_if_closed(sub)
        return sub

    def connection_changes(self) -> Subscription[ConnectionChange]:
        sub: Subscription[ConnectionChange] = Subscription(64, self._state_subs.remove)
        self._state_subs.append(sub)
        self._end_if_closed(sub)
        return sub

    def _end_if_closed(self, sub: Subscription[Message] | Subscription[ConnectionChange]) -> None:
        # After close() nothing is ever delivered again, and run() may already have closed
        # every subscription it knew of: one taken now would otherwise wait forever.
        if self._closing.is_set():
            sub.close()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait for a logged-in session. Raises the fatal error if ``run()`` gave up."""
        if self._fatal is not None:
            raise self._fatal
        closing = asyncio.ensure_future(self._closing.wait())
        connected = asyncio.ensure_future(self._connected.wait())
        try:
            done, _ = await asyncio.wait(
                {closing, connected}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closing.cancel()
            connected.cancel()
        if self._fatal is not None:
            raise self._fatal
        if connected not in done:
            if closing in done:
                raise AmiConnectionError("AMI client closed before it connected")
            last = f" (last attempt: {self._last_failure})" if self._last_failure else ""
            raise AmiTimeout(
                f"no AMI session with {self.config.host}:{self.config.port} after {timeout}s{last}"
            )

    async def action(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
    ) -> Message:
        """Send an action and return its ``Response``. ``check`` raises on ``Response: Error``."""
        result = await self._send(name, fields, is_list=False, timeout=timeout)
        if check and result.response.name.lower() == "error":
            raise AmiActionError(name, result.response.get("Message", "") or "")
        return result.response

    async def action_list(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> ActionListResult:
        """Send an action whose reply is an event list; return once its Complete event came."""
        result = await self._send(name, fields, is_list=True, timeout=timeout)
        if result.response.name.lower() == "error":
            raise AmiActionError(name, result.response.get("Message", "") or "")
        return result

    async def ping(self, timeout: float | None = None) -> float:
        """Round-trip time of a Ping action, in seconds."""
        start = time.perf_counter()
        await self.action("Ping", timeout=timeout or self.config.ping_timeout)
        return time.perf_counter() - start

    def expect_event(
        self,
        event: str,
        header: str,
        value: str,
        *,
        where: Callable[[Message], bool] | None = None,
    ) -> asyncio.Future[Message]:
        """A future for the next event ``event`` whose ``header`` equals ``value`` (and, given
        ``where``, for which ``where`` holds: the events that match the header but not the
        condition pass by, and the wait goes on). The condition runs as the event is read,
        so no matching event can slip past between two waits.

        Register it *before* sending the action that causes the event: the event may arrive
        before the action's own response. Cancel the future to stop waiting; it fails with
        AmiConnectionLost if the connection drops first.
        """
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        by_header = self._waiters.setdefault(event.lower(), {})
        futures = by_header.setdefault(header.lower(), {}).setdefault(value, [])
        futures.append(future)
        if where is not None:
            self._conditions[future] = where
        future.add_done_callback(lambda f: self._forget_waiter(event, header, value, f))
        return future

    async def close(self) -> None:
        self._closing.set()
        writer = self._writer
        if writer is not None:
            writer.transport.abort()

    # -- connection supervision -----------------------------------------------------------

    async def run(self) -> None:
        """Connect, keep connected, reconnect with backoff; return after ``close()``.

        Raises AmiAuthenticationError when the server refuses the login.
        """
        attempt = 0
        try:
            while not self._closing.is_set():
                self._set_state(ConnectionState.CONNECTING)
                logged_in = False
                reason = ""
                try:
                    logged_in = await self._connection()
                except AmiAuthenticationError as exc:
                    self._fatal = exc
                    log.error("AMI login refused for user %r: giving up", self.config.username)
                    raise
                except (OSError, AmiConnectionError, TimeoutError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                if self._closing.is_set():
                    break
                # A session that is dropped right after its login (an overloaded server, an
                # event flood) must not earn a reconnect at the minimum delay forever.
                stable = logged_in and (
                    time.monotonic() - self._logged_in_at >= self.config.stable_session
                )
                attempt = 0 if stable else attempt + 1
                self._last_failure = reason or "connection closed"
                self._set_state(ConnectionState.DISCONNECTED, self._last_failure)
                delay = self._backoff(attempt)
                log.warning(
                    "AMI %s:%s unavailable (%s); reconnecting in %.2fs",
                    self.config.host,
                    self.config.port,
                    self._last_failure,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), delay)
        finally:
            self._set_state(ConnectionState.CLOSED)
            self._connected.clear()
            self._closing.set()
            for event_sub in list(self._event_subs):
                event_sub.close()
            for state_sub in list(self._state_subs):
                state_sub.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random.

        After a PBX restart hundreds of service instances must not reconnect in lockstep.
        """
        growth = 2.0 ** max(attempt - 1, 0)
        ceiling = min(self.config.reconnect_max, self.config.reconnect_min * growth)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def _open_tcp(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            self.config.host, self.config.port, ssl=self.config.ssl_context, limit=1 << 20
        )

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Open the socket, or return None when close() comes first.

        While connecting there is no socket for close() to abort, and a host that drops SYNs
        (or a TLS peer that never completes the handshake) would hold the attempt, and with it
        close() and the app's shutdown, for the whole connect_timeout.
        """
        connecting = asyncio.ensure_future(self._connector())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            done, _ = await asyncio.wait(
                {connecting, closing},
                timeout=self.config.connect_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        except BaseException:
            # Cancelled in the very turn the connection completed: nobody will own it.
            if connecting.done() and not connecting.cancelled() and not connecting.exception():
                connecting.result()[1].transport.abort()
            raise
        finally:
            closing.cancel()
            connecting.cancel()  # a no-op once it finished; closes a half-open attempt
        if connecting in done:
            return connecting.result()
        if closing in done:
            return None
        raise TimeoutError(f"no connection within {self.config.connect_timeout}s")

    async def _connection(self) -> bool:
        """One connection: connect, log in, read until it drops. Returns whether it logged in."""
        streams = await self._connect()
        if streams is None:
            return False
        reader, writer = streams
        if self._closing.is_set():
            # close() ran as the connection completed, before there was a socket to abort.
            writer.transport.abort()
            return False
        self._writer = writer
        parser = AmiParser()
        read_task = asyncio.create_task(self._read_loop(reader, parser), name="ami-reader")
        ping_task: asyncio.Task[None] | None = None
        logged_in = False
        try:
            await self._login(read_task)
            logged_in = True
            self._logged_in_at = time.monotonic()
            self._generation += 1
            self._set_state(ConnectionState.CONNECTED)
            ping_task = asyncio.create_task(self._ping_loop(writer), name="ami-pinger")
            await read_task
        finally:
            # Synchronous cleanup first, so nothing below can be skipped by a cancellation.
            self._writer = None
            self._connected.clear()
            helpers = [t for t in (read_task, ping_task) if t is not None]
            for task in helpers:
                task.cancel()
            writer.transport.abort()
            self._fail_pending(AmiConnectionLost("AMI connection lost; the action was not resent"))
            self.parser_stats_total["garbage_lines"] += parser.stats.garbage_lines
            self.parser_stats_total["oversized_messages"] += parser.stats.oversized_messages
            # asyncio.wait() never raises the helpers' errors nor swallows a cancel of run().
            await asyncio.wait(helpers)
            for task in helpers:
                if not task.cancelled() and task.exception() is not None:
                    log.debug("AMI helper task ended with %r", task.exception())
        return logged_in

    async def _login(self, read_task: asyncio.Task[None]) -> None:
        login = asyncio.ensure_future(
            self._send(
                "Login",
                {"Username": self.config.username, "Secret": self.config.secret, "Events": "on"},
                is_list=False,
                timeout=self.config.action_timeout,
                logged_in_required=False,
            )
        )
        try:
            done, _ = await asyncio.wait({login, read_task}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            login.cancel()
            raise
        if login not in done:
            login.cancel()
            raise AmiConnectionError("AMI connection closed during login")
        try:
            reply = login.result().response
        except AmiTimeout as exc:
            # A server that accepts the socket but never answers Login is unavailable, not
            # refusing us: retry it like any other connection failure.
            raise AmiConnectionError(str(exc)) from exc
        if reply.name.lower() != "success":
            message = reply.get("Message", "") or "login refused"
            raise AmiAuthenticationError(
                f"AMI login as {self.config.username!r} refused by "
                f"{self.config.host}:{self.config.port}: {message}"
            )

    async def _ping_loop(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            try:
                await self.ping()
            except AmiTimeout:
                log.warning(
                    "AMI ping timed out after %ss; dropping the connection",
                    self.config.ping_timeout,
                )
                writer.transport.abort()
                return
            except AmiError:
                return

    async def _read_loop(self, reader: asyncio.StreamReader, parser: AmiParser) -> None:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            self._dispatch_read(parser.feed(data))

    # -- dispatch (runs inside the reader: synchronous, never awaits) ---------------------

    def _dispatch_read(self, messages: list[Message]) -> None:
        """Dispatch one read's messages in wire order.

        A run of plain events (no event list or waiter to look at) is handed to each
        subscription in one ``offer_many()``; anything else first hands over the run before
        it, so that no consumer can see the order change.
        """
        run: list[Message] = []
        for message in messages:
            # Asterisk always spells it "Event"; _dispatch handles any other spelling.
            if message.names[0] == "Event" and not self._list_pending and not self._waiters:
                run.append(message)
                continue
            if run:
                self._offer_events(run)
                run = []
            self._dispatch(message)
        if run:
            self._offer_events(run)

    def _offer_events(self, events: list[Message]) -> None:
        for sub in self._event_subs:
            sub.offer_many(events)

    def _dispatch(self, message: Message) -> None:
        # Asterisk always spells it "Event"; the property handles any other spelling.
        kind = "event" if message.names[0] == "Event" else message.kind
        if kind == "event":
            if self._list_pending and self._route_list_event(message):
                return
            if self._waiters:
                self._resolve_waiters(message)
            for sub in self._event_subs:
                sub.offer(message)
        elif kind == "response":
            self._route_response(message)
        elif kind == "banner":
            self.banner = message.name

    def _route_response(self, message: Message) -> None:
        action_id = message.get("ActionID")
        pending = self._pending.get(action_id) if action_id else None
        if pending is None:
            log.debug("AMI response with unknown ActionID %r dropped", action_id)
            return
        if pending.is_list and (message.get("EventList") or "").lower() == "start":
            pending.response = message
            return
        self._finish(action_id or "", pending, ActionListResult(message, pending.events, None))

    def _route_list_event(self, message: Message) -> bool:
        action_id = message.get("ActionID")
        pending = self._pending.get(action_id) if action_id else None
        if pending is None or not pending.is_list:
            return False
        if (message.get("EventList") or "").lower() == "complete":
            response = pending.response or message
            self._finish(
                action_id or "", pending, ActionListResult(response, pending.events, message)
            )
        else:
            pending.events.append(message)
        return True

    def _finish(self, action_id: str, pending: _Pending, result: ActionListResult) -> None:
        self._pending.pop(action_id, None)
        if pending.is_list:
            self._list_pending -= 1
        if not pending.future.done():
            pending.future.set_result(result)

    def _resolve_waiters(self, message: Message) -> None:
        by_header = self._waiters.get(message.name.lower())
        if not by_header:
            return
        for header, by_value in list(by_header.items()):
            value = message.get(header)
            if value is None:
                continue
            futures = by_value.get(value)
            if not futures:
                continue
            waiting = [f for f in futures if self._still_waits(f, message)]
            if waiting:
                by_value[value] = waiting
            else:
                del by_value[value]
            for future in futures:
                if future not in waiting and not future.done():
                    future.set_result(message)

    def _still_waits(self, future: asyncio.Future[Message], message: Message) -> bool:
        """True when ``future`` waits on past ``message``: its condition does not hold."""
        condition = self._conditions.get(future)
        if condition is None or future.done():
            return False
        try:
            return not condition(message)
        except Exception as exc:  # a broken condition fails its own wait, not the reader
            future.set_exception(exc)
            return False

    def _forget_waiter(
        self, event: str, header: str, value: str, future: asyncio.Future[Message]
    ) -> None:
        self._conditions.pop(future, None)
        by_header = self._waiters.get(event.lower())
        if by_header is None:
            return
        by_value = by_header.get(header.lower(), {})
        futures = by_value.get(value)
        if futures and future in futures:
            futures.remove(future)
            if not futures:
                del by_value[value]
        if not by_value:
            by_header.pop(header.lower(), None)
        if not by_header:
            self._waiters.pop(event.lower(), None)

    # -- sending --------------------------------------------------------------------------

    async def _send(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None,
        *,
        is_list: bool,
        timeout: float | None,
        logged_in_required: bool = True,
    ) -> ActionListResult:
        writer = self._writer
        if writer is None or (logged_in_required and self._state is not ConnectionState.CONNECTED):
            raise AmiNotConnected(f"cannot send {name}: no AMI session is logged in")
        if fields and any(key.lower() == "actionid" for key in fields):
            raise ValueError("ActionID is set by the client; do not pass one")
        action_id = f"{self._id_prefix}-{next(self._ids)}"
        payload = encode_action(name, {**(fields or {}), "ActionID": action_id})
        future: asyncio.Future[ActionListResult] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, future, is_list)
        if is_list:
            self._list_pending += 1
        log.debug("AMI -> %s (ActionID %s)", name, action_id)
        try:
            writer.write(payload)
            async with asyncio.timeout(timeout or self.config.action_timeout):
                await writer.drain()
                return await future
        except TimeoutError:
            raise AmiTimeout(
                f"no reply to AMI action {name} (ActionID {action_id}) within "
                f"{timeout or self.config.action_timeout}s"
            ) from None
        except (ConnectionError, OSError) as exc:
            raise AmiConnectionLost(f"AMI connection lost while sending {name}") from exc
        finally:
            pending = self._pending.pop(action_id, None)
            if pending is not None and pending.is_list:
                self._list_pending -= 1

    def _fail_pending(self, error: AmiConnectionLost) -> None:
        pending, self._pending = self._pending, {}
        self._list_pending = 0
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(
                    AmiConnectionLost(f"{error}: {item.action} has no reply (not resent)")
                )
        waiters, self._waiters = self._waiters, {}
        for by_header in waiters.values():
            for by_value in by_header.values():
                for futures in by_value.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(AmiConnectionLost(str(error)))

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if state is self._state:
            return
        self._state = state
        if state is ConnectionState.CONNECTED:
            self._connected.set()
            log.info(
                "AMI connected to %s:%s (generation %d)",
                self.config.host,
                self.config.port,
                self._generation,
            )
        change = ConnectionChange(state, self._generation, reason)
        for sub in list(self._state_subs):
            sub.offer(change)


@contextlib.asynccontextmanager
async def open_ami(
    config: AmiConfig, *, connect_timeout: float | None = 10.0, connector: Connector | None = None
) -> AsyncIterator[AmiClient]:
    """Run an AMI client for the block; wait for the first login before entering it."""
    client = AmiClient(config, connector=connector)
    runner = asyncio.create_task(client.run(), name="ami-run")
    try:
        await client.wait_connected(connect_timeout)
        yield client
    finally:
        await client.close()
        with contextlib.suppress(AmiError):
            await runner
