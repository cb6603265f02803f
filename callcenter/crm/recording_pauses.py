"""Pausing a call's recording (issue 17, point 3): the agent stops what the client dictates
(a password, a card number) from being kept, then resumes; a limit resumes it by itself.

A pause does not stop the recording: both directions are muted (the PBX writes zeros,
callcenter/pbx/recording_mute.py), so the file keeps its timeline and the pause is a silent
span at known offsets. Each pause is a ``recording_pauses`` row, a ``paused`` and a
``resumed`` entry in the recordings' hash chain and an audit row each (who, when, which call),
written by the :class:`PauseLedger`; the agent's desk is told by ``call.recording`` events.

Who: the agent on the call pauses and resumes; a supervisor may resume (never pause).
What ends a pause (``resumed_by``): the agent, a supervisor, the limit
(``CALLCENTER_RECORDING_PAUSE_LIMIT_SECONDS``), or the call's end (``hangup``).

Each call's pause, resume, limit and hang-up run one at a time (a lock per call), in the order
check -> act on the PBX -> write -> announce: the file goes silent before the row says so, and
a pause the database refuses is undone on the PBX (no silent span without its audit).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from callcenter.errors import Conflict, NotFound
from callcenter.events import CallRecordingChanged, EventBus, RecordingStateName

log = logging.getLogger(__name__)

DEFAULT_LIMIT_SECONDS = 120.0


class ResumedBy(StrEnum):
    """Who or what ended a pause (``recording_pauses.resumed_by``)."""

    AGENT = "agent"
    LIMIT = "limit"  # the configured longest pause ran out
    HANGUP = "hangup"  # the call ended while paused
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class RecordingPause:
    """A span of a recording the agent paused (issue 17 point 3): silent in the file, both
    parties muted, so the file keeps its timeline. ``start_ms``/``end_ms``: offsets into the
    recording (``end_ms`` None while still paused); this module."""

    start_ms: int
    end_ms: int | None
    paused_by: int | None  # the user who paused
    resumed_by: ResumedBy | None  # None while still paused
    paused_at: dt.datetime
    resumed_at: dt.datetime | None = None
    resumed_by_user: int | None = None  # the agent or supervisor who resumed


# --- errors: stable ids, the edge picks the status -------------------------------------------


class CallNotRecorded(NotFound):
    """No such live call, or it is not being recorded (not answered yet, recording off)."""

    error_id = "call-not-recorded"


class NotYourCall(NotFound):
    error_id = "not-your-call"


class RecordingAlreadyPaused(Conflict):
    error_id = "recording-already-paused"


class RecordingNotPaused(Conflict):
    error_id = "recording-not-paused"


class RecordingMuteFailed(Conflict):
    """The PBX did not mute (or unmute) the recording: the link is down, the channel gone."""

    error_id = "recording-mute-failed"


# --- ports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """A live call being recorded, as the PBX adapter knows it."""

    call_id: str
    recording_id: int
    path: str  # the recording's (finished) path in the storage
    interaction_id: int | None
    agent_id: int | None  # the agent on the call now (call control), None: not known
    answered: float | None = None  # monotonic time of the answer (the recording's start)


class RecordingMute(Protocol):
    """The PBX's side (callcenter/pbx/recording_mute.py)."""

    async def recorded(self, call_id: str) -> RecordedCall | None: ...

    async def offset_ms(self, call: RecordedCall) -> int:
        """How far into its recording the call is now (also after it ended)."""
        ...

    async def mute(self, call_id: str, muted: bool) -> None:
        """Mute (or unmute) both directions; :class:`RecordingMuteFailed` if it could not."""
        ...


@dataclass(frozen=True)
class PauseOpened:
    recording_id: int
    call_id: str
    at: dt.datetime
    start_ms: int
    by_user_id: int


@dataclass(frozen=True)
class PauseClosed:
    pause_id: int
    call_id: str
    at: dt.datetime
    end_ms: int
    resumed_by: ResumedBy
    by_user_id: int | None  # None: the limit or the hang-up


class PauseLedger(Protocol):
    """The rows, chain entries and audit (callcenter/persistence/recording_pauses.py)."""

    async def opened(self, pause: PauseOpened) -> int: ...

    async def closed(self, pause: PauseClosed) -> None: ...


# --- the service --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PauseStatus:
    """What the API answers: the call's recording now."""

    call_id: str
    recording_id: int
    paused: bool
    paused_seconds: float = 0.0  # for how long so far (0 when recording)
    limit_seconds: float = DEFAULT_LIMIT_SECONDS
    resumed_by: ResumedBy | None = None  # of the pause that just ended


@dataclass
class _Paused:
    pause_id: int
    call: RecordedCall
    agent_id: int  # who paused: the desk told of it
    since: float  # monotonic
    timer: asyncio.Task[None] | None = None


@dataclass
class _Calls:
    paused: dict[str, _Paused] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, call_id: str) -> asyncio.Lock:
        return self.locks.setdefault(call_id, asyncio.Lock())


