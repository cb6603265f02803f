"""The IVR on a real call: drives the sans-IO engine (callcenter.ivr.engine) over Async AGI.

One :class:`IvrRunner` serves every call; each call gets its own :class:`_CallRun`. The engine
decides, this module only does IO: each command becomes one AGI command (or a backend call),
each AGI reply becomes one result. A caller hanging up surfaces here as ``AgiChannelGone`` and
goes into the engine as ``CallerHungUp``, which ends the run with the path walked so far; the
run is then written to the call's interaction whatever happened.

The mapping, and why it is one AGI command each:

* Play -> ``STREAM FILE`` (with every key as escape digit when interruptible).
* CollectDigits -> ``GET DATA``: the prompt and the keys in one command, so no key pressed
  between two commands is lost (Async AGI drops DTMF that arrives while no command runs). A
  prompt said in several languages (the language menu) plays its leading parts with an
  interruptible ``STREAM FILE`` first: GET DATA takes a single file.
* SelfService -> one ``EXEC Playback a&b&c``: a sentence of fragments with no gaps; only
  for the client this call authenticated as (a PIN checked in this call), whatever the
  engine asks: account figures are never read to a caller known by number alone.
* RecordMessage -> ``RECORD FILE`` into the recordings folder; Hangup -> ``HANGUP``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Protocol

from callcenter.asterisk.agi import AgiResult, agi_quote
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiResultLost,
    AmiConnectionLost,
    AmiError,
    AmiNotConnected,
)
from callcenter.crm.phones import caller_e164
from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.commands import (
    AccountDataRefused,
    Authenticate,
    AuthenticateKnown,
    AuthOk,
    CallerFound,
    CallerHungUp,
    CallerNotFound,
    CollectDigits,
    Command,
    Digits,
    Done,
    Enqueue,
    Hangup,
    LookupCaller,
    OutcomeKind,
    Play,
    RecordMessage,
    RequestCallback,
    Result,
    SelfService,
    SpokenText,
    Timeout,
    Transfer,
)
from callcenter.ivr.engine import CallContext, Outcome, Resume, run_flow
from callcenter.ivr.flow import Language
from callcenter.ivr.ports import CallStart, IvrBackend
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.speech import Utterance, speak_self_service
from callcenter.pbx.link import AgiCall
from callcenter.pbx.prompt_files import (
    PromptSounds,
    playback_chunks,
    text_sound,
    utterance_sounds,
)

log = logging.getLogger(__name__)

ALL_KEYS = "0123456789*#"
# Calls that dial in from the carrier run the IVR; agent phones dialling out do not.
IVR_CONTEXTS = frozenset({"from-carrier"})
_SAFE_FILE_RE = re.compile(r"[^0-9A-Za-z._-]")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IvrConfig:
    calendar: BusinessCalendar
    recordings_dir: str  # as Asterisk names it (inside its root)
    hold_seconds: int = 600
    command_timeout: float = 60.0  # the longest a prompt plus its keys may take


# The ACD takes a queued call until it is over, or hands it back (its queue overflowed to a
# node of the caller's flow) with where the flow goes on.
QueuedHandler = Callable[[AgiCall, Outcome, int | None], Awaitable[Resume | None]]


class LinkSessions(Protocol):
    """The PBX link's sessions, for a call that rides out a lost link
    (callcenter/pbx/caller_leg.py ``CallerLegs``)."""

    @property
    def session(self) -> int:
        """The AMI session now (its generation)."""

    async def back_after(self, session: int) -> None:
        """Return once the channel view was rebuilt on a session newer than ``session``
        (a call that hung up meanwhile is then ended)."""


class KeptPlaces(Protocol):
    """The ACD's kept places (callcenter/acd/kept_places.py): a callback asked for at a node
    with ``keep_place`` keeps the wait the call left in its queue (virtual hold)."""

    def waited_in(self, call_id: str) -> str | None:
        """The queue the call waited in before the flow took it back, if a place may be
        kept."""

    def keep(self, call_id: str, item_id: int) -> bool:
        """Keep the call's place for callback work item ``item_id``."""


RIDE_OUT_SECONDS = 30.0  # how long a call waits for the AMI link to come back

# What the IVR says again after a lost link: commands that are only prompts and keys. An
# enqueue, a transfer, a recording or a hang-up is not repeated (the ACD rides out a lost
# link itself; the link hands a caller it could not serve to the dialplan's fallback).
REPEATABLE = (Play, CollectDigits, SelfService)


