"""Account data needs authentication in the call (issue 15): the checker's walk over
(node, authenticated?) states, as ``flows check`` and the service's loading run it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from callcenter.cli import main
from callcenter.ivr.conditions import holds_given_authentication
from callcenter.ivr.flow import Condition
from callcenter.ivr.loader import FlowsInvalid, check_path, load_flows
from callcenter.ivr.registry import FlowRegistry

ROOT = Path(__file__).resolve().parents[2]
SKIPS_THE_PIN = ROOT / "tests" / "fixtures" / "ivr" / "broken" / "skips_the_pin.yaml"
HOTLINE = ROOT / "ivr_flows" / "hotline.yaml"

# A PIN prompt and its check, for the flows below: ``check`` succeeds to ``menu``.
PIN = (
    "  ask_pin: {type: collect, prompt: {sound: beep}, store: pin, secret: true,"
    " next: check, on_exhausted: bye}\n"
    "  check: {type: authenticate, pin: pin, next_ok: %s, next_failed: ask_pin,"
    " next_locked: bye}\n"
)
MENU = (
    "  menu: {type: menu, prompt: {sound: beep}, choices: {'1': %s, '0': bye}, on_exhausted: bye}\n"
)
TAIL = (
    "  balance: {type: self_service, what: balance, next: positions}\n"
    "  positions: {type: self_service, what: positions, next: bye}\n"
    "  bye: {type: hangup}\n"
)


def _errors(tmp_path: Path, nodes: str, *, start: str = "identify", extra: str = "") -> list[str]:
    file = tmp_path / "t.yaml"
    file.write_text(f"id: t\nlanguages: [en]\nstart: {start}\n{extra}nodes:\n{nodes}", "utf-8")
    _, errors = check_path(file)
    return [str(error) for error in errors]


def _auth_errors(tmp_path: Path, nodes: str, **kwargs: str) -> list[tuple[str, str]]:
    """(node, path) of each account-data error."""
    found = []
    for line in _errors(tmp_path, nodes, **kwargs):
        _, node, field, message = line.split(":", 3)
        assert field == "type", line
        assert "reachable without authentication: " in message, line
        path = message.split("authentication: ", 1)[1].split(";", 1)[0]
        found.append((node, path))
    return found


def test_a_flow_that_skips_the_pin_is_refused_naming_the_node_and_a_path() -> None:
    with pytest.raises(FlowsInvalid) as raised:
        load_flows(SKIPS_THE_PIN)
    assert [str(e) for e in raised.value.errors] == [
        f"{SKIPS_THE_PIN}:balance:type: account data (self_service balance) is reachable"
        " without authentication: identify -> menu -> balance; only an authenticate node's"
        " next_ok authenticates a call"
    ]


def test_a_flow_with_the_pin_on_every_path_passes(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: ask_pin, next_not_found: ask_pin}\n"
        + PIN % "menu"
        + MENU % "balance"
        + TAIL
    )
    assert _errors(tmp_path, nodes) == []


def test_a_failed_or_locked_pin_does_not_authenticate(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: ask_pin, next_not_found: bye}\n"
        "  ask_pin: {type: collect, prompt: {sound: beep}, store: pin, next: check,"
        " on_exhausted: bye}\n"
        "  check: {type: authenticate, pin: pin, next_ok: bye, next_failed: balance,"
        " next_locked: bye}\n" + TAIL
    )
    assert _auth_errors(tmp_path, nodes) == [("balance", "identify -> ask_pin -> check -> balance")]


def test_identification_alone_is_not_authentication(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: gate, next_not_found: bye}\n"
        "  gate: {type: branch, conditions: [{when: {identified: true}, next: balance}],"
        " otherwise: bye}\n" + TAIL
    )
    assert _auth_errors(tmp_path, nodes) == [("balance", "identify -> gate -> balance")]


def test_a_branch_on_authenticated_restricts_the_edges(tmp_path: Path) -> None:
    gate = (
        "  gate: {type: branch, conditions: [{when: %s, next: balance},"
        " {when: {identified: true}, next: ask_pin}], otherwise: bye}\n"
    )
    nodes = (
        "  identify: {type: identify_caller, next_found: menu, next_not_found: menu}\n"
        + MENU % "gate"
        + gate
        + PIN % "gate"
        + TAIL
    )
    # Authenticated callers straight to the data; the others to the PIN: passes.
    assert _auth_errors(tmp_path, nodes % "{authenticated: true}") == []
    assert _auth_errors(tmp_path, nodes % "{not: {authenticated: false}}") == []
    # Conditions that let an unauthenticated call through are refused.
    for condition in (
        "{authenticated: false}",
        "{any_of: [{authenticated: true}, {holiday: true}]}",
    ):
        assert _auth_errors(tmp_path, nodes % condition) == [
            ("balance", "identify -> menu -> gate -> balance")
        ], condition


def test_a_case_that_surely_holds_hides_the_cases_after_it(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: ask_pin, next_not_found: ask_pin}\n"
        + PIN % "gate"
        + "  gate: {type: branch, conditions: [{when: {authenticated: true}, next: bye},"
        " {when: {holiday: true}, next: balance}], otherwise: balance}\n" + TAIL
    )
    # After check's next_ok the first case always holds: balance is never reached there.
    # Only check's failures lead back to ask_pin, never to gate, so the flow is safe.
    assert _auth_errors(tmp_path, nodes) == []
    unsafe = nodes.replace("next_failed: ask_pin", "next_failed: gate")
    assert _auth_errors(tmp_path, unsafe) == [
        ("balance", "identify -> ask_pin -> check -> gate -> balance")
    ]


def test_an_overflow_entry_is_checked_as_an_unauthenticated_entry(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: ask_pin, next_not_found: ask_pin}\n"
        + PIN % "menu"
        + MENU % "balance"
        + "  queue_full: {type: menu, prompt: {sound: beep}, choices: {'1': balance,"
        " '2': bye}, on_exhausted: bye}\n" + TAIL
    )
    extra = "overflow_entries: [queue_full]\n"
    assert _auth_errors(tmp_path, nodes, extra=extra) == [("balance", "queue_full -> balance")]


def test_the_refusal_edge_is_walked_unauthenticated(tmp_path: Path) -> None:
    nodes = (
        "  identify: {type: identify_caller, next_found: ask_pin, next_not_found: ask_pin}\n"
        + PIN % "balance"
        + "  balance: {type: self_service, what: balance, next: bye, on_unauthenticated: trades}\n"
        "  trades: {type: self_service, what: recent_trades, next: bye}\n"
        "  bye: {type: hangup}\n"
    )
    # Only an unauthenticated call is refused at balance, so trades is reached unauthenticated.
    assert _auth_errors(tmp_path, nodes) == []  # ... but no such call reaches balance
    exposed = nodes.replace("next_failed: ask_pin", "next_failed: balance")
    assert _auth_errors(tmp_path, exposed) == [
        ("balance", "identify -> ask_pin -> check -> balance"),
        ("trades", "identify -> ask_pin -> check -> balance -> trades"),
    ]


def test_a_subflow_that_authenticates_may_return_authenticated(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        "id: main\nlanguages: [en]\nstart: sub\nnodes:\n"
        "  sub: {type: subflow, flow: pin, next: gate}\n"
        "  gate: {type: branch, conditions: [{when: {authenticated: true}, next: balance}],"
        " otherwise: bye}\n" + TAIL,
        "utf-8",
    )
    (tmp_path / "pin.yaml").write_text(
        "id: pin\nlanguages: [en]\nstart: ask_pin\nnodes:\n"
        + PIN % "back"
        + "  back: {type: return}\n  bye: {type: return}\n",
        "utf-8",
    )
    assert check_path(tmp_path)[1] == []
    # Straight to the balance after the sub-flow: it may have returned unauthenticated.
    text = (tmp_path / "main.yaml").read_text("utf-8")
    (tmp_path / "main.yaml").write_text(text.replace("next: gate", "next: balance"), "utf-8")
    errors = [e for e in check_path(tmp_path)[1] if e.node != "gate"]  # gate: unreachable
    assert [(e.node, e.field) for e in errors] == [("balance", "type")]
    assert "sub -> balance;" in errors[0].message


def test_the_hotline_before_issue_15_is_refused(tmp_path: Path) -> None:
    """Key 1 straight to the balance, as the hotline had it: caller ID opened the account."""
    flow = yaml.safe_load(HOTLINE.read_text("utf-8"))
    flow["nodes"]["main_menu"]["choices"]["1"] = "balance"
    file = tmp_path / "hotline.yaml"
    file.write_text(yaml.safe_dump(flow, allow_unicode=True), "utf-8")
    _, errors = check_path(file)
    assert [(e.node, e.field) for e in errors] == [("balance", "type")]
    assert errors[0].message.startswith(
        "account data (self_service balance) is reachable without authentication: "
        "choose_language -> set_zh -> identify -> after_hours_check -> main_menu -> balance;"
    )


def test_the_service_refuses_to_load_or_reload_such_a_flow(tmp_path: Path) -> None:
    shutil.copy(HOTLINE, tmp_path / "hotline.yaml")
    registry = FlowRegistry(tmp_path, default="hotline")
    shutil.copy(SKIPS_THE_PIN, tmp_path / "skips_the_pin.yaml")
    with pytest.raises(FlowsInvalid) as raised:
        registry.reload()
    assert any(":balance:type: account data" in str(e) for e in raised.value.errors)
    assert registry.current.generation == 1
    assert "skips_the_pin" not in registry.current.flows
    with pytest.raises(FlowsInvalid):
        FlowRegistry(tmp_path, default="hotline")


def test_flows_check_names_the_node_and_the_path() -> None:
    result = CliRunner().invoke(main, ["flows", "check", str(SKIPS_THE_PIN)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"{SKIPS_THE_PIN}:balance:type: account data (self_service balance) is reachable"
        " without authentication: identify -> menu -> balance; only an authenticate node's"
        " next_ok authenticates a call"
    ]


@pytest.mark.parametrize(
    ("condition", "authenticated", "expected"),
    [
        ({"authenticated": True}, True, True),
        ({"authenticated": True}, False, False),
        ({"identified": True}, True, True),
        ({"identified": False}, True, False),
        ({"identified": True}, False, None),
        ({"holiday": True}, True, None),
        ({"authenticated": True, "holiday": True}, False, False),
        ({"authenticated": True, "holiday": True}, True, None),
        ({"any_of": [{"holiday": True}, {"authenticated": False}]}, False, True),
        ({"any_of": [{"holiday": True}, {"authenticated": False}]}, True, None),
        ({"not": {"authenticated": True}}, True, False),
        ({"not": {"language": "en"}}, True, None),
    ],
)
def test_a_condition_is_decided_by_authentication_alone_only_when_it_can_be(
    condition: dict[str, object], authenticated: bool, expected: bool | None
) -> None:
    parsed = Condition.model_validate(condition)
    assert holds_given_authentication(parsed, authenticated) is expected
