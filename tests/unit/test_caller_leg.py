"""The caller's leg over Asterisk (callcenter/pbx/caller_leg.py), against a scripted PBX.

The caller's Async AGI session is a fake AGI (tests/fakes/fake_agi.py) that records each
command and waits for the test to answer it; AMI is a fake client (tests/fakes/
fake_ami_client.py) that records each action in order and resolves ``expect_event`` futures
from the events the test emits. Nothing sleeps: a test acts, then lets the tasks run until
they wait again (:func:`settle`).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pytest

from callcenter.acd.leg import AgentLine, CallerGone, DialOutcome, LinkLost, TalkEnd
from callcenter.acd.service import AcdService
from callcenter.asterisk.agi import AsyncAgi
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiResultLost,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.asterisk.protocol import HeaderValue
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Resume
from callcenter.pbx.caller_leg import LONGEST_CALL, AgiCallerLeg, CallerLegs, QueueEntry
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import AgiCall, Resyncs
from callcenter.pbx.recording import CallRecorder
from tests.fakes.fake_agi import AgiCommand, FakeAgi
from tests.fakes.fake_ami_client import FakeAmiClient, event

CALLER = "PJSIP/carrier-00000001"
CALLER_ID = "1765000000.1"
AGENT_LEG = "PJSIP/1001-00000002"
T = TypeVar("T")

LINE = AgentLine(agent_id=7, extension="1001", interaction_id=42)


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until all of them wait on something (no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def done(task: asyncio.Task[T]) -> T:
    """What ``task`` returned or raised, once the tasks settled: a task that still waits
    fails the test at once instead of hanging it."""
    await settle()
    assert task.done(), "still waiting"
    return task.result()


@dataclass
class FakeConversations:
    """Call control as the leg sees it: told of each answered call, asked after the Dial."""

    rest: Awaitable[None] | None = None
    connected_calls: list[tuple[int, str, AgiCall, int | None]] = field(default_factory=list)
    asked_after: list[AgiCall] = field(default_factory=list)

    def connected(
        self, agent_id: int, extension: str, call: AgiCall, interaction_id: int | None
    ) -> None:
        self.connected_calls.append((agent_id, extension, call, interaction_id))

    async def after_dial(self, call: AgiCall) -> Awaitable[None] | None:
        self.asked_after.append(call)
        return self.rest


class Pbx:
    """One caller in Async AGI on a logged-in AMI session (generation 1)."""

    def __init__(self) -> None:
        self.ami = FakeAmiClient()
        self.ami.connect()
        self.agi = FakeAgi(self.ami)
        self.call = AgiCall(
            CALLER, CALLER_ID, {"agi_callerid": "13800000001"}, cast(AsyncAgi, self.agi), CALLER_ID
        )
        self.tracker = ChannelTracker()
        self.resyncs = Resyncs()
        self.resyncs.rebuilt(1)  # the link rebuilt the channel view on this session
        self.conversations = FakeConversations()
        self.legs = CallerLegs(
            cast(AmiClient, self.ami), self.tracker, self.resyncs, self.conversations
        )
        self.leg = self.legs.of(self.call)
        self.tasks: list[asyncio.Task[Any]] = []

    def start(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coroutine`` in a task that ends with the test."""
        task = asyncio.create_task(coroutine)
        self.tasks.append(task)
        return task

    async def close(self) -> None:
        """End what the test left waiting, so that no task outlives the test's loop."""
        for task in self.tasks:
            task.cancel()
        for command in self.agi.waiting():
            command.answer()  # a Dial left ringing or talking returns
        for action in self.ami.actions:
            if not action.future.done():
                action.answer()
        await settle()

    def command(self) -> AgiCommand:
        """The one AGI command waiting for its answer."""
        [waiting] = self.agi.waiting()
        return waiting

    def channel_is_up(self, uniqueid: str = CALLER_ID, name: str = CALLER) -> None:
        self.tracker.apply(
            event(
                "Newchannel",
                Channel=name,
                Uniqueid=uniqueid,
                Linkedid=CALLER_ID,
                ChannelStateDesc="Up",
            )
        )


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    pbx = Pbx()
    yield pbx
    await pbx.close()


