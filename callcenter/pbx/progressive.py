"""Progressive dialling over AMI (issue 18, point 3; docs/outbound.md): the client first.

The service originates the client's number on the carrier trunk, showing the hotline's
number. Once the client answers, their channel runs ``outbound-connect``, which enters Async
AGI like a hotline call, and the call joins the ACD as a waiting call meant for the agent the
dialler dialled for (routed to them as a client's own advisor is: at once when ready). From
there it is an inbound call's story: the pop reaches the agent's desk, then their phone rings,
the call is bridged, recorded and wrapped up. A client who does not answer is never connected
to anyone: the attempt ends with its outcome.

Outcomes come from the originated channel's own events: ``OriginateResponse`` (Success: the
client answered) and, when it failed, the channel's ``Hangup`` ``Cause`` (a Q.850 code; its
``Reason`` alone does not tell a wrong number from congestion).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.acd.dial_outcome import (
    BUSY_CAUSE,
    NO_ANSWER_CAUSES,
    WRONG_NUMBER_CAUSES,
    DialOutcome,
    parse_cause,
)
from callcenter.acd.service import AcdService
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AmiError
from callcenter.asterisk.protocol import Message
from callcenter.crm.phones import mask_phone
from callcenter.events import EventBus, OutboundCallEnded
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome
from callcenter.pbx.call_states import CallControlBackend, PbxUnavailable, dial_target
from callcenter.pbx.caller_leg import AgiCallerLeg, CallerLegs
from callcenter.pbx.link import AgiCall

log = logging.getLogger(__name__)

PROGRESSIVE_CONTEXT = "outbound-connect"
HANGUP_AFTER_FAILURE_SECONDS = 5.0  # the failed channel's Hangup (its cause) follows at once


def progressive_outcome(*, answered: bool, reason: str | None, cause: int | None) -> DialOutcome:
    """The outcome of a progressive dial from its originated channel's events: answered, or
    why not (``OriginateResponse``'s ``Reason``: 3 rang out, 5 busy, 8 congestion; the
    channel's ``Hangup`` cause tells more, a wrong number first of all)."""
    if answered:
        return DialOutcome.ANSWERED
    if cause in WRONG_NUMBER_CAUSES:
        return DialOutcome.WRONG_NUMBER
    if cause == BUSY_CAUSE or reason == "5":
        return DialOutcome.BUSY
    if reason == "3" or cause in NO_ANSWER_CAUSES:
        return DialOutcome.NO_ANSWER
    return DialOutcome.FAILED


class DialledLeg(AgiCallerLeg):
    """The client's answered channel as the ACD's caller leg: the number is the client's
    (the channel's own caller ID is the hotline's, which the client was shown)."""

    def __init__(self, legs: CallerLegs, call: AgiCall, number: str) -> None:
        super().__init__(legs, call)
        self._number = number

    @property
    def caller_number(self) -> str:
        return self._number


@dataclass(frozen=True)
class ProgressiveDial:
    """A client dialled for an agent, until their channel reaches the service."""

    call_id: str
    interaction_id: int
    agent_id: int
    client_id: int | None
    number: str
    queue: str
    language: str
    # True once the client answered (their channel is on its way into the ACD), False when
    # the dial ended without an answer: for a caller called back at their kept place.
    answered: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future(), compare=False
    )


