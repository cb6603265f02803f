"""The flow format, the checker and `callcenter flows check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from callcenter.cli import main
from callcenter.ivr.loader import FlowsInvalid, check_path, load_flows

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "ivr_flows"
BROKEN = ROOT / "tests" / "fixtures" / "ivr" / "broken"


@pytest.mark.parametrize("flow_file", sorted(FLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_flow_passes_the_checker(flow_file: Path) -> None:
    _, errors = check_path(flow_file.parent)
    assert [str(e) for e in errors if e.file == str(flow_file)] == []


def test_the_folder_loads_with_the_hotline() -> None:
    catalog = load_flows(FLOWS)
    assert "hotline" in catalog.flows


@pytest.mark.parametrize(
    ("fixture", "node", "field", "message"),
    [
        ("unknown_reference", "menu", "choices.9", "unknown node 'nowhere'"),
        ("unreachable", "orphan", "id", "unreachable from start node"),
        ("endless_loop", "ping", "next", "loop with no way out"),
        ("endless_loop", "pong", "next", "loop with no way out"),
        ("menu_without_prompt", "menu", "prompt", "a menu needs a prompt"),
        ("missing_language", "welcome", "text", "text missing in en"),
        ("unknown_subflow", "survey", "flow", "unknown flow 'satisfaction_survey'"),
        ("bad_field", "menu", "timeout", "greater than 0"),
        ("unknown_type", "hello", "type", "'dance'"),
    ],
)
def test_a_broken_flow_fails_naming_file_node_and_field(
    fixture: str, node: str, field: str, message: str
) -> None:
    path = BROKEN / f"{fixture}.yaml"
    with pytest.raises(FlowsInvalid) as raised:
        load_flows(path)
    lines = [str(error) for error in raised.value.errors]
    prefix = f"{path}:{node}:{field}: "
    assert any(line.startswith(prefix) and message in line for line in lines), lines


def test_every_broken_fixture_is_refused() -> None:
    for path in sorted(BROKEN.glob("*.yaml")):
        _, errors = check_path(path)
        assert errors, f"{path.name} passed the checker"


def test_a_duplicate_flow_id_in_a_folder_is_an_error(tmp_path: Path) -> None:
    body = "id: twin\nlanguages: [en]\nstart: bye\nnodes:\n  bye: {type: hangup}\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    _, errors = check_path(tmp_path)
    assert [(e.file, e.field) for e in errors] == [(str(tmp_path / "b.yaml"), "id")]


def test_a_subflow_of_the_same_folder_is_known(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(
        "id: main\nlanguages: [en]\nstart: sub\nnodes:\n"
        "  sub: {type: subflow, flow: survey, next: bye}\n  bye: {type: hangup}\n"
    )
    (tmp_path / "survey.yaml").write_text(
        "id: survey\nlanguages: [en]\nstart: back\nnodes:\n  back: {type: return}\n"
    )
    assert check_path(tmp_path)[1] == []


def test_invalid_yaml_is_reported_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\nstart: [unclosed\n")
    _, errors = check_path(tmp_path)
    assert len(errors) == 1
    assert "\n" not in str(errors[0])
    assert str(errors[0]).startswith(f"{tmp_path / 'bad.yaml'}:(flow):-: cannot read")


def test_an_authenticate_node_needs_its_variables_collected(tmp_path: Path) -> None:
    (tmp_path / "auth.yaml").write_text(
        "id: auth\nlanguages: [en]\nstart: check\nnodes:\n"
        "  check: {type: authenticate, account: account, pin: pin,"
        " next_ok: bye, next_failed: bye, next_locked: bye}\n"
        "  bye: {type: hangup}\n"
    )
    _, errors = check_path(tmp_path)
    assert {(e.node, e.field) for e in errors} == {("check", "account"), ("check", "pin")}


def test_flows_check_command_exits_0_with_a_summary_for_valid_flows() -> None:
    result = CliRunner().invoke(main, ["flows", "check", str(FLOWS)])
    assert result.exit_code == 0
    assert "valid" in result.output


def test_flows_check_command_exits_1_with_one_line_per_error() -> None:
    path = BROKEN / "endless_loop.yaml"
    result = CliRunner().invoke(main, ["flows", "check", str(path)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{path}:ping:next: loop with no way out: no hangup, enqueue, transfer, callback or"
        " message is reachable from here",
        f"{path}:pong:next: loop with no way out: no hangup, enqueue, transfer, callback or"
        " message is reachable from here",
    ]