async def lose_link_while_ringing(pbx: Pbx) -> None:
    """The AMI session drops while an agent is rung: the leg notes which session."""
    pbx.resyncs.rebuilt(pbx.ami.generation)  # the link's view of the session dialled in
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()
    pbx.ami.drop()
    pbx.command().fail(AmiConnectionLost("no AMI session within 30s"))  # the ride-out gave up
    assert await done(outcome) is DialOutcome.LINK_LOST


# --- the name and the dial -----------------------------------------------------------------


async def test_the_name_and_the_dial_go_out_in_order_before_dial_returns(pbx: Pbx) -> None:
    async def offer() -> list[tuple[str, dict[str, HeaderValue]]]:
        await pbx.leg.set_caller_name("Ana Li")
        await pbx.leg.dial(LINE, 14.6)
        return list(pbx.ami.wire)  # what went out by the time dial() returned

    sent = await done(pbx.start(offer()))  # nobody answered anything

    # Both sent, the Setvar first, though nobody answered the Setvar yet.
    assert sent == [
        ("Setvar", {"Channel": CALLER, "Variable": "CALLERID(name)", "Value": "Ana Li"}),
        ("AGI", {"Channel": CALLER, "Command": 'EXEC Dial "PJSIP/1001,15"'}),
    ]
    [setvar] = pbx.ami.actions
    assert not setvar.future.done()
    # The Dial returns only after the whole conversation.
    assert pbx.command().timeout == LONGEST_CALL
    # Its DialEnd is awaited on the caller's channel from the start.
    [dial_end] = pbx.ami.waiting_for("DialEnd")
    assert (dial_end.header, dial_end.value) == ("Channel", CALLER)


async def test_a_dial_without_a_name_sends_only_the_dial(pbx: Pbx) -> None:
    await pbx.leg.dial(LINE, 20)

    assert pbx.ami.wire == [("AGI", {"Channel": CALLER, "Command": 'EXEC Dial "PJSIP/1001,20"'})]


async def test_a_refused_name_does_not_fail_the_outcome(pbx: Pbx) -> None:
    await pbx.leg.set_caller_name("Ana Li")
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())

    pbx.ami.actions[0].refuse("Channel not found")
    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus="ANSWER"))

    assert await done(outcome) is DialOutcome.ANSWERED


class StartsRecording:
    """The recorder as the leg sees it: MixMonitor through the caller's own session."""

    async def start(self, call: AgiCall, interaction_id: int | None) -> None:
        await call.execute('EXEC MixMonitor "call.raw,bD"')


async def test_the_recording_and_the_dial_are_queued_together(pbx: Pbx) -> None:
    pbx.legs.recorder = cast(CallRecorder, StartsRecording())

    await done(pbx.start(pbx.leg.dial(LINE, 15)))  # nobody answered MixMonitor

    # Both queued on the caller's session, MixMonitor first, before either ran: Async AGI
    # runs them at the same frame. The Dial did not wait for MixMonitor's result.
    assert pbx.ami.wire == [
        ("AGI", {"Channel": CALLER, "Command": 'EXEC MixMonitor "call.raw,bD"'}),
        ("AGI", {"Channel": CALLER, "Command": 'EXEC Dial "PJSIP/1001,15"'}),
    ]
    assert [c.command.split()[1] for c in pbx.agi.waiting()] == ["MixMonitor", "Dial"]


async def test_the_outcome_follows_a_recording_that_ran_with_the_dial(pbx: Pbx) -> None:
    pbx.legs.recorder = cast(CallRecorder, StartsRecording())
    ringing = await done(pbx.start(pbx.leg.dial(LINE, 15)))
    outcome = pbx.start(ringing.outcome())

    mixmonitor, _dial = pbx.agi.waiting()
    mixmonitor.answer()
    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus="ANSWER"))

    assert await done(outcome) is DialOutcome.ANSWERED


# --- how the ringing ended -----------------------------------------------------------------


async def test_an_answer_is_known_from_dial_end_while_the_dial_goes_on(pbx: Pbx) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()
    assert not outcome.done()

    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus="ANSWER"))

    assert await done(outcome) is DialOutcome.ANSWERED
    assert not pbx.command().future.done()  # the conversation is on
    assert pbx.ami.waiting_for("DialEnd") == []