class IvrRunner:
    """The call handler of the hotline (a ``CallHandler`` for :class:`PbxLink`)."""

    def __init__(
        self,
        registry: FlowRegistry,
        backend: IvrBackend,
        sounds: Callable[[], PromptSounds],
        config: IvrConfig,
        *,
        on_queued: QueuedHandler | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        link: LinkSessions | None = None,
        places: KeptPlaces | None = None,
    ) -> None:
        self.link = link  # None: a lost link ends the run (a runner built on its own)
        self.places = places  # None: no place is kept (a runner without the ACD)
        self.registry = registry
        self.backend = backend
        self.sounds = sounds  # a getter: a flow reload brings a new index
        self.config = config
        self.on_queued = on_queued or self.hold_until_acd
        self.clock = clock
        self.runs_finished = 0

    async def __call__(self, call: AgiCall) -> None:
        context_name = call.env.get("agi_context", "")
        if context_name not in IVR_CONTEXTS:
            log.info("call %s from %s is not for the IVR; hanging up", call.uniqueid, context_name)
            await call.hang_up()
            return
        run = _CallRun(self, call)
        await run.run()
        self.runs_finished += 1
        if run.failure is not None and not call.ended.is_set():
            # Recorded as abandoned in the IVR, but the caller is still there: the link hands
            # them to the dialplan's fallback (a timeout) or to the next run (a lost link).
            raise run.failure

    async def hold_until_acd(
        self, call: AgiCall, outcome: Outcome, interaction_id: int | None
    ) -> Resume | None:
        """Without an ACD (a runner built on its own): queued calls wait on hold, then are
        released. The service hands them to the ACD instead (callcenter/acd/service.py)."""
        try:
            await call.execute(
                f"EXEC MusicOnHold {agi_quote(f'default,{self.config.hold_seconds}')}",
                timeout=self.config.hold_seconds + 30,
            )
            await call.execute("HANGUP")
        except AgiChannelGone:
            pass
        if interaction_id is not None:
            await self.backend.call_ended(interaction_id, at=self.clock())
        return None


