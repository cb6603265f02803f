"""Recordings are never inside the web root (issue 17, point 6): the storage refuses a folder
the desk's files are served from, one below it, one that holds it, and one that reaches it
through a symlink; a folder beside it is fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.persistence.recording_files import (
    LocalRecordingStorage,
    RecordingsInWebRoot,
    outside_web_root,
    recording_storage_for,
)
from callcenter.settings import load_settings


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    folder = tmp_path / "site" / "agent_ui"
    folder.mkdir(parents=True)
    return folder


@pytest.mark.parametrize("inside", ["", "recordings", "desk/recordings", ".."])
def test_a_recordings_folder_inside_or_holding_the_web_root_is_refused(
    web_root: Path, inside: str
) -> None:
    folder = web_root / inside if inside else web_root
    with pytest.raises(RecordingsInWebRoot, match="web root"):
        outside_web_root(folder, web_root)


def test_a_symlink_into_the_web_root_is_refused(web_root: Path, tmp_path: Path) -> None:
    link = tmp_path / "recordings"
    link.symlink_to(web_root / "calls", target_is_directory=True)
    with pytest.raises(RecordingsInWebRoot):
        outside_web_root(link, web_root)


def test_a_folder_beside_the_web_root_is_fine(web_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "site" / "recordings"
    assert outside_web_root(folder, web_root) == folder


def test_the_service_refuses_settings_that_put_recordings_in_the_web_root(
    web_root: Path, tmp_path: Path
) -> None:
    bad = load_settings(agent_ui_dir=web_root, recordings_dir=web_root / "recordings")
    with pytest.raises(RecordingsInWebRoot):
        recording_storage_for(bad)
    good = load_settings(agent_ui_dir=web_root, recordings_dir=tmp_path / "recordings")
    storage = recording_storage_for(good)
    assert isinstance(storage, LocalRecordingStorage)
    assert storage.root == tmp_path / "recordings"


def test_the_default_folders_are_outside_the_projects_web_root() -> None:
    """The shipped defaults: the sandbox's spool, and agent_ui/ of the checkout."""
    storage = recording_storage_for(load_settings())
    assert not storage.root.resolve().is_relative_to(load_settings().agent_ui_dir.resolve())
