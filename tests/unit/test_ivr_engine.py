"""The sans-IO engine, driven through the hotline flow with scripted answers."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from callcenter.crm.vocabulary import Tier
from callcenter.ivr.commands import (
    AccountDataRefused,
    Authenticate,
    AuthenticateKnown,
    AuthFailed,
    AuthOk,
    CallerFound,
    CallerHungUp,
    CallerNotFound,
    ClientFacts,
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
    Timeout,
    Transfer,
)
from callcenter.ivr.engine import MASK, CallContext, Outcome, run_flow
from callcenter.ivr.flow import Flow
from callcenter.ivr.loader import load_flows

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ClientFacts(client_id=1, tier=Tier.GOLD)
CALLER = "+8613800138000"


@pytest.fixture(scope="module")
def hotline() -> Flow:
    return load_flows(ROOT / "ivr_flows" / "hotline.yaml").flows["hotline"]


class ScriptedCall:
    """Answers each command with the next scripted result, checking the command's type."""

    def __init__(self, script: list[tuple[type[Command], Result]]) -> None:
        self.script = list(script)
        self.commands: list[Command] = []

    def run(self, run: Generator[Command, Result, Outcome]) -> Outcome:
        command = next(run)
        while True:
            self.commands.append(command)
            assert self.script, f"unscripted command {command!r}"
            expected, result = self.script.pop(0)
            assert isinstance(command, expected), f"expected {expected.__name__}, got {command!r}"
            try:
                command = run.send(result)
            except StopIteration as stop:
                assert self.script == [], f"script left over: {self.script}"
                return stop.value  # type: ignore[no-any-return]


def _choose_mandarin() -> list[tuple[type[Command], Result]]:
    return [(CollectDigits, Digits("1"))]


def _visited(outcome: Outcome) -> list[str]:
    return [step.node for step in outcome.path]


# Issue 15: caller ID identifies, it no longer opens the account. The identified caller who
# chooses 1 now types the PIN (only the PIN: the account is the identified client's) first.
def test_an_identified_caller_choosing_1_types_only_the_pin_then_is_self_served(
    hotline: Flow,
) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),  # main menu, interrupted by key 1
            (CollectDigits, Digits("246813")),  # the PIN, no account number
            (AuthenticateKnown, AuthOk(CLIENT)),
            (SelfService, Done()),
            (SelfService, Done()),
            (CollectDigits, CallerHungUp()),  # after self-service menu
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.SELF_SERVED
    assert outcome.client_id == 1
    assert outcome.authenticated
    check = next(c for c in call.commands if isinstance(c, AuthenticateKnown))
    assert (check.client_id, check.pin) == (1, "246813")
    assert repr(check) == "AuthenticateKnown(client_id=1)"
    assert [c.what for c in call.commands if isinstance(c, SelfService)] == [
        "balance",
        "positions",
    ]
    assert [s.entry() for s in outcome.path][:9] == [
        "choose_language=1",
        "set_zh",
        "identify=found",
        "after_hours_check=condition 0",
        "main_menu=1",
        "account_gate=condition 1",
        f"ask_known_pin={MASK}",
        "check_known_pin=ok",
        "balance=balance",
    ]


def test_an_identified_caller_who_gives_no_pin_never_gets_account_data(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),
            (CollectDigits, Timeout()),
            (CollectDigits, Timeout()),
            (CollectDigits, Timeout()),  # retries spent: an agent
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert not any(
        isinstance(c, SelfService | Authenticate | AuthenticateKnown) for c in call.commands
    )
    assert not outcome.authenticated
    assert outcome.client_id == 1  # still identified: the agent's pop shows who it is
    assert outcome.kind is OutcomeKind.QUEUED
    assert _visited(outcome)[-3:] == ["account_gate", "ask_known_pin", "to_agent"]