class ProgressiveCalls:
    """Dial clients for agents (:meth:`dial`), and take each answered client's Async AGI
    session into the ACD (a ``CallHandler`` for the ``outbound-connect`` context)."""

    def __init__(
        self,
        ami: AmiClient,
        legs: CallerLegs,
        acd: AcdService,
        backend: CallControlBackend,
        events: EventBus,
        *,
        trunk: str,
        hotline_number: str,
        ring_seconds: int,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ami = ami
        self.legs = legs
        self.acd = acd
        self.backend = backend
        self.events = events
        self.trunk = trunk
        self.hotline_number = hotline_number
        self.ring_seconds = ring_seconds
        self.clock = clock
        self._pending: dict[str, ProgressiveDial] = {}
        self._tasks: asyncio.TaskGroup | None = None

    async def run(self) -> None:
        """Own the tasks that follow each dial, for as long as the service runs."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            try:
                await asyncio.Event().wait()
            finally:
                self._tasks = None

    async def dial(
        self,
        agent_id: int,
        number: str,
        client_id: int | None,
        queue: str,
        language: str = "zh",
    ) -> ProgressiveDial:
        """Originate ``number`` on the trunk for ``agent_id``. PbxUnavailable when the link is
        not running or the PBX refuses; NoOutboundTrunk when no trunk is set."""
        if self._tasks is None:
            raise PbxUnavailable("the PBX link is not running")
        target = dial_target(number, (), self.trunk)
        call_id = f"prog-{secrets.token_hex(10)}"
        interaction_id = await self.backend.outbound_started(
            agent_id, number, client_id, call_id, self.clock()
        )
        pending = ProgressiveDial(
            call_id, interaction_id, agent_id, client_id, number, queue, language
        )
        waits = {
            name: self.ami.expect_event(name, "Uniqueid", call_id)
            for name in ("OriginateResponse", "Hangup")
        }
        self._pending[call_id] = pending
        try:
            await self.ami.action(
                "Originate",
                {
                    "Channel": target,
                    "Context": PROGRESSIVE_CONTEXT,
                    "Exten": "s",
                    "Priority": "1",
                    "Timeout": str(self.ring_seconds * 1000),
                    # The client sees the hotline: chan_pjsip builds the INVITE's From from
                    # the originated channel's caller ID.
                    "CallerID": f'"{self.hotline_number}" <{self.hotline_number}>',
                    "ChannelId": call_id,
                    "Async": "true",
                },
            )
        except AmiError as exc:
            self._pending.pop(call_id, None)
            for wait in waits.values():
                wait.cancel()
            await self.backend.outbound_phase(interaction_id, "ended", self.clock())
            raise PbxUnavailable(f"the PBX did not take the call: {exc}") from exc
        log.info(
            "progressive: agent %s, dialling %s (call %s)", agent_id, mask_phone(number), call_id
        )
        self._tasks.create_task(self._follow(pending, waits), name=f"progressive-{call_id}")
        return pending

    async def _follow(
        self, dial: ProgressiveDial, waits: dict[str, asyncio.Future[Message]]
    ) -> None:
        answered_at: dt.datetime | None = None
        outcome = DialOutcome.FAILED
        try:
            response = await waits["OriginateResponse"]
            if response.get("Response") == "Success":
                answered_at = self.clock()
                outcome = DialOutcome.ANSWERED
                _settle(dial.answered, True)
                await waits["Hangup"]  # the ACD records the call's own phases meanwhile
            else:
                self._pending.pop(dial.call_id, None)
                cause = None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HANGUP_AFTER_FAILURE_SECONDS):
                        cause = parse_cause((await waits["Hangup"]).get("Cause"))
                outcome = progressive_outcome(
                    answered=False, reason=response.get("Reason"), cause=cause
                )
                await self.backend.outbound_phase(dial.interaction_id, "ended", self.clock())
        except AmiError as exc:
            log.warning("progressive call %s: lost track: %s", dial.call_id, exc)
            outcome = DialOutcome.ANSWERED if answered_at is not None else DialOutcome.FAILED
        finally:
            for wait in waits.values():
                wait.cancel()
            self._pending.pop(dial.call_id, None)
            _settle(dial.answered, answered_at is not None)
        log.info("progressive call %s ended: %s", dial.call_id, outcome.value)
        self.events.publish(
            OutboundCallEnded(
                agent_id=dial.agent_id,
                interaction_id=dial.interaction_id,
                call_id=dial.call_id,
                number_masked=mask_phone(dial.number),
                outcome=outcome,
                answered_at=answered_at,
                ended_at=self.clock(),
            )
        )

    async def __call__(self, call: AgiCall) -> None:
        """The answered client's channel: into the ACD, meant for the agent it was dialled
        for (the pop, then their phone). A session we did not dial is hung up."""
        dial = self._pending.pop(call.uniqueid, None)
        if dial is None:
            log.warning(
                "call %s in %s was not dialled by us; hanging up",
                call.uniqueid,
                PROGRESSIVE_CONTEXT,
            )
            await call.hang_up()
            return
        outcome = Outcome(
            kind=OutcomeKind.QUEUED,
            path=(),
            client_id=dial.client_id,
            language="en" if dial.language == "en" else "zh",
            queue=dial.queue,
        )
        log.info("progressive call %s answered: to agent %s", call.uniqueid, dial.agent_id)
        # The agent's phone shows the client's number: Dial passes the channel's caller ID on,
        # which was the hotline's for the client to see. Changing it now updates nothing on
        # the client's side (they are shown the connected line, set when they were dialled).
        try:
            await self.ami.action(
                "Setvar",
                {"Channel": call.channel, "Variable": "CALLERID(num)", "Value": dial.number},
            )
        except AmiError as exc:
            log.warning(
                "call %s: the client's number not set for the agent: %s", call.uniqueid, exc
            )
        await self.acd.take(
            DialledLeg(self.legs, call, dial.number),
            outcome,
            dial.interaction_id,
            resumable=False,
            for_agent=dial.agent_id,
        )


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)
