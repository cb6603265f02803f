"""The service's link to Asterisk: keeps the channel view exact and hands out hotline calls.

One place owns the AMI client; everything else in the service asks this link. On every
(re)connect, and whenever an event consumer fell behind, it resyncs the channel view from
``CoreShowChannels``. Every ``AsyncAGIStart`` (a call entering the hotline, or a phone dialling
out) is handed to a call handler in its own task, inside the link's TaskGroup.

Picking a call up. The dialplan arms a deadline before ``AGI(agi:async)`` (extensions.conf,
``TIMEOUT(absolute)``): a call the service does not pick up within it goes to the fallback,
never to silence. The link's first AGI command on every call it hands out cancels that deadline
(:data:`PICKUP_COMMAND`); a call whose deadline fired first has left Async AGI, belongs to the
fallback, and is not handed out. A handler that fails with the caller still in Async AGI gives
the call back to the dialplan (``ASYNCAGI BREAK``), whose next step is the fallback too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from callcenter.asterisk.agi import AgiResult, AsyncAgi, parse_agi_env
from callcenter.asterisk.client import AmiClient, ConnectionChange, ConnectionState
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiResultLost,
    AmiConnectionError,
    AmiError,
    AmiEventsLost,
    AmiNotConnected,
)
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.pbx.channels import TRACKED_EVENTS, ChannelTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgiCall:
    """A channel that entered ``AGI(agi:async)``: the start of a call the service controls."""

    channel: str
    uniqueid: str
    env: dict[str, str]
    agi: AsyncAgi
    linkedid: str | None = None
    # Set when the channel's AsyncAGIEnd arrives (the caller hung up, or the session ended).
    ended: asyncio.Event = field(default_factory=asyncio.Event, compare=False, repr=False)

    async def execute(
        self, command: str, *, timeout: float | None = None, ride_out: float = 0.0
    ) -> AgiResult:
        """One AGI command on this call; AgiChannelGone once the call has left Async AGI.
        ``ride_out``: seconds to wait for a new AMI session if the link drops meanwhile
        (callcenter/asterisk/agi.py ``AsyncAgi.execute``)."""
        return await self.agi.execute(
            self.channel, command, timeout=timeout, session_ended=self.ended, ride_out=ride_out
        )

    async def hang_up(self) -> None:
        """Hang the call up; a caller already gone is not an error."""
        with contextlib.suppress(AgiChannelGone):
            await self.execute("HANGUP")

    @property
    def caller_number(self) -> str:
        return self.env.get("agi_callerid", "")

    @property
    def called_number(self) -> str:
        return self.env.get("agi_extension", "")


CallHandler = Callable[[AgiCall], Awaitable[None]]


def by_context(handlers: Mapping[str, CallHandler], default: CallHandler) -> CallHandler:
    """One handler per dialplan context a call entered Async AGI from (``agi_context``), the
    hotline's IVR for the rest."""

    async def handle(call: AgiCall) -> None:
        await handlers.get(call.env.get("agi_context", ""), default)(call)

    return handle


class Resyncs:
    """When the channel view was last rebuilt from a snapshot, for those who wait for one:
    a call followed again after the link dropped (callcenter/pbx/caller_leg.py)."""

    def __init__(self) -> None:
        self.done = asyncio.Event()  # set by the first resync, for good
        self.generation = 0  # the AMI session of the newest resync
        self._next = asyncio.Event()  # set (and replaced) by every resync

    def rebuilt(self, generation: int) -> None:
        self.generation = generation
        done, self._next = self._next, asyncio.Event()
        done.set()
        self.done.set()

    async def after(self, generation: int) -> None:
        """Return once the channel view was rebuilt on a session newer than ``generation``."""
        while self.generation <= generation:
            await self._next.wait()


async def view_current(client: AmiClient, resyncs: Resyncs) -> None:
    """Return once the AMI link is up and the channel view rebuilt on its session (at once
    if it is). A call whose caller hung up meanwhile is then ended (``AgiCall.ended``)."""
    if client.state is ConnectionState.CONNECTED and resyncs.generation >= client.generation:
        return
    connected = client.state is ConnectionState.CONNECTED
    await resyncs.after(client.generation - 1 if connected else client.generation)


RESYNC_RETRY_MIN = 0.5
RESYNC_RETRY_MAX = 10.0

# The service's first command on a call: cancel the dialplan's pickup deadline. AGI's SET
# VARIABLE writes dialplan functions too; TIMEOUT(absolute)=0 clears the channel's hang-up
# time (func_timeout). Against Asterisk 22: tests/integration/test_fallback_real_asterisk.py.
PICKUP_COMMAND = "SET VARIABLE TIMEOUT(absolute) 0"
# Leave Async AGI without hanging up: the dialplan goes on at its next step, the fallback.
RELEASE_COMMAND = "ASYNCAGI BREAK"
# Well past any deadline the dialplan can arm (60 s at most, settings.py): by then either the
# command ran or the deadline fired and the call left Async AGI.
PICKUP_TIMEOUT = 65.0
PICKUP_RIDE_OUT = 30.0  # seconds a pickup waits for the AMI link to come back