def test_three_wrong_pins_of_an_identified_caller_lock_and_say_nothing(hotline: Flow) -> None:
    wrong: list[tuple[type[Command], Result]] = [
        (CollectDigits, Digits("000000")),
        (AuthenticateKnown, AuthFailed()),
    ]
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),
            *wrong,
            (Play, Done()),  # the PIN is not correct
            *wrong,
            (Play, Done()),
            *wrong,
            (Play, Done()),  # locked
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert not any(isinstance(c, SelfService) for c in call.commands)
    checks = [s.inputs for s in outcome.path if s.node == "check_known_pin"]
    assert checks == [("failed",), ("failed",), ("failed, locked",)]
    assert _visited(outcome)[-2:] == ["locked", "to_agent"]
    assert all("000000" not in step.entry() for step in outcome.path)


def test_a_caller_who_typed_account_and_pin_goes_straight_to_the_balance(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerNotFound()),
            (CollectDigits, Digits("12345678")),
            (CollectDigits, Digits("123456")),
            (Authenticate, AuthOk(CLIENT)),
            (CollectDigits, Digits("1")),
            (SelfService, CallerHungUp()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert [s.entry() for s in outcome.path][-3:] == [
        "main_menu=1",
        "account_gate=condition 0",
        "balance=balance",
    ]


def test_an_unknown_caller_authenticates_with_account_and_pin(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerNotFound()),
            (CollectDigits, Digits("12345678")),
            (CollectDigits, Digits("123456")),  # typed over the prompt: one command
            (Authenticate, AuthOk(CLIENT)),
            (CollectDigits, Digits("0")),
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    auth = next(c for c in call.commands if isinstance(c, Authenticate))
    assert (auth.account, auth.pin) == ("12345678", "123456")
    assert repr(auth) == "Authenticate(account='12345678')"
    assert outcome.kind is OutcomeKind.QUEUED
    assert outcome.queue == "general"
    assert outcome.authenticated
    enqueue = call.commands[-1]
    assert isinstance(enqueue, Enqueue)
    assert enqueue.client_id == 1


def _failed_pin_attempt() -> list[tuple[type[Command], Result]]:
    return [
        (CollectDigits, Digits("12345678")),
        (CollectDigits, Digits("000000")),
        (Authenticate, AuthFailed()),
    ]


def test_three_wrong_pins_lock_out_and_pins_are_masked(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerNotFound()),
            *_failed_pin_attempt(),
            (Play, Done()),  # wrong PIN
            *_failed_pin_attempt(),
            (Play, Done()),
            *_failed_pin_attempt(),
            (Play, Done()),  # locked
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.QUEUED
    assert not outcome.authenticated
    assert _visited(outcome)[-2:] == ["locked", "to_agent"]
    pin_inputs = [step.inputs for step in outcome.path if step.node == "ask_pin"]
    assert pin_inputs == [(MASK,)] * 3
    checks = [step.inputs for step in outcome.path if step.node == "check_pin"]
    assert checks == [("failed",), ("failed",), ("failed, locked",)]
    assert all("000000" not in str(step) for step in outcome.path)


def test_invalid_keys_and_silence_take_their_paths_then_exhaust(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("9")),  # invalid: the invalid-choice prompt, back
            (Play, Done()),
            (CollectDigits, Timeout()),  # silence: no on_timeout, the menu replays
            (CollectDigits, Digits("7")),  # third failure: retries (2) spent
            (Enqueue, Done()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.QUEUED
    menu_steps = [
        (s.node, s.inputs) for s in outcome.path if "menu" in s.node or "invalid" in s.node
    ]
    assert menu_steps == [
        ("main_menu", ("9",)),
        ("invalid_choice", ()),
        ("main_menu", ("timeout", "7")),
    ]
    assert _visited(outcome)[-1] == "to_agent"


def test_silence_at_the_language_menu_means_mandarin(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            (CollectDigits, Timeout()),
            (LookupCaller, CallerHungUp()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER, language="en")))
    assert outcome.language == "zh"


def test_hanging_up_mid_menu_is_abandoned_with_the_path_so_far(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            (CollectDigits, Digits("2")),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, CallerHungUp()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert outcome.hung_up_by == "caller"
    assert outcome.language == "en"
    assert _visited(outcome) == [
        "choose_language",
        "set_en",
        "identify",
        "after_hours_check",
        "main_menu",
    ]
    english = call.commands[-1]
    assert isinstance(english, CollectDigits)
    [(text, language)] = english.texts
    assert language == "en"
    assert text.startswith("For balance")


def test_after_hours_a_caller_books_a_callback_on_their_own_number(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),  # after-hours menu: callback
            (CollectDigits, Digits("1")),  # key 1, then silence: this number
            (RequestCallback, Done()),
            (Play, Done()),
            (Play, Done()),
            (Hangup, Done()),
        ]
    )
    context = CallContext(caller_number=CALLER, business_hours=False)
    outcome = call.run(run_flow(hotline, context))
    assert outcome.kind is OutcomeKind.CALLBACK
    assert outcome.hung_up_by == "ivr"
    request = next(c for c in call.commands if isinstance(c, RequestCallback))
    assert request.number == CALLER


