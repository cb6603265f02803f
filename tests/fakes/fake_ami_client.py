"""A fake of the part of :class:`AmiClient` that the pbx adapters use, for pbx unit tests:
:class:`PbxLink` (events, connection changes, ``action_list``) and the caller's leg
(``action``, ``expect_event``; its AGI commands through tests/fakes/fake_agi.py).

It hands events and connection changes to subscribers synchronously, as the real client's
reader does, and keeps every ``action_list`` and ``action`` waiting until the test answers
it. Answering a list and emitting events in the same synchronous step reproduces their order
on the wire. ``wire`` is everything sent to Asterisk, in order (AGI commands included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from callcenter.asterisk.client import ActionListResult, ConnectionChange, ConnectionState
from callcenter.asterisk.errors import AmiActionError, AmiConnectionLost, AmiNotConnected
from callcenter.asterisk.protocol import HeaderValue, Message
from callcenter.asterisk.subscription import Subscription

SAFETY_TIMEOUT = 5.0  # seconds; waits end on events, this only stops a broken test hanging


def event(name: str, **headers: str) -> Message:
    return Message([("Event", name), *headers.items()])


def connection_lost() -> AmiConnectionLost:
    return AmiConnectionLost("AMI connection lost; the action was not resent")


@dataclass
class PendingList:
    """An ``action_list`` the link sent; the test answers or fails it."""

    name: str
    generation: int
    future: asyncio.Future[ActionListResult] = field(repr=False)

    def answer(self, events: list[Message]) -> None:
        response = Message([("Response", "Success"), ("EventList", "start")])
        complete = event(f"{self.name}Complete", EventList="Complete", ListItems=str(len(events)))
        self.future.set_result(ActionListResult(response, events, complete))

    def fail(self, error: Exception) -> None:
        self.future.set_exception(error)


@dataclass
class PendingAction:
    """An ``action`` sent; the test answers, refuses (``Response: Error``) or fails it."""

    name: str
    fields: dict[str, HeaderValue]
    future: asyncio.Future[Message] = field(repr=False)

    def answer(self, **headers: str) -> None:
        self.future.set_result(Message([("Response", "Success"), *headers.items()]))

    def refuse(self, message: str) -> None:
        self.future.set_result(Message([("Response", "Error"), ("Message", message)]))

    def fail(self, error: Exception) -> None:
        self.future.set_exception(error)


@dataclass
class ExpectedEvent:
    """An ``expect_event`` registered; an emitted event that matches resolves it."""

    event: str
    header: str
    value: str
    future: asyncio.Future[Message] = field(repr=False)

    def matches(self, message: Message) -> bool:
        return message.name.lower() == self.event.lower() and message.get(self.header) == (
            self.value
        )


class FakeAmiClient:
    def __init__(self, event_queue_size: int = 10_000) -> None:
        self.generation = 0
        self.connected = False
        self.event_queue_size = event_queue_size
        self.lists: list[PendingList] = []
        self.actions: list[PendingAction] = []
        self.expected: list[ExpectedEvent] = []  # every one registered, in order, kept
        self.wire: list[tuple[str, dict[str, HeaderValue]]] = []
        # Called by drop(), as the real client fails what waits on the lost session.
        self.on_drop: list[Callable[[], None]] = []
        self._event_subs: list[Subscription[Message]] = []
        self._state_subs: list[Subscription[ConnectionChange]] = []
        self._list_sent = asyncio.Event()
        self._listening = asyncio.Event()

    # -- what PbxLink calls ---------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return ConnectionState.CONNECTED if self.connected else ConnectionState.DISCONNECTED

    def subscribe(
        self, names: set[str] | None = None, maxsize: int | None = None
    ) -> Subscription[Message]:
        wanted = {n.lower() for n in names} if names else None
        sub: Subscription[Message] = Subscription(
            maxsize or self.event_queue_size,
            self._event_subs.remove,
            (lambda m: m.name.lower() in wanted) if wanted else None,
        )
        self._event_subs.append(sub)
        return sub

    def connection_changes(self) -> Subscription[ConnectionChange]:
        sub: Subscription[ConnectionChange] = Subscription(64, self._state_subs.remove)
        self._state_subs.append(sub)
        self._listening.set()
        return sub

    async def action_list(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> ActionListResult:
        if not self.connected:
            raise AmiNotConnected(f"cannot send {name}: no AMI session is logged in")
        future: asyncio.Future[ActionListResult] = asyncio.get_running_loop().create_future()
        self.lists.append(PendingList(name, self.generation, future))
        self._list_sent.set()
        return await future

    async def action(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
    ) -> Message:
        if not self.connected:
            raise AmiNotConnected(f"cannot send {name}: no AMI session is logged in")
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        pending = PendingAction(name, dict(fields or {}), future)
        self.actions.append(pending)
        self.wire.append((name, pending.fields))
        response = await future
        if check and response.name.lower() == "error":
            raise AmiActionError(name, response.get("Message") or "")
        return response

    def expect_event(self, event: str, header: str, value: str) -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.expected.append(ExpectedEvent(event, header, value, future))
        return future

    # -- what the test does ---------------------------------------------------------------

    def emit(self, message: Message) -> None:
        # As the real reader: the waiters first, then the subscribers, in one step.
        for expected in self.expected:
            if not expected.future.done() and expected.matches(message):
                expected.future.set_result(message)
        for sub in list(self._event_subs):
            sub.offer(message)

    def connect(self) -> None:
        """A new logged-in session: a new generation."""
        self.generation += 1
        self.connected = True
        self._change(ConnectionState.CONNECTED)

    def drop(self) -> None:
        """The session is lost: lists, actions and event waits still pending fail, as the
        real client fails them."""
        self.connected = False
        for pending in self.lists:
            if not pending.future.done():
                pending.fail(connection_lost())
        for action in self.actions:
            if not action.future.done():
                action.fail(connection_lost())
        for expected in self.expected:
            if not expected.future.done():
                expected.future.set_exception(connection_lost())
        for hook in self.on_drop:
            hook()
        self._change(ConnectionState.DISCONNECTED, "connection closed")

    def close(self) -> None:
        self.connected = False
        self._change(ConnectionState.CLOSED)
        for events in list(self._event_subs):
            events.close()
        for changes in list(self._state_subs):
            changes.close()

    async def listening(self) -> None:
        """Wait until someone subscribed to events and connection changes."""
        async with asyncio.timeout(SAFETY_TIMEOUT):
            await self._listening.wait()
        assert self._event_subs

    async def next_list(self, count: int) -> PendingList:
        """Wait until the link has sent its ``count``-th list action (1-based); return it."""
        async with asyncio.timeout(SAFETY_TIMEOUT):
            while len(self.lists) < count:
                self._list_sent.clear()
                await self._list_sent.wait()
        return self.lists[count - 1]

    def waiting_for(self, event: str) -> list[ExpectedEvent]:
        """The ``expect_event`` futures for ``event`` still pending."""
        return [e for e in self.expected if e.event == event and not e.future.done()]

    def _change(self, state: ConnectionState, reason: str = "") -> None:
        change = ConnectionChange(state, self.generation, reason)
        for sub in list(self._state_subs):
            sub.offer(change)
