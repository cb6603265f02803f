"""Which phones are registered: the PBX's answer to "can this extension ring now?".

The ACD refuses "ready" while the agent's phone is not registered, takes a ready agent whose
phone goes away out of ready (callcenter/acd/phones.py), and monitoring refuses a supervisor
whose phone cannot ring. All of them ask :class:`PhoneRegistrations` (the ACD through its
``PhoneRegistry`` port, callcenter/acd/ports.py); the browser softphone will too.

How Asterisk tells it (verified against Asterisk 22: tests/unit/test_registrations.py holds
the messages as the sandbox sent them, tests/integration/test_phone_registration_real_asterisk.py
runs it for real):

* chan_pjsip gives every endpoint a device state ``PJSIP/<endpoint>``: ``UNAVAILABLE`` while
  no contact of its AOR is registered, ``NOT_INUSE`` from the moment one registers (our AORs
  have ``qualify_frequency = 0``, and an unqualified contact counts as reachable), then
  ``INUSE``, ``RINGING``, ``ONHOLD``... while it has calls. A phone that unregisters
  (``Expires: 0``) or whose registration expires goes back to ``UNAVAILABLE``.
* The snapshot is ``DeviceStateList``: one ``DeviceStateChange`` per known device, then
  ``DeviceStateListComplete``. It needs the ``call`` or ``reporting`` write class, which the
  service's AMI user has (asterisk_conf/manager.conf). The PJSIP actions that list contacts
  (``PJSIPShowContacts``, ``PJSIPShowEndpoints``, ``PJSIPShowRegistrationsInbound``) need the
  ``system`` write class, which it is deliberately not given (reload, restart).
* Live changes are the ``DeviceStateChange`` events (read class ``call``): ``Device``,
  ``State``. ``ContactStatus`` (``NonQualified`` on register, ``Removed`` on unregister) says
  the same but has no snapshot we may ask for, so it is not used.

The picture is rebuilt from a snapshot on every AMI login and whenever events were lost; until
then, and while the link is down, :meth:`PhoneRegistrations.registered` answers None (cannot
tell), and the callers decide what that means (callcenter/acd/phones.py refuses "ready").

Two lines per extension (issue 19; docs/agent-desktop.md, "The softphone's contract"): the
desk phone's endpoint ``<ext>`` and the browser's ``<ext>-web``, each with its own device
state. An extension is registered when EITHER line is, and :meth:`PhoneRegistrations.line_for`
is the one place that says which to ring: the browser's when it is registered (the person
is at the desk's page), else the desk phone's. The ACD's ring (callcenter/pbx/caller_leg.py),
click-to-dial (callcenter/pbx/click_to_dial.py) and monitoring (callcenter/pbx/supervision.py)
all ask it, so a call never rings a line that is not there while the other is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Protocol

from callcenter.acd.ports import PhoneWatcher
from callcenter.asterisk.client import ActionListResult, ConnectionChange, ConnectionState
from callcenter.asterisk.errors import AmiError, AmiEventsLost
from callcenter.asterisk.protocol import HeaderValue, Message
from callcenter.asterisk.subscription import Subscription
from callcenter.pbx.phone_config import web_endpoint

log = logging.getLogger(__name__)

SNAPSHOT_ACTION = "DeviceStateList"
EVENT = "DeviceStateChange"
TECH = "PJSIP/"
# Device states in which an endpoint has no phone that can ring. Every other state (NOT_INUSE,
# INUSE, BUSY, RINGING, RINGINUSE, ONHOLD) is a registered phone, idle or not.
NOT_REGISTERED = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
# How long a question waits for a snapshot when there is none for the current session (the
# service's start, a reconnect under way): after that it is answered "cannot tell".
SNAPSHOT_WAIT = 3.0
RETRY_MIN = 0.5
RETRY_MAX = 10.0


class Ami(Protocol):
    """What the registrations need of the AMI client (callcenter/asterisk/client.py)."""

    @property
    def state(self) -> ConnectionState: ...

    @property
    def generation(self) -> int: ...

    def subscribe(
        self, names: set[str] | None = None, maxsize: int | None = None
    ) -> Subscription[Message]: ...

    def connection_changes(self) -> Subscription[ConnectionChange]: ...

    async def action_list(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> ActionListResult: ...


def endpoint_of(message: Message) -> str | None:
    """The PJSIP endpoint (our extension) a ``DeviceStateChange`` is about, else None."""
    device = message.get("Device") or ""
    return device[len(TECH) :] if device.startswith(TECH) and len(device) > len(TECH) else None


def is_registered(state: str | None) -> bool:
    return state is not None and state.upper() not in NOT_REGISTERED


class LineChooser(Protocol):
    """Which of an extension's lines to ring (:meth:`PhoneRegistrations.line_for`)."""

    def line_for(self, extension: str) -> str: ...


def endpoint_to_ring(lines: LineChooser | None, extension: str) -> str:
    """The endpoint to ring for ``extension``: the chooser's answer, or the extension itself
    (the desk phone) where no chooser is wired (tests of one part, tools)."""
    return lines.line_for(extension) if lines is not None else extension