def test_after_hours_hanging_up_ends_a_message_which_counts(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerNotFound()),
            (CollectDigits, Digits("12345678")),
            (CollectDigits, Digits("123456")),
            (Authenticate, AuthOk(CLIENT)),
            (CollectDigits, Digits("2")),
            (Play, Done()),
            (RecordMessage, CallerHungUp()),
        ]
    )
    context = CallContext(caller_number=CALLER, holiday=True)
    outcome = call.run(run_flow(hotline, context))
    assert outcome.kind is OutcomeKind.MESSAGE
    assert outcome.hung_up_by == "caller"


def test_a_withheld_number_goes_straight_to_the_account_prompt(hotline: Flow) -> None:
    call = ScriptedCall([*_choose_mandarin(), (CollectDigits, CallerHungUp())])
    outcome = call.run(run_flow(hotline, CallContext(caller_number=None)))
    assert [(s.node, s.inputs) for s in outcome.path][2:] == [
        ("identify", ("no_number",)),
        ("ask_account", ()),
    ]


def _flow(nodes: str) -> Flow:
    import yaml

    return Flow.model_validate(yaml.safe_load(f"id: t\nlanguages: [en]\nstart: a\nnodes:\n{nodes}"))


def test_a_branch_on_tier_sends_vip_clients_to_their_queue() -> None:
    flow = _flow(
        "  a: {type: identify_caller, next_found: b, next_not_found: general}\n"
        "  b: {type: branch, conditions: [{when: {tier_in: [vip, gold]}, next: vip}],"
        " otherwise: general}\n"
        "  vip: {type: enqueue, queue: vip}\n"
        "  general: {type: enqueue, queue: general}\n"
    )
    call = ScriptedCall([(LookupCaller, CallerFound(CLIENT)), (Enqueue, Done())])
    assert call.run(run_flow(flow, CallContext(caller_number=CALLER))).queue == "vip"


def test_a_subflow_returns_to_the_calling_flow() -> None:
    main = _flow("  a: {type: subflow, flow: s, next: b}\n  b: {type: transfer, to: '8001'}\n")
    sub = Flow.model_validate(
        {
            "id": "s",
            "languages": ["en"],
            "start": "x",
            "nodes": {"x": {"type": "play", "sound": "beep", "next": "y"}, "y": {"type": "return"}},
        }
    )
    call = ScriptedCall([(Play, Done()), (Transfer, Done())])
    outcome = call.run(run_flow(main, CallContext(caller_number=None), flows={"s": sub}))
    assert outcome.kind is OutcomeKind.TRANSFERRED
    assert outcome.transferred_to == "8001"
    assert _visited(outcome) == ["a", "a/x", "a/y", "b"]


