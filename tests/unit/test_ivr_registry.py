"""Called numbers to flows, and reloads that keep the old flows on any error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.ivr.loader import FlowsInvalid
from callcenter.ivr.registry import FlowRegistry

ROOT = Path(__file__).resolve().parents[2]
SALES = """id: sales
numbers: ["95556"]
languages: [en]
start: bye
nodes:
  bye: {type: play, sound: vm-goodbye, next: end}
  end: {type: hangup}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "ivr_flows" / "hotline.yaml", tmp_path / "hotline.yaml")
    (tmp_path / "sales.yaml").write_text(SALES, encoding="utf-8")
    return tmp_path


def test_called_numbers_pick_their_flow_and_unmapped_ones_get_the_default(folder: Path) -> None:
    flows = FlowRegistry(folder, default="hotline").current
    assert flows.for_number("95556").id == "sales"
    assert flows.for_number("95555").id == "hotline"
    assert flows.for_number("4008895555").id == "hotline"
    assert flows.for_number("12345").id == "hotline"  # nobody claims it
    assert flows.for_number(None).id == "hotline"


def test_a_default_flow_that_does_not_exist_stops_the_start(folder: Path) -> None:
    with pytest.raises(FlowsInvalid) as caught:
        FlowRegistry(folder, default="nonesuch")
    assert caught.value.errors[0].field == "default"
    assert "no flow 'nonesuch' (hotline, sales)" in str(caught.value.errors[0])


def test_a_reload_swaps_in_the_new_flows_and_a_call_keeps_the_set_it_started_with(
    folder: Path,
) -> None:
    registry = FlowRegistry(folder, default="hotline")
    in_call = registry.current  # what a call in progress holds
    (folder / "sales.yaml").write_text(SALES.replace("95556", "95557"), encoding="utf-8")
    report = registry.reload()
    assert report.generation == 2
    assert registry.current.for_number("95557").id == "sales"
    assert registry.current.for_number("95556").id == "hotline"
    assert in_call.for_number("95556").id == "sales"  # unchanged for the call in progress
    assert in_call.generation == 1


def test_a_broken_reload_is_refused_and_the_old_flows_stay(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = FlowRegistry(folder, default="hotline")
    before = registry.current
    (folder / "sales.yaml").write_text(SALES.replace("next: end", "next: nowhere"), "utf-8")
    with pytest.raises(FlowsInvalid) as caught:
        registry.reload()
    assert any(e.node == "bye" and e.field == "next" for e in caught.value.errors)
    assert registry.current is before
    assert "keeping generation 1" in caplog.text


def test_two_flows_claiming_one_number_is_an_error_naming_both(folder: Path) -> None:
    (folder / "sales.yaml").write_text(SALES.replace("95556", "95555"), encoding="utf-8")
    with pytest.raises(FlowsInvalid) as caught:
        FlowRegistry(folder, default="hotline")
    [error] = caught.value.errors
    assert error.field == "numbers"
    assert error.file.endswith("sales.yaml")
    assert "number 95555 is also claimed by flow 'hotline'" in error.message
