"""The environment a test of default settings runs in."""

from __future__ import annotations

import os

import pytest

# The session's throwaway database and journal (tests/conftest.py) stay.
SESSION_SETTINGS = frozenset({"CALLCENTER_DATABASE_URL", "CALLCENTER_JOURNAL_DIR"})


def clear_callcenter_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read CALLCENTER_* from the environment: a developer's or another test's must
    not change the defaults a test checks."""
    for name in list(os.environ):
        if name.startswith("CALLCENTER_") and name not in SESSION_SETTINGS:
            monkeypatch.delenv(name)