def test_a_caller_who_hangs_up_during_the_balance_was_self_served(hotline: Flow) -> None:
    call = ScriptedCall(
        [
            *_choose_mandarin(),
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("1")),
            (CollectDigits, Digits("246813")),
            (AuthenticateKnown, AuthOk(CLIENT)),
            (SelfService, CallerHungUp()),
        ]
    )
    outcome = call.run(run_flow(hotline, CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.SELF_SERVED
    assert outcome.hung_up_by == "caller"
    assert outcome.path[-1].node == "balance"


# --- account data needs authentication in the call (issue 15), even in a flow that got past
# the checker: these flows are built without it.

_SKIPS_THE_PIN = (
    "  a: {type: identify_caller, next_found: balance, next_not_found: bye}\n"
    "  balance: {type: self_service, what: balance, next: bye%s}\n"
    "  pin: {type: play, sound: beep, next: bye}\n"
    "  bye: {type: hangup}\n"
)


def test_an_identified_caller_reaching_self_service_unauthenticated_hears_no_figures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flow = _flow(_SKIPS_THE_PIN % ", on_unauthenticated: pin")
    call = ScriptedCall([(LookupCaller, CallerFound(CLIENT)), (Play, Done()), (Hangup, Done())])
    context = CallContext(caller_number=CALLER, call_id="1700000000.7")
    outcome = call.run(run_flow(flow, context))
    assert not any(isinstance(c, SelfService) for c in call.commands)
    assert [s.entry() for s in outcome.path] == [
        "a=found",
        "balance=not_authenticated",
        "pin",
        "bye",
    ]
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR  # nothing was self-served
    assert "call 1700000000.7: balance (balance) refused: not_authenticated" in caplog.text


def test_without_on_unauthenticated_a_refused_caller_goes_to_an_agent() -> None:
    flow = _flow(_SKIPS_THE_PIN % "")
    call = ScriptedCall([(LookupCaller, CallerFound(CLIENT)), (Enqueue, Done())])
    outcome = call.run(run_flow(flow, CallContext(caller_number=CALLER)))
    assert not any(isinstance(c, SelfService) for c in call.commands)
    assert (outcome.kind, outcome.queue, outcome.client_id) == (OutcomeKind.QUEUED, "general", 1)
    enqueue = call.commands[-1]
    assert isinstance(enqueue, Enqueue)
    assert enqueue.client_id == 1


_PIN_ONLY = (
    "  a: {type: identify_caller, next_found: pin, next_not_found: pin}\n"
    "  pin: {type: collect, prompt: {sound: beep}, store: pin, next: check, on_exhausted: bye}\n"
    "  check: {type: authenticate, pin: pin, next_ok: balance, next_failed: bye,"
    " next_locked: bye}\n"
    "  balance: {type: self_service, what: balance, next: bye, on_unauthenticated: bye}\n"
    "  bye: {type: hangup}\n"
)


def test_a_pin_alone_from_an_unidentified_caller_names_no_account_and_fails() -> None:
    call = ScriptedCall([(CollectDigits, Digits("246813")), (Hangup, Done())])
    outcome = call.run(run_flow(_flow(_PIN_ONLY), CallContext(caller_number=None)))
    assert [s.entry() for s in outcome.path] == [
        "a=no_number",
        f"pin={MASK}",
        "check=not_identified,failed",
        "bye",
    ]
    assert not outcome.authenticated


def test_a_self_service_the_runner_refuses_is_not_counted_as_served() -> None:
    call = ScriptedCall(
        [
            (LookupCaller, CallerFound(CLIENT)),
            (CollectDigits, Digits("246813")),
            (AuthenticateKnown, AuthOk(CLIENT)),
            (SelfService, AccountDataRefused()),  # the runner's own check said no
            (Hangup, Done()),
        ]
    )
    outcome = call.run(run_flow(_flow(_PIN_ONLY), CallContext(caller_number=CALLER)))
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert [s.entry() for s in outcome.path][-2:] == ["balance=refused", "bye"]