async def test_dial_end_of_another_channel_is_not_the_answer(pbx: Pbx) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())

    pbx.ami.emit(event("DialEnd", Channel="PJSIP/carrier-00000009", DialStatus="ANSWER"))
    await settle()

    assert not outcome.done()


@pytest.mark.parametrize("status", ["NOANSWER", "BUSY", "CHANUNAVAIL"])
async def test_an_unanswered_dial_is_no_answer_once_the_dial_returns(pbx: Pbx, status: str) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())

    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus=status))
    await settle()
    # Not before the Dial has returned: the next Dial would queue behind it.
    assert not outcome.done()
    pbx.command().answer("200 result=0")

    assert await done(outcome) is DialOutcome.NO_ANSWER


async def test_a_dial_that_returns_without_dial_end_is_no_answer(pbx: Pbx) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()

    pbx.command().answer("200 result=0")

    assert await done(outcome) is DialOutcome.NO_ANSWER
    [dial_end] = pbx.ami.expected
    assert dial_end.future.cancelled()


async def test_the_caller_hanging_up_while_the_agent_is_rung_is_caller_gone(pbx: Pbx) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()

    pbx.call.ended.set()  # AsyncAGIEnd: the caller hung up

    assert await done(outcome) is DialOutcome.CALLER_GONE
    [dial_end] = pbx.ami.expected
    assert dial_end.future.cancelled()


async def test_a_caller_gone_before_the_dial_is_caller_gone(pbx: Pbx) -> None:
    pbx.call.ended.set()
    ringing = await pbx.leg.dial(LINE, 15)

    assert await done(pbx.start(ringing.outcome())) is DialOutcome.CALLER_GONE
    assert pbx.ami.wire == []
    [dial_end] = pbx.ami.expected
    assert dial_end.future.cancelled()


async def test_the_link_dropping_while_the_agent_is_rung_is_link_lost(pbx: Pbx) -> None:
    await pbx.leg.set_caller_name("Ana Li")
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()

    pbx.ami.drop()  # the Setvar and the DialEnd wait fail; the Dial rides it out
    await settle()
    assert not outcome.done()
    pbx.command().fail(AmiConnectionLost("no AMI session within 30s"))  # it gave up

    assert await done(outcome) is DialOutcome.LINK_LOST


def agent_rings_through_a_reset(pbx: Pbx) -> asyncio.Task[DialOutcome]:
    async def ring() -> DialOutcome:
        ringing = await pbx.leg.dial(LINE, 15)
        return await ringing.outcome()

    return pbx.start(ring())


async def test_an_agent_who_answers_while_the_link_is_down_is_answered(pbx: Pbx) -> None:
    """Its DialEnd went to nobody: the rebuilt view shows the caller in a bridge."""
    outcome = agent_rings_through_a_reset(pbx)
    await settle()
    pbx.ami.drop()
    await settle()
    pbx.ami.connect()
    listed = {"Channel": CALLER, "Uniqueid": CALLER_ID, "Linkedid": CALLER_ID}
    pbx.tracker.replace_all(
        [event("CoreShowChannel", ChannelStateDesc="Up", BridgeId="b-1", **listed)]
    )
    pbx.resyncs.rebuilt(2)

    assert await done(outcome) is DialOutcome.ANSWERED
    assert [c.command for c in pbx.agi.waiting()] == [f'EXEC Dial "PJSIP/{LINE.extension},15"']


async def test_an_agent_still_ringing_after_the_reset_is_answered_by_the_new_dial_end(
    pbx: Pbx,
) -> None:
    outcome = agent_rings_through_a_reset(pbx)
    await settle()
    pbx.ami.drop()
    pbx.ami.connect()
    pbx.channel_is_up()  # still ringing: in no bridge
    pbx.resyncs.rebuilt(2)
    await settle()
    assert not outcome.done()

    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus="ANSWER"))

    assert await done(outcome) is DialOutcome.ANSWERED