class RecordingPauses:
    def __init__(
        self,
        pbx: RecordingMute,
        ledger: PauseLedger,
        events: EventBus,
        *,
        limit_seconds: float = DEFAULT_LIMIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.pbx = pbx
        self.ledger = ledger
        self.events = events
        self.limit_seconds = limit_seconds
        self._clock = clock
        self._wallclock = wallclock
        self._calls = _Calls()
        self._timers: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        """Holds the limits' timers (a task of the service's TaskGroup)."""
        async with asyncio.TaskGroup() as timers:
            self._timers = timers
            try:
                await asyncio.Event().wait()
            finally:
                self._timers = None

    def is_paused(self, call_id: str) -> bool:
        return call_id in self._calls.paused

    def paused_calls(self) -> list[str]:
        return list(self._calls.paused)

    async def status(self, call_id: str, agent_id: int | None = None) -> PauseStatus:
        """``agent_id``: asked by that agent, who must be on the call (None: a supervisor)."""
        call = await self._recorded(call_id)
        if agent_id is not None and call.agent_id != agent_id:
            raise NotYourCall("only the agent on the call sees its recording's state")
        return self._status(call)

    async def pause(self, call_id: str, user_id: int) -> PauseStatus:
        async with self._calls.lock(call_id):
            call = await self._recorded(call_id)
            if call.agent_id != user_id:
                raise NotYourCall("only the agent on the call pauses its recording")
            if call_id in self._calls.paused:
                raise RecordingAlreadyPaused("the recording is paused already")
            # Muted first, the offset read after: the silence starts no later than it says.
            await self.pbx.mute(call_id, True)
            start_ms = await self.pbx.offset_ms(call)
            at = self._wallclock()
            try:
                pause_id = await self.ledger.opened(
                    PauseOpened(call.recording_id, call_id, at, start_ms, user_id)
                )
            except Exception:
                # No pause without its row, chain entry and audit: the recording goes on.
                await self.pbx.mute(call_id, False)
                raise
            paused = _Paused(pause_id, call, user_id, self._clock())
            self._calls.paused[call_id] = paused
            if self._timers is not None:
                paused.timer = self._timers.create_task(self._limit(call_id, paused))
            log.info(
                "call %s: agent %s paused recording %s at %d ms",
                call_id,
                user_id,
                call.recording_id,
                start_ms,
            )
            self._announce(paused, "paused")
            return self._status(call)

    async def resume(self, call_id: str, user_id: int, by: ResumedBy) -> PauseStatus:
        """The agent on the call (``by`` agent) or a supervisor resumes."""
        async with self._calls.lock(call_id):
            call = await self._recorded(call_id)
            if by is ResumedBy.AGENT and call.agent_id != user_id:
                raise NotYourCall("only the agent on the call resumes its recording")
            paused = self._calls.paused.get(call_id)
            if paused is None:
                raise RecordingNotPaused("the recording is not paused")
            await self._end(paused, by, user_id, unmute=True)
            return self._status(call, resumed_by=by)

    async def call_ended(self, call_id: str) -> None:
        """The call hung up: a pause still open ends there (``hangup``)."""
        if call_id not in self._calls.paused:
            self._calls.locks.pop(call_id, None)
            return
        async with self._calls.lock(call_id):
            paused = self._calls.paused.get(call_id)
            if paused is not None:
                await self._end(paused, ResumedBy.HANGUP, None, unmute=False)
        self._calls.locks.pop(call_id, None)

    async def _limit(self, call_id: str, paused: _Paused) -> None:
        await asyncio.sleep(self.limit_seconds)
        try:
            async with self._calls.lock(call_id):
                if self._calls.paused.get(call_id) is paused:
                    paused.timer = None  # this task: not to be cancelled by its own end
                    try:
                        await self._end(paused, ResumedBy.LIMIT, None, unmute=True)
                    except RecordingMuteFailed:
                        if await self.pbx.recorded(call_id) is not None:
                            raise
                        # The call ended unseen (its hang-up lost with the AMI link): the
                        # pause ended with it.
                        await self._end(paused, ResumedBy.HANGUP, None, unmute=False)
        except Exception:
            # Logged, never raised: a failing timer would end every other call's timers.
            log.exception("call %s: the recording did not resume at the limit", call_id)

    async def _end(
        self, paused: _Paused, by: ResumedBy, user_id: int | None, *, unmute: bool
    ) -> None:
        call_id = paused.call.call_id
        if unmute:
            await self.pbx.mute(call_id, False)
        end_ms = await self.pbx.offset_ms(paused.call)
        del self._calls.paused[call_id]
        if paused.timer is not None:
            paused.timer.cancel()
        await self.ledger.closed(
            PauseClosed(paused.pause_id, call_id, self._wallclock(), end_ms, by, user_id)
        )
        log.info(
            "call %s: recording %s resumed at %d ms (%s)",
            call_id,
            paused.call.recording_id,
            end_ms,
            by.value,
        )
        self._announce(paused, "ended" if by is ResumedBy.HANGUP else "recording", by)

    async def _recorded(self, call_id: str) -> RecordedCall:
        call = await self.pbx.recorded(call_id)
        if call is None:
            paused = self._calls.paused.get(call_id)
            if paused is None:
                raise CallNotRecorded("no live call with this id is being recorded")
            return paused.call
        return call

    def _status(self, call: RecordedCall, resumed_by: ResumedBy | None = None) -> PauseStatus:
        paused = self._calls.paused.get(call.call_id)
        return PauseStatus(
            call.call_id,
            call.recording_id,
            paused is not None,
            self._clock() - paused.since if paused is not None else 0.0,
            self.limit_seconds,
            resumed_by,
        )

    def _announce(
        self, paused: _Paused, state: RecordingStateName, resumed_by: ResumedBy | None = None
    ) -> None:
        call = paused.call
        self.events.publish(
            CallRecordingChanged(
                agent_id=paused.agent_id,
                call_id=call.call_id,
                interaction_id=call.interaction_id,
                recording_id=call.recording_id,
                state=state,
                paused_seconds=round(self._clock() - paused.since, 1),
                limit_seconds=self.limit_seconds,
                resumed_by=resumed_by.value if resumed_by is not None else None,
            )
        )
