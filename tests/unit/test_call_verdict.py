"""scripts/call.py's verdict: where a call ended and whether that is what its keys asked for,
read from the record's path against the real hotline flow (ivr_flows/hotline.yaml)."""

from __future__ import annotations

import pytest

from callcenter.ivr.call_verdict import CallRecord, groups_pressed, judge
from callcenter.ivr.flow import Flow
from callcenter.ivr.registry import FlowRegistry
from callcenter.persistence.call_lookup import channel_created_at
from callcenter.settings import PROJECT_ROOT

# The README's calls, as the IVR records them in opening hours.
BALANCE = (
    "choose_language=1",
    "set_zh",
    "identify=found",
    "after_hours_check=condition 0",
    "main_menu=1",
    "account_gate=condition 1",
    "ask_known_pin=****",
    "check_known_pin=ok",
    "balance=balance",
    "positions=positions",
    "after_self_service=timeout",
)
TO_AN_AGENT = (
    "choose_language=1",
    "set_zh",
    "identify=not_found",
    "ask_account=310100000001",
    "ask_pin=****",
    "check_pin=ok",
    "after_hours_check=condition 0",
    "main_menu=0",
    "to_agent",
)


@pytest.fixture(scope="module")
def hotline() -> Flow:
    return FlowRegistry(PROJECT_ROOT / "ivr_flows", "hotline").current.flows["hotline"]


def record(path: tuple[str, ...], outcome: str, **facts: object) -> CallRecord:
    fields: dict[str, object] = {
        "interaction_id": 7,
        "path": path,
        "outcome": outcome,
        "queue": None,
        "agent": None,
        "answered": False,
        "waited_seconds": None,
    }
    return CallRecord(**{**fields, **facts})  # type: ignore[arg-type]


def test_self_service_with_every_key_taken_reached_what_was_asked(hotline: Flow) -> None:
    verdict = judge(record(BALANCE, "self_served"), hotline, key_groups_sent=3)
    assert verdict.reached
    assert verdict.ended_at == "after_self_service (self_served)"
    assert verdict.summary == "reached: after_self_service (self_served)"


def test_a_queued_call_an_agent_answered_names_the_queue_and_the_agent(hotline: Flow) -> None:
    answered = record(
        TO_AN_AGENT, "queued", queue="general", agent="agent01", answered=True, waited_seconds=2.4
    )
    verdict = judge(answered, hotline, key_groups_sent=4)
    assert verdict.reached
    assert verdict.summary == "reached: queue general, agent agent01 (answered after 2 s)"


def test_a_queued_call_nobody_answered_did_not_reach_an_agent(hotline: Flow) -> None:
    left = record(TO_AN_AGENT, "queued", queue="general", waited_seconds=25.0)
    verdict = judge(left, hotline, key_groups_sent=4)
    assert not verdict.reached
    assert verdict.problem == "no agent answered in queue general; the caller left after 25 s"
    assert verdict.summary.startswith("NOT REACHED: no agent answered")


def test_a_call_offered_to_an_agent_who_did_not_answer_names_them(hotline: Flow) -> None:
    rang = record(TO_AN_AGENT, "queued", queue="general", agent="agent01", waited_seconds=9.0)
    verdict = judge(rang, hotline, key_groups_sent=4)
    assert not verdict.reached
    assert verdict.problem == "offered to agent01, who did not answer; the caller left after 9 s"


def test_after_hours_is_said_whatever_the_keys_did_there(hotline: Flow) -> None:
    # At night "1 1 246813#": the after-hours menu takes the second 1 as a call back, and the
    # PIN as the number to call back on. Every key was taken; the call still went elsewhere.
    night = (
        "choose_language=1",
        "set_zh",
        "identify=found",
        "after_hours_check=otherwise",
        "after_hours_menu=1",
        "callback=confirmed",
        "callback_booked",
        "goodbye",
        "hang_up",
    )
    verdict = judge(record(night, "callback"), hotline, key_groups_sent=3)
    assert not verdict.reached
    assert verdict.problem == (
        "after hours: the hotline was closed (after_hours_check: otherwise), so the call went "
        "to after_hours_menu"
    )
    assert verdict.ended_at == "hang_up (callback)"
    assert verdict.summary.startswith("NOT REACHED: after hours")
    # Closed, even for a caller who hung up right there.
    assert not judge(record(night[:4], "abandoned_in_ivr"), hotline, 1).reached