async def test_a_caller_who_left_while_the_agent_rang_through_a_reset_is_gone(pbx: Pbx) -> None:
    outcome = agent_rings_through_a_reset(pbx)
    await settle()
    pbx.ami.drop()
    pbx.ami.connect()
    pbx.call.ended.set()  # not in the rebuilt view: the link ended the call
    pbx.resyncs.rebuilt(2)

    assert await done(outcome) is DialOutcome.CALLER_GONE


@pytest.mark.parametrize("named", [True, False], ids=["setvar-fails-first", "dialend-fails-first"])
async def test_a_dial_given_up_with_the_link_leaves_no_unread_error(pbx: Pbx, named: bool) -> None:
    # Asyncio logs "Task exception was never retrieved" for a failed task nobody awaited:
    # a Dial abandoned at LINK_LOST must not log that for every call ringing at a drop.
    unread: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: unread.append(context))
    if named:
        await pbx.leg.set_caller_name("Ana Li")
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()

    pbx.ami.drop()
    pbx.command().fail(AmiConnectionLost("no AMI session within 30s"))  # the ride-out gave up
    assert await done(outcome) is DialOutcome.LINK_LOST
    # Nothing holds the Dial any more: the ACD dropped the ringing, the fakes forget.
    del ringing
    pbx.ami.actions.clear()
    pbx.ami.expected.clear()
    pbx.agi.commands.clear()
    gc.collect()

    assert unread == []


async def test_the_dial_failing_with_the_link_is_link_lost_and_ends_the_dial_end_wait(
    pbx: Pbx,
) -> None:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    await settle()

    pbx.command().fail(AmiConnectionLost("AMI connection lost"))

    assert await done(outcome) is DialOutcome.LINK_LOST
    [dial_end] = pbx.ami.expected
    assert dial_end.future.cancelled()


# --- the conversation ------------------------------------------------------------------------


async def answered(pbx: Pbx) -> asyncio.Task[TalkEnd]:
    ringing = await pbx.leg.dial(LINE, 15)
    outcome = pbx.start(ringing.outcome())
    pbx.ami.emit(event("DialEnd", Channel=CALLER, DialStatus="ANSWER"))
    assert await done(outcome) is DialOutcome.ANSWERED
    talk = pbx.start(ringing.conversation())
    await settle()
    return talk


async def test_call_control_is_told_of_the_call_and_ends_it_when_the_dial_returns(
    pbx: Pbx,
) -> None:
    talk = await answered(pbx)

    assert pbx.conversations.connected_calls == [(7, "1001", pbx.call, 42)]
    assert not talk.done()  # until the Dial returns
    assert pbx.conversations.asked_after == []
    pbx.command().answer("200 result=0")

    assert await done(talk) == TalkEnd(rest=None)
    assert pbx.conversations.asked_after == [pbx.call]


async def test_a_transferred_caller_talks_on_with_what_call_control_returns(pbx: Pbx) -> None:
    rest = asyncio.get_running_loop().create_future()
    pbx.conversations.rest = rest
    talk = await answered(pbx)

    pbx.command().answer("200 result=0")

    end = await done(talk)
    assert end.rest is rest
    assert not end.link_lost
    rest.cancel()


async def test_a_caller_hanging_up_mid_call_still_lets_call_control_decide(pbx: Pbx) -> None:
    talk = await answered(pbx)

    pbx.call.ended.set()

    assert await done(talk) == TalkEnd(rest=None)
    assert pbx.conversations.asked_after == [pbx.call]


async def test_the_link_dropping_mid_call_is_told_as_such(pbx: Pbx) -> None:
    talk = await answered(pbx)

    pbx.ami.drop()
    await settle()
    assert not talk.done(), "the conversation rides the loss out"
    pbx.command().fail(AmiConnectionLost("no AMI session within 30s"))

    assert await done(talk) == TalkEnd(link_lost=True)
    assert pbx.conversations.asked_after == []


async def test_a_conversation_that_ended_while_the_link_was_down_is_over(pbx: Pbx) -> None:
    talk = await answered(pbx)

    pbx.ami.drop()
    pbx.ami.connect()
    pbx.command().fail(AgiResultLost("EXEC Dial finished while the AMI link was down"))

    assert await done(talk) == TalkEnd()
    assert pbx.conversations.asked_after == [pbx.call]