class PhoneRegistrations:
    """The registered phones, kept from a snapshot per AMI session and the events after it."""

    def __init__(self, client: Ami, *, snapshot_wait: float = SNAPSHOT_WAIT) -> None:
        self.client = client
        self.snapshot_wait = snapshot_wait
        self._states: dict[str, str] = {}  # endpoint -> its device state
        self._current = asyncio.Event()  # set while the picture holds for this session
        self._wanted = asyncio.Event()  # a snapshot is needed
        self._during: list[Message] | None = None  # events that came while one was listed
        self._watchers: list[PhoneWatcher] = []
        self._listing = asyncio.Lock()
        self.snapshots = 0

    # --- what the service asks -----------------------------------------------------------

    def watch(self, watcher: PhoneWatcher) -> None:
        self._watchers.append(watcher)

    async def registered(self, extension: str) -> bool | None:
        """Whether ``extension`` has a registered phone; None when the PBX cannot be asked:
        no snapshot came within ``snapshot_wait`` (the link is down, or still logging in
        again: a question asked during a short outage waits for it rather than fail)."""
        if not self._current.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._current.wait(), self.snapshot_wait)
        answer = self.registered_now(extension)
        if answer is False:
            # A phone that registered a moment ago (the agent's softphone started as they
            # press ready) may not have reached us as an event yet: before refusing, ask the
            # PBX afresh. One list per refusal, only while the picture says "not registered".
            await self.snapshot()
            answer = self.registered_now(extension)
        return answer

    def registered_now(self, extension: str) -> bool | None:
        """The same without waiting for a snapshot under way: either of the extension's
        lines (the desk phone ``<ext>``, the browser ``<ext>-web``)."""
        if not self._current.is_set():
            return None
        return self._line_registered(extension) or self._line_registered(web_endpoint(extension))

    def line_for(self, extension: str) -> str:
        """The endpoint to ring for ``extension`` now: the browser's (``<ext>-web``) when it
        is registered, else the desk phone's (``<ext>``), which is also the answer when
        nothing is registered or the picture is unknown (the ring then fails as before)."""
        web = web_endpoint(extension)
        return web if self._line_registered(web) else extension

    def _line_registered(self, endpoint: str) -> bool:
        return is_registered(self._states.get(endpoint))

    @property
    def current(self) -> bool:
        """True while the picture is the PBX's (a snapshot taken on the live session)."""
        return self._current.is_set()

    # --- keeping the picture -----------------------------------------------------------------

    async def run(self) -> None:
        """Follow device states and connection changes until the client closes."""
        with (
            self.client.subscribe({EVENT}) as events,
            self.client.connection_changes() as changes,
        ):
            # A session logged in before we listened announced itself to nobody: it needs
            # its snapshot too (checked in the same step as subscribing, as PbxLink does).
            if self.client.state is ConnectionState.CONNECTED:
                self._wanted.set()
            async with asyncio.TaskGroup() as tasks:
                helpers = [
                    tasks.create_task(self._follow_connection(changes), name="phones-watch"),
                    tasks.create_task(self._snapshots(), name="phones-snapshot"),
                ]
                try:
                    await self._consume(events)
                finally:
                    for helper in helpers:
                        helper.cancel()

    async def _follow_connection(self, changes: Subscription[ConnectionChange]) -> None:
        while True:
            try:
                change = await changes.get()
            except StopAsyncIteration:
                return
            except AmiEventsLost:
                self._stale()
                continue
            # Whatever happened, the picture is no longer the PBX's: a new session needs its
            # own snapshot, and a lost one leaves us blind until then.
            self._current.clear()
            if change.state is ConnectionState.CONNECTED:
                self._wanted.set()

    def _stale(self) -> None:
        self._current.clear()
        self._wanted.set()

    async def _consume(self, events: Subscription[Message]) -> None:
        while True:
            try:
                message = await events.get()
            except StopAsyncIteration:
                return
            except AmiEventsLost as exc:
                log.warning("%s; listing device states again", exc)
                self._stale()
                continue
            if self._during is not None:
                self._during.append(message)
            self._apply(message)

    def _apply(self, message: Message) -> None:
        endpoint = endpoint_of(message)
        state = (message.get("State") or "").upper()
        if endpoint is None or not state:
            return
        was = is_registered(self._states.get(endpoint))
        self._states[endpoint] = state
        now = is_registered(state)
        if was != now:
            log.info("phone %s %s (%s)", endpoint, "registered" if now else "unregistered", state)
        if was and not now and self._current.is_set():
            self._tell()

    async def _snapshots(self) -> None:
        """One snapshot at a time; one that fails while the session stays up is tried again
        with backoff (the ACD cannot let anyone go ready until it has one)."""
        delay = RETRY_MIN
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            if self.client.state is not ConnectionState.CONNECTED:
                continue  # the next login asks again
            if await self.snapshot():
                delay = RETRY_MIN
                continue
            generation = self.client.generation
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            if self.client.generation == generation:
                self._wanted.set()

    async def snapshot(self) -> bool:
        """Replace the picture with ``DeviceStateList``; True when it did.

        Events that arrive while the list is under way are applied again on top of it, in
        order: one the list already reflects changes nothing, a newer one wins.
        """
        async with self._listing:  # one list at a time: each keeps the events under way
            return await self._snapshot()

    async def _snapshot(self) -> bool:
        generation = self.client.generation
        self._during = []
        try:
            result = await self.client.action_list(SNAPSHOT_ACTION)
        except AmiError as exc:
            log.warning("device states not listed: %s", exc)
            return False
        finally:
            during, self._during = self._during, None
        states: dict[str, str] = {}
        for message in [*result.events, *(during or [])]:
            endpoint = endpoint_of(message)
            state = (message.get("State") or "").upper()
            if endpoint is not None and state:
                states[endpoint] = state
        self._states = states
        if self.client.generation != generation or (
            self.client.state is not ConnectionState.CONNECTED
        ):
            return False  # listed on a session that has gone: the next one lists again
        self._current.set()
        self.snapshots += 1
        registered = sorted(e for e, s in states.items() if is_registered(s))
        log.info("device states listed: %d phones registered %s", len(registered), registered)
        self._tell()  # ready agents whose phone went while we could not see are found now
        return True

    def _tell(self) -> None:
        for watcher in self._watchers:
            watcher.phones_changed()