def test_a_node_that_asked_again_counts_each_answer(hotline: Flow) -> None:
    # The menu asked twice in one visit: a 9 (no choice), then a 1.
    again = (*BALANCE[:4], "main_menu=9,1", "account_gate=condition 1", "ask_known_pin")
    verdict = judge(record(again, "abandoned_in_ivr"), hotline, key_groups_sent=3)
    assert verdict.problem == "key 9 is no choice at main_menu"
    # Silence is no answer: a menu that timed out once, then took its key, took one group.
    slow = (*BALANCE[:4], "main_menu=timeout,1", *BALANCE[5:])
    assert judge(record(slow, "self_served"), hotline, key_groups_sent=3).reached


def test_keys_the_ivr_did_not_take_are_counted(hotline: Flow) -> None:
    # Hung up at the PIN prompt after the caller had sent a PIN too: it was not taken.
    early = (*BALANCE[:6], "ask_known_pin")
    verdict = judge(record(early, "abandoned_in_ivr"), hotline, key_groups_sent=3)
    assert not verdict.reached
    assert verdict.problem == "the IVR took 2 of the 3 groups of keys sent"
    assert verdict.ended_at == "ask_known_pin (abandoned_in_ivr)"


def test_a_key_that_is_no_choice_or_a_pin_refused_is_named(hotline: Flow) -> None:
    wrong_key = (*BALANCE[:4], "main_menu=9", "invalid_choice", "main_menu=timeout")
    verdict = judge(record(wrong_key, "abandoned_in_ivr"), hotline, key_groups_sent=2)
    assert (verdict.reached, verdict.problem) == (False, "key 9 is no choice at main_menu")
    wrong_pin = (*TO_AN_AGENT[:5], "check_pin=failed", "wrong_pin", "ask_account=timeout")
    verdict = judge(record(wrong_pin, "abandoned_in_ivr"), hotline, key_groups_sent=3)
    assert (verdict.reached, verdict.problem) == (False, "check_pin: failed")
    # "1 1" from an unknown number: the second 1 went to the account number prompt.
    short = (*TO_AN_AGENT[:3], "ask_account=1", "ask_account=timeout")
    verdict = judge(record(short, "abandoned_in_ivr"), hotline, key_groups_sent=2)
    assert (verdict.reached, verdict.problem) == (False, "ask_account took 1 keys, not 6-12")


def test_a_caller_who_stops_typing_ended_where_the_keys_led(hotline: Flow) -> None:
    # Only "1 1": the keys led to the PIN prompt, where the caller hung up; that is no fault.
    verdict = judge(record((*BALANCE[:6], "ask_known_pin"), "abandoned_in_ivr"), hotline, 2)
    assert verdict.reached
    assert verdict.ended_at == "ask_known_pin (abandoned_in_ivr)"


@pytest.mark.parametrize(
    ("groups", "keys_sent", "whole"),
    [
        (["1", "1", "246813#"], 9, 3),
        (["1", "1", "246813#"], 8, 2),  # the call ended in the middle of the PIN
        (["1", "310100000001#", "246813#", "0"], 1, 1),
        ([], 0, 0),
    ],
)
def test_only_groups_pressed_whole_count(groups: list[str], keys_sent: int, whole: int) -> None:
    assert groups_pressed(groups, keys_sent) == whole


@pytest.mark.parametrize(
    ("uniqueid", "epoch"),
    [
        ("default-1765091234.17", 1765091234),  # asterisk.conf systemname = the instance
        ("pytest-instance-1765091234.3", 1765091234),
        ("1765091234.0", 1765091234),
        ("not-a-uniqueid", None),
    ],
)
def test_the_channel_creation_second_is_read_from_the_asterisk_uniqueid(
    uniqueid: str, epoch: int | None
) -> None:
    assert channel_created_at(uniqueid) == epoch
