"""The recordings commands on a database without the recordings tables (a new one, or one the
service never upgraded): each names what is wrong and what to do, exits 2, and prints no
traceback and never the database's URL (which may hold a password)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CALLCENTER = str(Path(sys.executable).parent / "callcenter")


@pytest.mark.parametrize("command", [["verify"], ["purge", "--dry-run"], ["holds"]])
def test_a_database_without_the_schema_is_named_with_what_to_do(
    command: list[str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'secret-name.db'}"
    env = {
        **os.environ,
        "CALLCENTER_DATABASE_URL": url,
        "CALLCENTER_RECORDINGS_DIR": str(tmp_path / "recordings"),
    }
    done = subprocess.run(
        [CALLCENTER, "recordings", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "error [database-not-ready]" in done.stderr
    assert "no such table" in done.stderr
    assert "callcenter db upgrade" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "secret-name" not in done.stderr + done.stdout