# --- music, prompts, hang-up --------------------------------------------------------------


def music_on(leg: AgiCallerLeg) -> Coroutine[Any, Any, None]:
    return leg.music_on()


def music_off(leg: AgiCallerLeg) -> Coroutine[Any, Any, None]:
    return leg.music_off()


def play(leg: AgiCallerLeg) -> Coroutine[Any, Any, None]:
    return leg.play("queue-thanks")


OPERATIONS = [
    pytest.param(music_on, 'EXEC StartMusicOnHold "default"', id="music_on"),
    pytest.param(music_off, "EXEC StopMusicOnHold", id="music_off"),
    pytest.param(play, 'STREAM FILE "queue-thanks" ""', id="play"),
]


@pytest.mark.parametrize(("operation", "command"), OPERATIONS)
async def test_each_operation_is_one_agi_command_that_it_waits_for(
    pbx: Pbx, operation: Any, command: str
) -> None:
    running = pbx.start(operation(pbx.leg))
    await settle()

    assert pbx.ami.wire == [("AGI", {"Channel": CALLER, "Command": command})]
    assert not running.done()
    pbx.command().answer("200 result=0 endpos=8000")
    await done(running)


@pytest.mark.parametrize(("operation", "command"), OPERATIONS)
async def test_a_caller_gone_is_caller_gone(pbx: Pbx, operation: Any, command: str) -> None:
    running = pbx.start(operation(pbx.leg))
    await settle()

    pbx.call.ended.set()

    with pytest.raises(CallerGone) as raised:
        await done(running)
    assert isinstance(raised.value.__cause__, AgiChannelGone)


@pytest.mark.parametrize("result_lost", [False, True], ids=["result-came", "result-lost"])
@pytest.mark.parametrize(("operation", "command"), OPERATIONS)
async def test_a_lost_link_is_ridden_out_and_the_command_sent_again_only_if_lost(
    pbx: Pbx, operation: Any, command: str, result_lost: bool
) -> None:
    """An AMI reset while the caller waits: the music or the prompt comes back once the link
    is, instead of dead air (issue 14); never twice in the channel's queue."""
    running = pbx.start(operation(pbx.leg))
    await settle()

    pbx.ami.drop()
    await settle()
    assert not running.done(), "it waits for the link"
    pbx.ami.connect()
    pbx.resyncs.rebuilt(2)  # the link rebuilt the view: the caller is still there
    if not result_lost:  # its result came on the new session
        pbx.command().answer("200 result=0 endpos=8000")
        await done(running)
        assert len(pbx.ami.wire) == 1
        return
    pbx.command().fail(AgiResultLost("it finished while the AMI link was down"))
    await settle()

    assert [action for action, _ in pbx.ami.wire] == ["AGI", "AGI"]
    assert pbx.ami.wire[1] == ("AGI", {"Channel": CALLER, "Command": command})
    pbx.command().answer("200 result=0 endpos=8000")
    await done(running)


@pytest.mark.parametrize(("operation", "command"), OPERATIONS)
async def test_a_caller_who_hangs_up_while_the_link_is_down_is_caller_gone(
    pbx: Pbx, operation: Any, command: str
) -> None:
    running = pbx.start(operation(pbx.leg))
    await settle()

    pbx.ami.drop()
    pbx.ami.connect()
    pbx.call.ended.set()  # what the link does for a call missing from its new snapshot
    pbx.resyncs.rebuilt(2)

    with pytest.raises(CallerGone):
        await done(running)
    assert len(pbx.ami.wire) == 1, "nothing is sent to a caller who is gone"


async def test_stop_playback_is_an_ami_action_at_once(pbx: Pbx) -> None:
    stop = pbx.start(pbx.leg.stop_playback())
    await settle()

    assert pbx.ami.wire == [("ControlPlayback", {"Channel": CALLER, "Control": "stop"})]
    pbx.ami.actions[0].answer()
    await done(stop)


