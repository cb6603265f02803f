"""A fake Asterisk manager (AMI) server, for protocol-edge tests of the AMI client only.

Everything a real Asterisk can be asked to do belongs in the tests against the sandbox
Asterisk. This fake exists for what a real server will not do on cue: drop the socket while an
action is pending, sit on a reply, write frames a byte at a time, send garbage, flood events,
stop answering Ping. It listens on 127.0.0.1 on a free port and records every action it
received, per connection, so tests can assert what the client did *not* send (no login retry
storm, no action resent after a reconnect).

It speaks like Asterisk 22: the banner ``Asterisk Call Manager/11.0.0`` with a single CRLF,
``Authentication failed`` followed by a closed socket on a wrong secret, ``FullyBooted``
after login, ``CoreShowChannels`` as an event list, ``UserEvent`` raising its event *before*
its own response (as ``action_userevent`` does), ``Response: Error`` with ``Message:
Invalid/unknown command`` for anything else.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Self

from callcenter.asterisk.protocol import AmiParser, Message

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
SAFETY_TIMEOUT = 5.0  # seconds; waits end on events, this only stops a broken test hanging

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Handler = Callable[["FakeConnection", Message], Awaitable[None]]

DEFAULT_CHANNELS: tuple[dict[str, str], ...] = (
    {
        "Channel": "PJSIP/carrier-00000001",
        "ChannelState": "6",
        "ChannelStateDesc": "Up",
        "CallerIDNum": "13800138000",
        "CallerIDName": "张伟",
        "Uniqueid": "1764057600.1",
        "Linkedid": "1764057600.1",
        "Application": "Queue",
        "ApplicationData": "sales",
    },
    {
        "Channel": "PJSIP/carrier-00000002",
        "ChannelState": "4",
        "ChannelStateDesc": "Ring",
        "CallerIDNum": "13912345678",
        "CallerIDName": "王芳",
        "Uniqueid": "1764057600.2",
        "Linkedid": "1764057600.2",
        "Application": "AGI",
        "ApplicationData": "agi:async",
    },
)


def frame(headers: Headers) -> bytes:
    """One AMI message as Asterisk writes it (no checks: tests may want broken frames)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return ("".join(f"{name}: {value}\r\n" for name, value in items) + "\r\n").encode()


class FakeConnection:
    """One client connection as the fake server sees it."""

    def __init__(self, server: FakeAmiServer, writer: asyncio.StreamWriter, index: int) -> None:
        self.server = server
        self.index = index
        self.actions: list[Message] = []  # every action received, in order
        self.held: list[Message] = []  # actions received but deliberately left unanswered
        self.hold_names: set[str] = set(server.hold_on_connect)  # lower-case action names
        self.write_chunk = server.write_chunk
        self.authenticated = False
        self.closed = False
        self._writer = writer
        self._write_lock = asyncio.Lock()

    @property
    def action_names(self) -> list[str]:
        return [action.name for action in self.actions]

    # -- what the test tells the connection to do -------------------------------------------

    def hold(self, *names: str) -> None:
        """Record but do not answer these actions from now on."""
        self.hold_names.update(name.lower() for name in names)
        self.server.notify()

    def drop(self) -> None:
        """Close the socket abruptly, as a crashed or restarted Asterisk would."""
        self._writer.transport.abort()

    async def send(self, data: bytes) -> None:
        """Write raw bytes; with ``write_chunk`` set, in writes of that many bytes each."""
        async with self._write_lock:
            step = self.write_chunk or len(data) or 1
            for start in range(0, len(data), step):
                self._writer.write(data[start : start + step])
                await self._writer.drain()

    async def send_message(self, headers: Headers) -> None:
        await self.send(frame(headers))

    async def send_event(self, name: str, headers: Headers = ()) -> None:
        items = headers.items() if isinstance(headers, Mapping) else headers
        await self.send_message([("Event", name), *items])

    async def send_events(self, events: Iterable[Headers]) -> None:
        """A burst: many complete events in a single write."""
        await self.send(b"".join(frame(event) for event in events))

    async def respond(
        self, action: Message, status: str = "Success", headers: Headers = ()
    ) -> None:
        """A ``Response`` to ``action``, carrying its ActionID back."""
        items = list(headers.items() if isinstance(headers, Mapping) else headers)
        reply: list[tuple[str, str]] = [("Response", status)]
        action_id = action.get("ActionID")
        if action_id is not None:
            reply.append(("ActionID", action_id))
        await self.send_message([*reply, *items])

    async def answer_held(self, action: Message) -> None:
        """Answer a held action as the default handler would have."""
        self.held.remove(action)
        await self.server.dispatch(self, action, ignore_hold=True)