class _CallRun:
    """One call through the IVR: the engine's commands turned into AGI and backend calls."""

    def __init__(self, runner: IvrRunner, call: AgiCall) -> None:
        self.runner = runner
        self.call = call
        self.backend = runner.backend
        self.sounds = runner.sounds()
        self.interaction_id: int | None = None
        # The client whose PIN this call proved, as the backend answered it: what account
        # data may be read for (kept across a run resumed after an overflow).
        self.authenticated_client: int | None = None
        self.gone = False
        self.failure: Exception | None = None

    async def run(self) -> None:
        runner, call = self.runner, self.call
        flows = runner.registry.current
        flow = flows.for_number(call.called_number or None)
        caller = caller_e164(call.caller_number) if call.caller_number else None
        started = runner.clock()
        self.interaction_id = await self.backend.start_call(
            CallStart(
                call_id=call.uniqueid,
                asterisk_linkedid=call.linkedid,
                caller_number=caller,
                called_number=call.called_number or None,
                flow=flow.id,
                at=started,
            )
        )
        calendar = runner.config.calendar
        context = CallContext(
            caller_number=caller,
            called_number=call.called_number or None,
            call_id=call.uniqueid,
            business_hours=calendar.is_open(started),
            holiday=calendar.is_holiday(started),
        )
        log.info("call %s to %s: IVR flow %s", call.uniqueid, call.called_number, flow.id)
        try:
            await self._agi("ANSWER")
        except AgiChannelGone:
            self.gone = True
        except AgiResultLost:
            pass  # it ran while the link was down: the call is answered
        outcome = await self._drive(run_flow(flow, context, flows=flows.flows))
        resume = await self._finish(outcome)
        while resume is not None:  # the queue overflowed to a node of this flow
            log.info("call %s goes on in flow %s at %s", call.uniqueid, flow.id, resume.node)
            try:
                run = run_flow(flow, context, flows=flows.flows, resume=resume)
                outcome = await self._drive(run)
            except ValueError as exc:  # the flow was changed under the queue's config
                log.error("call %s: cannot go on after overflow: %s", call.uniqueid, exc)
                outcome = dataclasses.replace(resume.after, kind=OutcomeKind.ABANDONED_IN_IVR)
                if not self.gone:
                    with contextlib.suppress(AgiChannelGone):
                        await call.hang_up()
                    self.gone = True
            resume = await self._finish(outcome, resumed=True)

    async def _drive(self, run: Generator[Command, Result, Outcome]) -> Outcome:
        command = next(run)
        while True:
            result = await self._answer(command)
            try:
                command = run.send(result)
            except StopIteration as stop:
                outcome: Outcome = stop.value
                return outcome

    async def _answer(self, command: Command) -> Result:
        link = self.runner.link
        while True:
            if self.gone:
                return CallerHungUp()
            session = link.session if link is not None else 0
            try:
                return await self._do(command)
            except AgiChannelGone:
                self.gone = True
                return CallerHungUp()
            except (AmiConnectionLost, AmiNotConnected) as exc:
                if link is None or not isinstance(command, REPEATABLE):
                    return self._failed(exc)
                # An AMI reset mid-prompt: the caller hears the prompt again once the link
                # is back, instead of dead air, unless they hung up meanwhile.
                log.warning(
                    "call %s: PBX link lost during %s; resuming once it is back",
                    self.call.uniqueid,
                    type(command).__name__,
                )
                await link.back_after(session)
                self.gone = self.call.ended.is_set()
            except AmiError as exc:
                return self._failed(exc)

    def _failed(self, exc: AmiError) -> Result:
        # The PBX failed (a timeout, a lost link with no way back): the engine ends as if
        # the caller had gone, so the path so far is still recorded.
        self.failure = exc
        self.gone = True
        return CallerHungUp()

    async def _finish(self, outcome: Outcome, *, resumed: bool = False) -> Resume | None:
        """Record how the run ended and hand the call on; a Resume when the ACD gives it back."""
        call, runner = self.call, self.runner
        if self.failure is not None:
            log.error(
                "IVR of call %s stopped: %s; recorded as %s",
                call.uniqueid,
                self.failure,
                outcome.kind,
            )
        else:
            log.info(
                "call %s left the IVR: %s after %d steps",
                call.uniqueid,
                outcome.kind,
                len(outcome.path),
            )
        handed_on = not self.gone and outcome.kind in (
            OutcomeKind.QUEUED,
            OutcomeKind.TRANSFERRED,
        )
        if self.interaction_id is not None:
            # A resumed run's record already has its IVR end and queue: only the path, the
            # outcome and (if so) the end are new.
            record = self.backend.finish_resumed if resumed else self.backend.finish_ivr
            await record(self.interaction_id, outcome, at=runner.clock(), call_ended=not handed_on)
        if not handed_on:
            if not self.gone:  # a flow that ended without hanging up: the channel must leave
                await call.hang_up()
        elif outcome.kind is OutcomeKind.QUEUED:
            return await runner.on_queued(call, outcome, self.interaction_id)
        else:
            await self._transfer(outcome.transferred_to or "")
        return None

    async def _transfer(self, to: str) -> None:
        """Ring ``to`` from the caller's channel; the IVR's part ended when the dialling began."""
        with contextlib.suppress(AgiChannelGone):
            await self._agi(f"EXEC Dial {agi_quote(f'PJSIP/{to},30')}", timeout=4 * 3600)
            await self._agi("HANGUP")
        if self.interaction_id is not None:
            await self.backend.call_ended(self.interaction_id, at=self.runner.clock())

    # --- commands ----------------------------------------------------------------------------

    async def _do(self, command: Command) -> Result:
        match command:
            case Play():
                return await self._play(command)
            case CollectDigits():
                return await self._collect(command)
            case LookupCaller():
                found = await self.backend.identify_caller(command.number)
                return CallerNotFound() if found is None else CallerFound(found)
            case Authenticate() | AuthenticateKnown():
                return await self._authenticate(command)
            case SelfService():
                return await self._self_service(command)
            case Enqueue():
                return Done()  # the queue takes the call once the run has ended
            case RequestCallback():
                await self._file_callback(command)
                return Done()
            case RecordMessage():
                return await self._record(command)
            case Transfer():
                return Done()  # dialled once the run is recorded (see _finish)
            case Hangup():
                await self._agi("HANGUP")
                self.gone = True
                return Done()
        raise AssertionError(f"no AGI mapping for {command!r}")

    async def _file_callback(self, command: RequestCallback) -> None:
        """File the callback; at a ``keep_place`` node, a caller the queue sent here keeps
        their place in it (the work item is that queue's)."""
        places, call_id = self.runner.places, self.call.uniqueid
        queue = places.waited_in(call_id) if places is not None and command.keep_place else None
        item_id = await self.backend.file_callback(
            number=command.number,
            language=command.language,
            client_id=command.client_id,
            interaction_id=self.interaction_id,
            queue=queue,
        )
        if queue is not None and places is not None:
            places.keep(call_id, item_id)

    async def _play(self, command: Play) -> Result:
        escape = ALL_KEYS if command.interruptible else ""
        for name in self._prompt_files(command.sound, command.texts):
            reply = await self._agi(f"STREAM FILE {agi_quote(name)} {agi_quote(escape)}")
            code = reply.result_int
            if code is not None and code > 0 and command.interruptible:
                return Digits(chr(code))
            if code is not None and code < 0:
                log.warning("call %s: could not play %s", self.call.uniqueid, name)
        return Done()

    async def _collect(self, command: CollectDigits) -> Result:
        names = self._prompt_files(command.sound, command.texts)
        # GET DATA plays one file. Leading parts of a prompt in several languages play first,
        # interruptible: a key pressed during them is the first key of the entry.
        typed = ""
        for name in names[:-1]:
            reply = await self._agi(
                f"STREAM FILE {agi_quote(name)} {agi_quote(ALL_KEYS)}",
                timeout=self.runner.config.command_timeout,
            )
            code = reply.result_int
            if code is not None and code > 0:
                typed = chr(code)
                break
        # Room for the terminator: GET DATA stops at its digit count, and a "#" typed after
        # a full-length entry would otherwise end the next prompt's entry before it began.
        wanted = command.max_digits + (1 if command.terminator else 0)
        if not typed or (len(typed) < wanted and typed != command.terminator):
            prompt = names[-1] if names and not typed else ""
            typed += await self._get_data(prompt, command, wanted - len(typed))
        if command.terminator and command.terminator in typed:
            typed = typed.split(command.terminator, 1)[0]
        return Digits(typed) if typed else Timeout()

    async def _get_data(self, prompt: str, command: CollectDigits, max_digits: int) -> str:
        timeout_ms = max(1, round(command.timeout * 1000))
        reply = await self._agi(
            f"GET DATA {agi_quote(prompt)} {timeout_ms} {max_digits}",
            timeout=self.runner.config.command_timeout,
        )
        typed = reply.result or ""
        if typed == "-1":  # the channel hung up during the command
            raise AgiChannelGone(f"{self.call.channel} hung up during GET DATA")
        return typed

    async def _authenticate(self, command: Authenticate | AuthenticateKnown) -> Result:
        caller = caller_e164(self.call.caller_number)
        if isinstance(command, AuthenticateKnown):
            result = await self.backend.authenticate_known(
                command.client_id,
                command.pin,
                interaction_id=self.interaction_id,
                caller_number=caller,
            )
        else:
            result = await self.backend.authenticate(
                command.account,
                command.pin,
                interaction_id=self.interaction_id,
                caller_number=caller,
            )
        if isinstance(result, AuthOk):
            self.authenticated_client = result.client.client_id
        return result

    async def _self_service(self, command: SelfService) -> Result:
        if command.client_id != self.authenticated_client:
            # Defense in depth: the engine asks only after a PIN, but whatever asked, no
            # figure is read out for a client this call did not authenticate as.
            log.error(
                "call %s: account data (%s) refused: not authenticated as that client",
                self.call.uniqueid,
                command.what,
            )
            return AccountDataRefused()
        snapshot = await self.backend.account_snapshot(command.client_id)
        utterance = speak_self_service(command.what, snapshot, command.language)
        for chunk in playback_chunks(self._utterance_sounds(utterance)):
            await self._agi(
                f"EXEC Playback {agi_quote(chunk)}", timeout=self.runner.config.command_timeout
            )
        return Done()

    async def _record(self, command: RecordMessage) -> Result:
        stem = _SAFE_FILE_RE.sub("_", self.call.uniqueid) or "message"
        path = f"{self.runner.config.recordings_dir.rstrip('/')}/{stem}"
        caller = caller_e164(self.call.caller_number)
        try:
            await self._agi(
                f"RECORD FILE {agi_quote(path)} wav {agi_quote('#')} "
                f"{command.max_seconds * 1000} BEEP s=5",
                timeout=command.max_seconds + 30,
            )
        except AgiResultLost:
            pass  # it ended while the AMI link was down: Asterisk kept the recording
        finally:
            # Hanging up is how many callers end a message: Asterisk keeps what it recorded.
            await self.backend.file_voice_message(
                recording_ref=f"{path}.wav",
                client_id=command.client_id,
                interaction_id=self.interaction_id,
                caller_number=caller,
            )
        return Done()

    # --- helpers -----------------------------------------------------------------------------

    def _prompt_files(self, sound: str | None, texts: tuple[SpokenText, ...]) -> list[str]:
        """The files that say a prompt, in order (one per language it is said in)."""
        if sound is not None:
            return [sound]
        names = [self._text_sound(text, language) for text, language in texts]
        return [name for name in names if name is not None]

    def _text_sound(self, text: str, language: Language) -> str | None:
        return text_sound(self.sounds, text, language, self.call.uniqueid)

    def _utterance_sounds(self, utterance: Utterance) -> list[str]:
        return utterance_sounds(self.sounds, utterance, self.call.uniqueid)

    async def _agi(self, command: str, *, timeout: float | None = None) -> AgiResult:
        # Through an AMI reset the command's own result is awaited on the next session; if
        # it was lost, _answer sends the whole step again (the caller hears it again).
        ride_out = RIDE_OUT_SECONDS if self.runner.link is not None else 0.0
        return await self.call.execute(command, timeout=timeout, ride_out=ride_out)
