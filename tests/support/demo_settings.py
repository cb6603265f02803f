"""scripts/start's demo settings as the service gets them: bash sources scripts/demo-settings
over a given environment (as scripts/start does), and the CALLCENTER_* variables it leaves
are read as the service reads its environment."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from callcenter.settings import PROJECT_ROOT, Settings, load_settings

DEMO_SETTINGS = PROJECT_ROOT / "scripts" / "demo-settings"


def sourced(**given: str) -> tuple[dict[str, str], str]:
    """The CALLCENTER_* environment after bash sources scripts/demo-settings over ``given``
    (and no other CALLCENTER_* variable), and what scripts/start then prints of the dialler
    (``$outbound``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    script = f'set -euo pipefail; source "{DEMO_SETTINGS}"; printf "%s\\0" "$outbound"; env -0'
    done = subprocess.run(
        ["bash", "-c", script], env=clean | given, capture_output=True, check=True, cwd=PROJECT_ROOT
    )
    said, *pairs = done.stdout.decode().split("\0")
    env = dict(pair.split("=", 1) for pair in pairs if pair)
    return {k: v for k, v in env.items() if k.startswith("CALLCENTER_")}, said


def overrides(env: dict[str, str]) -> dict[str, Any]:
    """Those variables as settings overrides (``hours`` -> values the service parses)."""
    given = {k.removeprefix("CALLCENTER_").lower(): v for k, v in env.items()}
    parsed = load_settings(**given)
    return {name: getattr(parsed, name) for name in given}


def as_settings(env: dict[str, str]) -> Settings:
    """The settings the service reads from that environment."""
    return load_settings(**overrides(env))
