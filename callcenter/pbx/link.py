"""The service's link to Asterisk: keeps the channel view exact and hands out hotline calls.

One place owns the AMI client; everything else in the service asks this link. On every
(re)connect, and whenever an event consumer fell behind, it resyncs the channel view from
``CoreShowChannels``. Every ``AsyncAGIStart`` (a call entering the hotline, or a phone dialling
out) is handed to a call handler in its own task, inside the link's TaskGroup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callcenter.asterisk.agi import AsyncAgi, parse_agi_env
from callcenter.asterisk.client import AmiClient, ConnectionChange, ConnectionState
from callcenter.asterisk.errors import AmiError, AmiEventsLost
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

    @property
    def caller_number(self) -> str:
        return self.env.get("agi_callerid", "")

    @property
    def called_number(self) -> str:
        return self.env.get("agi_extension", "")


CallHandler = Callable[[AgiCall], Awaitable[None]]


class PbxLink:
    def __init__(
        self, client: AmiClient, tracker: ChannelTracker, call_handler: CallHandler | None = None
    ) -> None:
        self.client = client
        self.tracker = tracker
        self.agi = AsyncAgi(client)
        self._call_handler = call_handler
        self._resync_lock = asyncio.Lock()
        self._resync_events: list[Message] | None = None
        self.resynced = asyncio.Event()
        self.last_resync_generation = 0
        self.calls_handled = 0

    async def run(self) -> None:
        """Consume events and connection changes until the client closes."""
        names = {*TRACKED_EVENTS, "asyncagistart"}
        with self.client.subscribe(names) as events, self.client.connection_changes() as changes:
            async with asyncio.TaskGroup() as calls:
                watcher = asyncio.create_task(self._watch_connection(changes), name="pbx-resync")
                try:
                    await self._consume(events, calls)
                finally:
                    watcher.cancel()
                    await asyncio.gather(watcher, return_exceptions=True)

    async def _watch_connection(self, changes: Subscription[ConnectionChange]) -> None:
        async for change in changes:
            if change.state is ConnectionState.CONNECTED:
                await self.resync()

    async def _consume(self, events: Subscription[Message], calls: asyncio.TaskGroup) -> None:
        while True:
            try:
                message: Message = await events.get()
            except StopAsyncIteration:
                return
            except AmiEventsLost as exc:
                log.warning("%s; resyncing channels", exc)
                calls.create_task(self.resync())
                continue
            if message.name.lower() == "asyncagistart":
                self._start_call(message, calls)
            else:
                self.tracker.apply(message)
                if self._resync_events is not None:
                    self._resync_events.append(message)

    async def resync(self) -> None:
        """Replace the channel view with a CoreShowChannels snapshot.

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
                return
            finally:
                during, self._resync_events = self._resync_events, None
            self.tracker.replace_all(result.events)
            for message in during or []:
                self.tracker.apply(message)
            self.last_resync_generation = generation
            self.resynced.set()

    def _start_call(self, message: Message, calls: asyncio.TaskGroup) -> None:
        channel = message.get("Channel") or ""
        env = parse_agi_env(message.get("Env") or "")
        call = AgiCall(channel, message.get("Uniqueid") or "", env, self.agi)
        if self._call_handler is None:
            return
        self.calls_handled += 1
        calls.create_task(self._run_handler(call), name=f"call-{call.uniqueid}")

    async def _run_handler(self, call: AgiCall) -> None:
        assert self._call_handler is not None
        try:
            await self._call_handler(call)
        except AmiError as exc:
            log.info("call %s ended its handler: %s", call.uniqueid, exc)
        except Exception:
            # One broken call must never take the link (and every other call) down with it.
            log.exception("call handler failed for %s", call.uniqueid)