class PbxLink:
    def __init__(
        self,
        client: AmiClient,
        tracker: ChannelTracker,
        call_handler: CallHandler | None = None,
        *,
        resyncs: Resyncs | None = None,
        agi: AsyncAgi | None = None,
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.agi = agi or AsyncAgi(client)
        self._call_handler = call_handler
        self._resync_lock = asyncio.Lock()
        self._resync_wanted = asyncio.Event()
        self._resync_events: list[Message] | None = None
        self.resyncs = resyncs or Resyncs()
        self.calls_handled = 0
        # Calls whose pickup deadline fired before the service picked them up: the fallback's.
        self.calls_missed = 0
        self._agi_calls: dict[str, AgiCall] = {}  # by channel, while in Async AGI

    async def run(self) -> None:
        """Consume events and connection changes until the client closes."""
        names = {*TRACKED_EVENTS, "asyncagistart", "asyncagiend"}
        with self.client.subscribe(names) as events, self.client.connection_changes() as changes:
            # A client already logged in announced its session before we listened: that
            # session needs its snapshot too. Checked in the same step as subscribing, so
            # a login that comes later arrives as a change instead.
            if self.client.state is ConnectionState.CONNECTED:
                self._resync_wanted.set()
            async with asyncio.TaskGroup() as tasks:
                helpers = [
                    tasks.create_task(self._watch_connection(changes), name="pbx-watch"),
                    tasks.create_task(self._resync_worker(), name="pbx-resync"),
                ]
                try:
                    await self._consume(events, tasks)
                finally:
                    for helper in helpers:
                        helper.cancel()

    async def _watch_connection(self, changes: Subscription[ConnectionChange]) -> None:
        while True:
            try:
                change = await changes.get()
            except StopAsyncIteration:
                return
            except AmiEventsLost:
                self._resync_wanted.set()  # some change was missed: a snapshot is safe
                continue
            if change.state is ConnectionState.CONNECTED:
                self._resync_wanted.set()

    async def _resync_worker(self) -> None:
        """One resync at a time; requests that arrive meanwhile merge into the next one.

        A resync that fails while the session stays up (a timeout, an error reply) is retried
        with backoff: the view must not stay stale until the next reconnect.
        """
        delay = RESYNC_RETRY_MIN
        while True:
            await self._resync_wanted.wait()
            self._resync_wanted.clear()
            if self.client.state is not ConnectionState.CONNECTED:
                continue  # the next login asks again
            if await self.resync():
                delay = RESYNC_RETRY_MIN
                continue
            generation = self.client.generation
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESYNC_RETRY_MAX)
            if self.client.generation == generation:
                self._resync_wanted.set()

    async def _consume(self, events: Subscription[Message], calls: asyncio.TaskGroup) -> None:
        while True:
            try:
                message: Message = await events.get()
            except StopAsyncIteration:
                return
            except AmiEventsLost as exc:
                log.warning("%s; resyncing channels", exc)
                self._resync_wanted.set()
                continue
            try:
                self._dispatch(message, calls)
            except Exception:
                # One event the view cannot take must not end the link, whose TaskGroup
                # holds every call: the view is rebuilt from a snapshot instead.
                log.exception("AMI event %s not applied; resyncing channels", message.name)
                self._resync_wanted.set()

    def _dispatch(self, message: Message, calls: asyncio.TaskGroup) -> None:
        name = message.name.lower()
        if name == "asyncagistart":
            self._start_call(message, calls)
        elif name == "asyncagiend":
            self._end_call(message)
        else:
            self.tracker.apply(message)
            if self._resync_events is not None:
                self._resync_events.append(message)

    async def resync(self) -> bool:
        """Replace the channel view with a CoreShowChannels snapshot; True when it did.

        Events that arrive while the snapshot is being listed are kept and applied again on
        top of it: a channel that hung up between being listed and the list's end must not
        come back from the snapshot.
        """
        async with self._resync_lock:
            generation = self.client.generation
            self._resync_events = []
            try:
                result = await self.client.action_list("CoreShowChannels")
            except AmiError as exc:
                log.warning("channel resync failed: %s", exc)
                return False
            finally:
                during, self._resync_events = self._resync_events, None
            self.tracker.replace_all(result.events)
            for message in during or []:
                self.tracker.apply(message)
            self._end_calls_gone()
            self.resyncs.rebuilt(generation)
            return True

    def _end_calls_gone(self) -> None:
        """A call whose channel is no longer in the rebuilt view hung up while the link was
        down: its AsyncAGIEnd went to nobody. Ended now, so that nothing waits on it, and no
        agent is offered a caller who is gone."""
        live = self.tracker.channels
        for channel, call in list(self._agi_calls.items()):
            if call.uniqueid not in live:
                log.info("call %s hung up while the PBX link was down", call.uniqueid)
                del self._agi_calls[channel]
                call.ended.set()

    @property
    def last_resync_generation(self) -> int:
        return self.resyncs.generation

    @property
    def resynced(self) -> asyncio.Event:
        """Set once the channel view was first rebuilt."""
        return self.resyncs.done

    async def resynced_after(self, generation: int) -> None:
        """Return once the channel view was rebuilt on a session newer than ``generation``."""
        await self.resyncs.after(generation)

    def adopt_call(self, channel: str, uniqueid: str, linkedid: str, caller: str) -> AgiCall:
        """A call still in Async AGI from a previous run of the service: the same handle as a
        new call's, so its end is followed the same way."""
        call = AgiCall(channel, uniqueid, {"agi_callerid": caller}, self.agi, linkedid)
        self._agi_calls[channel] = call
        return call

    def release_call(self, call: AgiCall) -> None:
        if self._agi_calls.get(call.channel) is call:
            del self._agi_calls[call.channel]

    def _end_call(self, message: Message) -> None:
        # Seen in the same ordered stream as the AsyncAGIStart, so it can never be missed.
        call = self._agi_calls.pop(message.get("Channel") or "", None)
        if call is not None:
            call.ended.set()

    def _start_call(self, message: Message, calls: asyncio.TaskGroup) -> None:
        channel = message.get("Channel") or ""
        env = parse_agi_env(message.get("Env") or "")
        uniqueid = message.get("Uniqueid") or ""
        linkedid = message.get("Linkedid") or None
        call = AgiCall(channel, uniqueid, env, self.agi, linkedid)
        if self._call_handler is None:
            return
        self._agi_calls[channel] = call
        self.calls_handled += 1
        calls.create_task(self._run_handler(call), name=f"call-{call.uniqueid}")

    async def _run_handler(self, call: AgiCall) -> None:
        assert self._call_handler is not None
        try:
            if not await self._pick_up(call):
                return
            await self._call_handler(call)
        except AgiChannelGone as exc:
            log.info("call %s ended its handler: %s", call.uniqueid, exc)
        except (AmiConnectionError, AmiNotConnected) as exc:
            # The link was lost under the call and its handler could not ride it out. The
            # deadline is cleared, and this run adopts no call: once the link is back, a
            # caller still there goes to the dialplan's fallback, not to silence. (If the
            # service stops first, its next run adopts the call.)
            log.warning("call %s ended its handler: %s", call.uniqueid, exc)
            await view_current(self.client, self.resyncs)
            await self._release_to_fallback(call)
        except AmiError as exc:
            # A command timed out or was refused, the link still up: the fallback takes the
            # caller rather than leave them in Async AGI with nobody driving the call.
            log.info("call %s ended its handler: %s", call.uniqueid, exc)
            await self._release_to_fallback(call)
        except Exception:
            # One broken call must never take the link (and every other call) down with it,
            # nor leave its caller in silence.
            log.exception("call handler failed for %s", call.uniqueid)
            await self._release_to_fallback(call)
        finally:
            self.release_call(call)

    async def _pick_up(self, call: AgiCall) -> bool:
        """Cancel the call's pickup deadline; False when the fallback has the call already
        (the deadline fired first: the caller left Async AGI) or the link failed."""
        try:
            await call.execute(PICKUP_COMMAND, timeout=PICKUP_TIMEOUT, ride_out=PICKUP_RIDE_OUT)
        except AgiResultLost:
            pass  # it ran while the link was down: the deadline is cleared
        except AgiChannelGone:
            self.calls_missed += 1
            log.warning(
                "call %s was not picked up within the dialplan's deadline: the fallback has it",
                call.uniqueid,
            )
            return False
        except AmiError as exc:
            # Unknown whether the deadline is still armed: make sure the call is not left
            # in Async AGI with nobody driving it.
            log.warning("call %s could not be picked up: %s", call.uniqueid, exc)
            await self._release_to_fallback(call)
            return False
        return True

    async def _release_to_fallback(self, call: AgiCall) -> None:
        """Give a call its handler cannot serve back to the dialplan (the fallback), unless
        the caller has left Async AGI already. Best effort: a link lost meanwhile cannot send
        it (then the next run of the service adopts the call, callcenter/pbx/adoption.py)."""
        if call.ended.is_set():
            return
        try:
            await call.execute(RELEASE_COMMAND, timeout=10.0)
        except AgiChannelGone:
            return
        except AmiError as exc:
            log.warning("call %s could not be handed to the fallback: %s", call.uniqueid, exc)
            return
        log.warning("call %s handed to the dialplan's fallback", call.uniqueid)