class FakeAmiServer:
    def __init__(
        self,
        *,
        username: str = "callcenter",
        secret: str = "s3cret-Zq9",
        write_chunk: int | None = None,
        channels: Iterable[Mapping[str, str]] = DEFAULT_CHANNELS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.username = username
        self.secret = secret
        self.write_chunk = write_chunk
        self.channels = [dict(c) for c in channels]
        self.ssl_context = ssl_context  # a server-side context: AMI over TLS (tlsenable=yes)
        self.hold_on_connect: set[str] = set()  # lower-case action names held on new connections
        # Per-action overrides, keyed by lower-case action name.
        self.handlers: dict[str, Handler] = {}
        self.connections: list[FakeConnection] = []
        self._server: asyncio.Server | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters: set[asyncio.Future[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self._port = int(self._server.sockets[0].getsockname()[1])

    @property
    def port(self) -> int:
        """The listening port; it stays known after ``stop()``, when it refuses connections."""
        return self._port

    async def stop(self) -> None:
        """Stop listening and drop every connection: the port now refuses connections."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for connection in self.connections:
            connection.drop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- waiting on what the client did (no polling, no sleeps) -----------------------------

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        # A safety net only: the condition is awaited, never polled.
        async with asyncio.timeout(SAFETY_TIMEOUT):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.add(waiter)
                try:
                    await waiter
                finally:
                    self._waiters.discard(waiter)

    async def connection(self, index: int) -> FakeConnection:
        await self.wait_until(lambda: len(self.connections) > index)
        return self.connections[index]

    async def received(self, index: int, name: str, count: int = 1) -> list[Message]:
        """Wait until connection ``index`` received ``count`` actions named ``name``."""
        connection = await self.connection(index)

        def matching() -> list[Message]:
            return [a for a in connection.actions if a.name.lower() == name.lower()]

        await self.wait_until(lambda: len(matching()) >= count)
        return matching()

    async def held(self, index: int, count: int = 1) -> list[Message]:
        connection = await self.connection(index)
        await self.wait_until(lambda: len(connection.held) >= count)
        return list(connection.held)

    def logins(self) -> int:
        return sum(c.action_names.count("Login") for c in self.connections)

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = FakeConnection(self, writer, len(self.connections))
        self.connections.append(connection)
        self.notify()
        parser = AmiParser(expect_banner=False)
        try:
            await connection.send(BANNER)
            while data := await reader.read(1 << 16):
                for action in parser.feed(data):
                    connection.actions.append(action)
                    self.notify()
                    await self.dispatch(connection, action)
        except (ConnectionError, OSError):
            pass
        finally:
            connection.closed = True
            writer.transport.abort()
            self._tasks.discard(task)
            self.notify()

    async def dispatch(
        self, connection: FakeConnection, action: Message, *, ignore_hold: bool = False
    ) -> None:
        name = action.name.lower()
        if not ignore_hold and name in connection.hold_names:
            connection.held.append(action)
            self.notify()
            return
        if not connection.authenticated and name not in ("login", "logoff"):
            await connection.respond(action, "Error", {"Message": "Permission denied"})
            return
        handler = self.handlers.get(name) or _DEFAULT_HANDLERS.get(name)
        if handler is None:
            await connection.respond(action, "Error", {"Message": "Invalid/unknown command"})
            return
        await handler(connection, action)


# -- default behaviour, as Asterisk 22 answers ----------------------------------------------


async def _login(connection: FakeConnection, action: Message) -> None:
    server = connection.server
    if action.get("Username") == server.username and action.get("Secret") == server.secret:
        connection.authenticated = True
        await connection.respond(action, "Success", {"Message": "Authentication accepted"})
        await connection.send_event(
            "FullyBooted",
            {
                "Privilege": "system,all",
                "Uptime": "3521",
                "LastReload": "3521",
                "Status": "Fully Booted",
            },
        )
        return
    # Asterisk answers a refused login and then closes the session.
    await connection.respond(action, "Error", {"Message": "Authentication failed"})
    connection.drop()


async def _logoff(connection: FakeConnection, action: Message) -> None:
    await connection.respond(action, "Goodbye", {"Message": "Thanks for all the fish."})
    connection.drop()


async def _ping(connection: FakeConnection, action: Message) -> None:
    await connection.respond(action, "Success", {"Ping": "Pong", "Timestamp": "1764057600.000000"})


async def _core_show_channels(connection: FakeConnection, action: Message) -> None:
    action_id = action.get("ActionID") or ""
    await connection.respond(
        action, "Success", {"EventList": "start", "Message": "Channels will follow"}
    )
    channels = connection.server.channels
    await connection.send_events(
        [
            *({"Event": "CoreShowChannel", "ActionID": action_id, **c} for c in channels),
            {
                "Event": "CoreShowChannelsComplete",
                "ActionID": action_id,
                "EventList": "Complete",
                "ListItems": str(len(channels)),
            },
        ]
    )


async def _user_event(connection: FakeConnection, action: Message) -> None:
    # action_userevent() queues the event before it acks the action: the event comes first.
    body = [(k, v) for k, v in action.headers if k.lower() not in ("action", "actionid")]
    await connection.send_message([("Event", "UserEvent"), ("Privilege", "user,all"), *body])
    await connection.respond(action, "Success")


async def _agi(connection: FakeConnection, action: Message) -> None:
    await agi_replier()(connection, action)


def agi_replier(
    result: str = "200%20result%3D0%0A",
    *,
    exec_first: bool = False,
    hang_up: bool = False,
    command_id_header: str = "CommandID",
) -> Handler:
    """A handler for ``Action: AGI``.

    Asterisk acks the action (``Added AGI command to queue``) and, once the command ran, sends
    ``AsyncAGIExec`` with the CommandID and the URL-encoded reply line. ``exec_first`` sends
    the AsyncAGIExec before the ack (it can overtake it); ``hang_up`` sends ``AsyncAGIEnd``
    for the channel instead, as when the caller hung up before the command ran.
    """

    async def handler(connection: FakeConnection, action: Message) -> None:
        channel = action.get("Channel") or ""
        common = [("Privilege", "agi,all"), ("Channel", channel), ("Uniqueid", "1764057600.2")]
        if hang_up:
            follow_up = frame([("Event", "AsyncAGIEnd"), *common])
        else:
            follow_up = frame(
                [
                    ("Event", "AsyncAGIExec"),
                    *common,
                    (command_id_header, action.get("CommandID") or ""),
                    ("Result", result),
                ]
            )
        ack = frame(
            [
                ("Response", "Success"),
                ("ActionID", action.get("ActionID") or ""),
                ("Message", "Added AGI command to queue"),
            ]
        )
        await connection.send(follow_up + ack if exec_first else ack + follow_up)

    return handler


_DEFAULT_HANDLERS: dict[str, Handler] = {
    "login": _login,
    "logoff": _logoff,
    "ping": _ping,
    "coreshowchannels": _core_show_channels,
    "userevent": _user_event,
    "agi": _agi,
}
