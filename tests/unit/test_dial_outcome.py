"""How a click-to-dial attempt ended: the pure rule (callcenter/acd/dial_outcome.py) from the
fields of Asterisk's events, and the PBX side (callcenter/pbx/click_to_dial.py) reading those
fields from AMI events handed to it all in one read, as Asterisk sends them."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from callcenter.acd.dial_outcome import DialOutcome, dial_outcome, parse_cause
from callcenter.asterisk.protocol import AmiParser, Message
from callcenter.pbx import click_to_dial
from callcenter.pbx.click_to_dial import DIALLED_HANGUP, WAITED_FOR, follow_outbound

Out = DialOutcome


@pytest.mark.parametrize(
    ("status", "cause", "outcome"),
    [
        ("ANSWER", 16, Out.ANSWERED),
        ("ANSWER", None, Out.ANSWERED),
        ("BUSY", 17, Out.BUSY),
        ("CANCEL", 16, Out.CANCELLED),  # the agent hung up while the client's phone rang
        ("CANCEL", None, Out.CANCELLED),
        ("CONGESTION", 34, Out.FAILED),
        ("CONGESTION", None, Out.FAILED),
        ("DONTCALL", None, Out.FAILED),
        ("INVALIDARGS", None, Out.FAILED),
        # A SIP 404: DialEnd says NOANSWER (ast_hangup_cause_to_dial_status knows no word for
        # cause 1); the dialled channel's cause says unallocated number.
        ("NOANSWER", 1, Out.WRONG_NUMBER),
        ("NOANSWER", 22, Out.WRONG_NUMBER),  # SIP 410 Gone: number changed
        ("NOANSWER", 28, Out.WRONG_NUMBER),  # SIP 484 Address incomplete
        # The dialplan's DIALSTATUS of the same 404 (app_dial's handle_cause): CHANUNAVAIL.
        ("CHANUNAVAIL", 1, Out.WRONG_NUMBER),
        ("CHANUNAVAIL", 3, Out.FAILED),  # no route to destination
        ("CHANUNAVAIL", None, Out.FAILED),
        # Dial's ring time ran out: the client's leg is hung up normally, or with no cause.
        ("NOANSWER", 16, Out.NO_ANSWER),
        ("NOANSWER", 0, Out.NO_ANSWER),
        ("NOANSWER", None, Out.NO_ANSWER),
        ("NOANSWER", 19, Out.NO_ANSWER),  # SIP 480 from the carrier
        ("NOANSWER", 18, Out.NO_ANSWER),  # SIP 408
        ("NOANSWER", 17, Out.BUSY),  # a 486 reported through the cause
        ("NOANSWER", 21, Out.FAILED),  # SIP 603 Decline: call rejected
        ("NOANSWER", 34, Out.FAILED),  # no circuit available
        ("noanswer ", 1, Out.WRONG_NUMBER),  # spelled loosely
        ("SOMETHINGNEW", None, Out.FAILED),
    ],
)
def test_the_outcome_is_read_from_the_dial_status_and_the_dialled_channels_cause(
    status: str, cause: int | None, outcome: DialOutcome
) -> None:
    assert dial_outcome(originate_answered=True, dial_status=status, dialled_cause=cause) is (
        outcome
    )


@pytest.mark.parametrize("status", [None, "ANSWER", "BUSY", "NOANSWER"])
def test_an_originate_the_agent_never_answered_is_the_agents_no_answer(status: str | None) -> None:
    assert (
        dial_outcome(originate_answered=False, dial_status=status, dialled_cause=None)
        is Out.AGENT_NO_ANSWER
    )


def test_an_answered_originate_whose_dial_never_ended_failed() -> None:
    assert dial_outcome(originate_answered=True, dial_status=None, dialled_cause=1) is Out.FAILED


def test_the_vocabulary_is_closed_and_travels_as_its_words() -> None:
    assert [o.value for o in DialOutcome] == [
        "agent_no_answer",
        "answered",
        "no_answer",
        "busy",
        "wrong_number",
        "failed",
        "cancelled",
    ]


@pytest.mark.parametrize(
    ("value", "cause"), [("1", 1), ("16", 16), (" 17 ", 17), ("", None), (None, None), ("x", None)]
)
def test_a_cause_header_is_a_decimal_code_or_unknown(value: str | None, cause: int | None) -> None:
    assert parse_cause(value) == cause


# --- the PBX side: events as Asterisk 22 sends them (field names from the AMI docs) ------------

CALL_ID = "out-0123456789abcdef0123"
AGENT = f"Uniqueid: {CALL_ID}\r\nLinkedid: {CALL_ID}\r\nChannel: PJSIP/1001-00000011"
DIALLED = f"Uniqueid: 1765100000.42\r\nLinkedid: {CALL_ID}\r\nChannel: PJSIP/carrier-00000012"


def event(name: str, *lines: str) -> str:
    return f"Event: {name}\r\n" + "\r\n".join(lines) + "\r\n\r\n"


ORIGINATED = event("OriginateResponse", "Response: Success", "Reason: 4", f"Uniqueid: {CALL_ID}")
DIAL_BEGIN = event("DialBegin", AGENT, "DestUniqueid: 1765100000.42")


def dial_end(status: str) -> str:
    return event("DialEnd", AGENT, "DestUniqueid: 1765100000.42", f"DialStatus: {status}")


def hangup(channel: str, cause: int) -> str:
    return event("Hangup", channel, f"Cause: {cause}", "Cause-txt: whatever")


class Waits:
    """The futures click_to_dial.originate registers, resolved the way AmiClient resolves
    them: every event of one read is dispatched before any waiting task runs."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.futures: dict[str, asyncio.Future[Message]] = {
            name: loop.create_future() for name in (*WAITED_FOR, DIALLED_HANGUP)
        }
        self.keys = {name: (name, "Uniqueid") for name in WAITED_FOR}
        self.keys[DIALLED_HANGUP] = ("Hangup", "Linkedid")

    def read(self, *events: str) -> None:
        parser = AmiParser(expect_banner=False)
        for message in parser.feed("".join(events).encode()):
            for name, (event_name, header) in self.keys.items():
                future = self.futures[name]
                if (
                    message.name == event_name
                    and message.get(header) == CALL_ID
                    and not future.done()
                    # originate's condition: the dialled channel's, not the agent's own
                    and (name != DIALLED_HANGUP or message.get("Uniqueid") != CALL_ID)
                ):
                    future.set_result(message)