@pytest.mark.parametrize(
    "error", [None, AmiConnectionLost("AMI connection lost"), AmiTimeout("no reply")]
)
async def test_stop_playback_with_nothing_playing_or_no_link_is_no_error(
    pbx: Pbx, error: Exception | None
) -> None:
    stop = pbx.start(pbx.leg.stop_playback())
    await settle()

    if error is None:
        pbx.ami.actions[0].refuse("No playback active")
    else:
        pbx.ami.actions[0].fail(error)

    await done(stop)  # no error


async def test_hang_up_sends_hangup_on_the_callers_session(pbx: Pbx) -> None:
    hang_up = pbx.start(pbx.leg.hang_up())
    await settle()

    assert pbx.ami.wire == [("AGI", {"Channel": CALLER, "Command": "HANGUP"})]
    pbx.command().answer("200 result=1")
    await done(hang_up)


@pytest.mark.parametrize(
    "error",
    [AgiChannelGone("gone"), AmiConnectionLost("AMI connection lost"), AmiTimeout("no reply")],
)
async def test_hang_up_of_a_gone_caller_or_without_a_link_is_no_error(
    pbx: Pbx, error: Exception
) -> None:
    hang_up = pbx.start(pbx.leg.hang_up())
    await settle()

    pbx.command().fail(error)

    await done(hang_up)  # no error


async def test_hang_up_with_no_session_at_all_is_no_error(pbx: Pbx) -> None:
    pbx.ami.drop()

    await pbx.leg.hang_up()


# --- after the link was lost -------------------------------------------------------------


async def test_a_call_is_followed_only_once_a_newer_session_rebuilt_the_view(pbx: Pbx) -> None:
    pbx.ami.connect()  # the link is in its second session (generation 2)
    await lose_link_while_ringing(pbx)
    follow = pbx.start(pbx.leg.outlive_link_loss())

    pbx.resyncs.rebuilt(2)  # a resync of the session the link was lost in
    await settle()
    assert not follow.done()

    pbx.ami.connect()
    # The new session's snapshot: the caller is still there.
    listed = {"Channel": CALLER, "Uniqueid": CALLER_ID, "Linkedid": CALLER_ID}
    pbx.tracker.replace_all([event("CoreShowChannel", ChannelStateDesc="Up", **listed)])
    pbx.resyncs.rebuilt(3)
    await settle()
    assert not follow.done()  # followed

    pbx.ami.emit(event("Hangup", Channel=CALLER, Uniqueid=CALLER_ID, Linkedid=CALLER_ID))
    await done(follow)


async def test_a_call_already_over_at_the_resync_needs_no_following(pbx: Pbx) -> None:
    pbx.channel_is_up()
    await lose_link_while_ringing(pbx)
    follow = pbx.start(pbx.leg.outlive_link_loss())
    await settle()
    assert not follow.done()

    pbx.ami.connect()
    pbx.tracker.replace_all([])  # the caller hung up while the link was down
    pbx.resyncs.rebuilt(2)

    await done(follow)


async def test_the_other_leg_hanging_up_hangs_up_the_caller(pbx: Pbx) -> None:
    await lose_link_while_ringing(pbx)
    pbx.ami.connect()
    pbx.channel_is_up()
    pbx.channel_is_up("1765000000.2", AGENT_LEG)
    pbx.resyncs.rebuilt(2)
    follow = pbx.start(pbx.leg.outlive_link_loss())
    await settle()

    # Some other call's channel: not ours.
    pbx.ami.emit(event("Hangup", Channel="PJSIP/1002-00000007", Uniqueid="9.9", Linkedid="9.9"))
    await settle()
    assert pbx.ami.actions == []

    pbx.ami.emit(event("Hangup", Channel=AGENT_LEG, Uniqueid="1765000000.2", Linkedid=CALLER_ID))
    await settle()
    assert pbx.ami.wire[-1] == ("Hangup", {"Channel": CALLER})
    pbx.ami.actions[0].refuse("No such channel")  # already on its way out: no error
    await settle()
    assert not follow.done()  # until the caller's own channel is gone

    pbx.ami.emit(event("Hangup", Channel=CALLER, Uniqueid=CALLER_ID, Linkedid=CALLER_ID))
    await done(follow)


