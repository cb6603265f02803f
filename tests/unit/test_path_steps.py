"""The pop's IVR path in steps the desk tells in words: the hotline driven through the real
engine, and the ACD's own steps; nothing reaches the desk as a node id."""

from __future__ import annotations

from pathlib import Path

from callcenter.acd.path_steps import PathStep, path_steps
from callcenter.crm.vocabulary import Tier
from callcenter.ivr.commands import (
    Authenticate,
    AuthenticateKnown,
    AuthFailed,
    AuthOk,
    CallerFound,
    CallerNotFound,
    ClientFacts,
    CollectDigits,
    Digits,
    Done,
    Enqueue,
    LookupCaller,
    Play,
    SelfService,
    Timeout,
)
from callcenter.ivr.engine import CallContext, Step, run_flow
from callcenter.ivr.loader import load_flows
from tests.unit.test_ivr_engine import ScriptedCall

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = load_flows(ROOT / "ivr_flows" / "hotline.yaml").flows["hotline"]
CLIENT = ClientFacts(client_id=1, tier=Tier.GOLD)


def test_the_readme_call_to_an_agent_reads_as_what_the_caller_did() -> None:
    # English (2), unknown number: account #, a wrong PIN, again, then the agent (0).
    call = ScriptedCall(
        [
            (CollectDigits, Digits("2")),
            (LookupCaller, CallerNotFound()),
            (CollectDigits, Digits("310100000001")),
            (CollectDigits, Digits("111111")),
            (Authenticate, AuthFailed()),
            (Play, Done()),  # "not correct, try again"
            (CollectDigits, Digits("310100000001")),
            (CollectDigits, Digits("246813")),
            (Authenticate, AuthOk(CLIENT)),
            (CollectDigits, Digits("0")),
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(HOTLINE, CallContext(caller_number="+12025550100")))
    assert path_steps(outcome.path) == (
        PathStep(kind="language", value="en"),
        PathStep(kind="identified", result="not_found"),
        PathStep(kind="entered_number"),
        PathStep(kind="entered_pin"),
        PathStep(kind="pin_checked", result="failed"),
        PathStep(kind="entered_number"),
        PathStep(kind="entered_pin"),
        PathStep(kind="pin_checked", result="ok"),
        PathStep(kind="queue", value="general"),
    )


def test_a_known_caller_who_heard_the_balance_then_asked_for_an_agent() -> None:
    call = ScriptedCall(
        [
            (CollectDigits, Timeout()),  # no key: Mandarin, the default
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),
            (CollectDigits, Digits("246813")),
            (AuthenticateKnown, AuthOk(CLIENT)),
            (SelfService, Done()),
            (SelfService, Done()),
            (CollectDigits, Digits("0")),
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(HOTLINE, CallContext(caller_number="+8613800138000")))
    assert path_steps(outcome.path) == (
        PathStep(kind="menu", result="timeout"),
        PathStep(kind="language", value="zh"),
        PathStep(kind="identified", result="found"),
        PathStep(kind="menu", value="1"),  # led to the PIN: the key is all there is to say
        PathStep(kind="entered_pin"),
        PathStep(kind="pin_checked", result="ok"),
        PathStep(kind="self_service", value="balance"),
        PathStep(kind="self_service", value="positions"),
        PathStep(kind="queue", value="general"),
    )


def test_the_acds_steps_and_unknown_ones_never_show_a_node_id() -> None:
    steps = (
        Step("overflow:general", ("backup",)),
        Step("moved:backup", ("complaints",)),
        Step("main_menu", ("1",)),  # an old record's step: its kind unknown
        Step("fallback:apology"),
        Step("teleport", ("x",), kind="teleport"),
        Step("hello", kind="play"),
    )
    told = path_steps(steps)
    assert told == (
        PathStep(kind="overflow", value="backup"),
        PathStep(kind="moved", value="complaints"),
        PathStep(kind="other"),
        PathStep(kind="other"),
        PathStep(kind="other"),
    )
    assert not any("main_menu" in str(s) or "teleport" in str(s) for s in told)