async def follow(*reads: tuple[str, ...]) -> tuple[DialOutcome, list[str], bool]:
    """Run follow_outbound over ``reads`` (each one read from the socket): its outcome, the
    phases it recorded, and whether it knew when the client answered."""
    waits = Waits()
    phases: list[str] = []
    clock = iter(dt.datetime(2026, 3, 2, 9, 40, s, tzinfo=dt.UTC) for s in range(60))

    async def phase(interaction_id: int, name: str, at: dt.datetime) -> None:
        assert interaction_id == 5320
        phases.append(name)

    task = asyncio.create_task(
        follow_outbound(5320, CALL_ID, waits.futures, phase, lambda: next(clock))
    )
    for read in reads:
        waits.read(*read)
        await asyncio.sleep(0)
    end = await asyncio.wait_for(task, 1)
    assert end.ended_at is not None
    return end.outcome, phases, end.answered_at is not None


async def test_a_404_read_together_with_its_hangups_is_a_wrong_number() -> None:
    # The 404 ends the dialled channel a millisecond after DialBegin: DialEnd, its Hangup and
    # the agent's arrive in one read, before the follower runs once.
    outcome, phases, answered = await follow(
        (ORIGINATED, DIAL_BEGIN, dial_end("NOANSWER"), hangup(DIALLED, 1), hangup(AGENT, 1))
    )
    assert (outcome, phases, answered) == (Out.WRONG_NUMBER, ["ended"], False)


async def test_a_ring_out_is_no_answer() -> None:
    outcome, _, _ = await follow(
        (ORIGINATED, DIAL_BEGIN),
        (dial_end("NOANSWER"),),
        (hangup(DIALLED, 16),),
        (hangup(AGENT, 16),),
    )
    assert outcome is Out.NO_ANSWER


async def test_a_busy_client_is_busy() -> None:
    outcome, _, _ = await follow(
        (ORIGINATED, DIAL_BEGIN, dial_end("BUSY"), hangup(DIALLED, 17), hangup(AGENT, 17))
    )
    assert outcome is Out.BUSY


async def test_an_answered_call_records_its_answer_then_its_end() -> None:
    outcome, phases, answered = await follow(
        (ORIGINATED, DIAL_BEGIN),
        (dial_end("ANSWER"),),
        (hangup(DIALLED, 16), hangup(AGENT, 16)),
    )
    assert (outcome, phases, answered) == (Out.ANSWERED, ["answered", "ended"], True)


async def test_the_agent_hanging_up_while_the_client_rings_is_cancelled() -> None:
    outcome, _, _ = await follow(
        (ORIGINATED, DIAL_BEGIN),
        (dial_end("CANCEL"), hangup(DIALLED, 16), hangup(AGENT, 16)),
    )
    assert outcome is Out.CANCELLED


async def test_an_agent_phone_that_never_answered_is_the_agents_no_answer() -> None:
    failed = event("OriginateResponse", "Response: Failure", "Reason: 1", f"Uniqueid: {CALL_ID}")
    outcome, phases, _ = await follow((hangup(AGENT, 19), failed))
    assert (outcome, phases) == (Out.AGENT_NO_ANSWER, ["ended"])


async def test_when_the_agents_channel_hangs_up_first_the_dialled_cause_still_counts() -> None:
    # Under load Asterisk may report the agent's Hangup before the dialled channel's: the
    # agent's cause is not the client's, and the client's, read after it, says wrong number.
    outcome, _, _ = await follow(
        (ORIGINATED, DIAL_BEGIN, dial_end("NOANSWER"), hangup(AGENT, 16)),
        (hangup(DIALLED, 1),),
    )
    assert outcome is Out.WRONG_NUMBER


async def test_a_refusal_whose_hangup_trails_the_agents_is_a_failed_call() -> None:
    # The fresh-clone failure: a 603 (cause 21) whose Hangup came after the agent's.
    outcome, _, _ = await follow(
        (ORIGINATED, DIAL_BEGIN, dial_end("NOANSWER"), hangup(AGENT, 21), hangup(DIALLED, 21))
    )
    assert outcome is Out.FAILED


async def test_a_dialled_hangup_that_never_comes_leaves_the_cause_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(click_to_dial, "DIALLED_HANGUP_GRACE_SECONDS", 0.05)
    outcome, phases, _ = await follow(
        (ORIGINATED, DIAL_BEGIN, dial_end("NOANSWER"), hangup(AGENT, 1))
    )
    assert (outcome, phases) == (Out.NO_ANSWER, ["ended"])