async def test_a_follower_that_fell_behind_checks_the_view(pbx: Pbx) -> None:
    pbx.ami.event_queue_size = 1
    await lose_link_while_ringing(pbx)
    pbx.ami.connect()
    pbx.channel_is_up()
    pbx.resyncs.rebuilt(2)
    follow = pbx.start(pbx.leg.outlive_link_loss())
    await settle()

    # Its queue overflows; meanwhile the link's view saw the caller hang up.
    pbx.ami.emit(event("Hangup", Channel="PJSIP/1002-00000007", Uniqueid="9.9", Linkedid="9.9"))
    pbx.ami.emit(event("Hangup", Channel="PJSIP/1003-00000008", Uniqueid="9.8", Linkedid="9.8"))
    pbx.tracker.apply(event("Hangup", Channel=CALLER, Uniqueid=CALLER_ID))

    await done(follow)


async def test_the_service_stopping_while_following_is_link_lost(pbx: Pbx) -> None:
    await lose_link_while_ringing(pbx)
    pbx.ami.connect()
    pbx.channel_is_up()
    pbx.resyncs.rebuilt(2)
    follow = pbx.start(pbx.leg.outlive_link_loss())
    await settle()

    pbx.ami.close()  # the client closes its subscriptions

    with pytest.raises(LinkLost):
        await done(follow)


async def test_a_link_lost_while_ringing_is_remembered_for_the_follow(pbx: Pbx) -> None:
    pbx.ami.connect()  # generation 2
    await lose_link_while_ringing(pbx)
    follow = pbx.start(pbx.leg.outlive_link_loss())

    pbx.resyncs.rebuilt(2)
    await settle()
    assert not follow.done()
    pbx.resyncs.rebuilt(3)

    await done(follow)  # the caller's channel is not in the view


# --- the IVR's hand-off ------------------------------------------------------------------


@dataclass
class FakeAcd:
    error: Exception | None = None
    resume: Resume | None = None
    taken: list[tuple[Any, Outcome, int | None]] = field(default_factory=list)

    async def take(self, leg: Any, outcome: Outcome, interaction_id: int | None) -> Resume | None:
        self.taken.append((leg, outcome, interaction_id))
        if self.error is not None:
            raise self.error
        return self.resume


QUEUED = Outcome(kind=OutcomeKind.QUEUED, path=(), queue="sales")


async def test_the_acd_takes_the_callers_leg_from_the_ivr(pbx: Pbx) -> None:
    acd = FakeAcd(resume=Resume("overflow", QUEUED))
    entry = QueueEntry(pbx.legs, cast(AcdService, acd))

    assert await entry(pbx.call, QUEUED, 42) is acd.resume
    [(leg, outcome, interaction_id)] = acd.taken
    assert leg.call is pbx.call
    assert (outcome, interaction_id) == (QUEUED, 42)


async def test_a_link_lost_in_the_acd_ends_the_ivr_run_as_a_lost_connection(pbx: Pbx) -> None:
    lost = LinkLost("AMI connection lost")
    entry = QueueEntry(pbx.legs, cast(AcdService, FakeAcd(error=lost)))

    with pytest.raises(AmiConnectionLost) as raised:
        await entry(pbx.call, QUEUED, 42)
    assert raised.value.__cause__ is lost


async def test_a_dial_waits_for_the_link_and_a_dial_refused_unsent_is_not_dialled(
    pbx: Pbx,
) -> None:
    """No agent is marked missed for a ring that never happened (issue 14)."""
    pbx.ami.drop()
    dial = pbx.start(pbx.leg.dial(LINE, 15))
    await settle()
    assert not dial.done(), "no dial while the link is down"
    assert pbx.ami.wire == []

    pbx.ami.connect()
    pbx.resyncs.rebuilt(2)
    ringing = await done(dial)
    assert [action for action, _ in pbx.ami.wire] == ["AGI"]

    # The link drops between the check and the send: the AGI action is refused unsent.
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise AmiNotConnected("cannot send AGI: no AMI session is logged in")

    pbx.agi.execute = refused  # type: ignore[method-assign]
    second = await pbx.leg.dial(LINE, 15)
    assert await done(pbx.start(second.outcome())) is DialOutcome.NOT_DIALLED
    del ringing
