"""The agent desktop's files as the app serves them, and the rules the page keeps.

What runs in a browser is tested in tests/browser; here, without one: the mount and its
security headers, a page with no inline script (the CSP would block it), no code path that
turns API data into markup, and two dictionaries that say the same things.
"""

from __future__ import annotations

import importlib.util
import re
from enum import StrEnum
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from callcenter.acd.agents import DEFAULT_NOT_READY_REASONS
from callcenter.acd.model import AgentState
from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY, mount_agent_desktop
from callcenter.app import create_app
from callcenter.crm.vocabulary import (
    ComplaintStatus,
    FollowUpKind,
    IncomeBand,
    RiskProfile,
    Tier,
    ValueClass,
)
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES, Markup, disagreements, markup, risky_code

JS_FILES = sorted((AGENT_UI_DIR / "js").glob("*.js"))
MIGRATIONS = Path(__file__).resolve().parents[2] / "callcenter/persistence/migrations/versions"


def dictionary(language: str) -> dict[str, str]:
    return ui_files.dictionary(AGENT_UI_DIR, language)


@pytest.fixture
def http() -> httpx.AsyncClient:
    # The static files need no lifespan (no database, no PBX).
    app = create_app(load_settings(pbx_enabled=False))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk.test")


async def test_the_root_sends_the_browser_to_the_desk(http: httpx.AsyncClient) -> None:
    response = await http.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/desk/"


async def test_the_page_and_its_modules_are_served_under_a_strict_csp(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/desk/")
    module = await http.get("/desk/js/main.js")
    missing = await http.get("/desk/js/no-such-module.js")

    assert page.status_code == 200
    assert "<title" in page.text
    assert module.status_code == 200
    assert "javascript" in module.headers["content-type"]
    assert missing.status_code == 404
    for response in (page, module, missing):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_without_the_folder_the_app_serves_the_api_alone(tmp_path: Path) -> None:
    app = FastAPI()
    mount_agent_desktop(app, tmp_path)  # no index.html there
    assert not [r for r in app.routes if getattr(r, "path", "") in ("/", "/desk")]


def _markup() -> Markup:
    return markup(AGENT_UI_DIR / "index.html")


def test_the_page_has_no_inline_script_or_style() -> None:
    page = _markup()
    assert page.scripts == [{"type": "module", "src": "js/main.js"}]
    assert page.inline == []


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_no_module_turns_text_into_markup_or_code(path: Path) -> None:
    """Values from the API go in with textContent (dom.js); these would parse them."""
    assert risky_code(path.read_text()) == []


def test_both_dictionaries_say_the_same_things() -> None:
    assert disagreements(AGENT_UI_DIR) == []


def _keys_used_in_code() -> set[str]:
    used: set[str] = set()
    for path in JS_FILES:
        used |= set(re.findall(r"""\bt\(\s*["']([\w.\-]+)["']""", path.read_text()))
    return used


def test_every_string_the_page_asks_for_is_in_the_dictionaries() -> None:
    keys = set(dictionary("en"))
    wanted = _markup().keys | _keys_used_in_code()
    assert wanted, "found no keys: the patterns no longer match the code"
    assert sorted(wanted - keys) == []


def _vocabulary(group: str, values: type[StrEnum] | frozenset[str]) -> set[str]:
    return {f"{group}.{value}" for value in values}


def test_every_domain_value_the_page_shows_has_a_label_in_both_languages() -> None:
    wanted = (
        _vocabulary("tier", Tier)
        | _vocabulary("value_class", ValueClass)
        | _vocabulary("risk", RiskProfile)
        | _vocabulary("income", IncomeBand)
        | _vocabulary("complaint_status", ComplaintStatus)
        | _vocabulary("follow_up_kind", FollowUpKind)
        | _vocabulary("state", AgentState)
        | _vocabulary("reason", DEFAULT_NOT_READY_REASONS)
        | _dispositions()
    )
    for language in LANGUAGES:
        assert sorted(wanted - set(dictionary(language))) == [], language


def _migration_0011() -> ModuleType:
    path = next(MIGRATIONS.glob("0011_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dispositions() -> set[str]:
    """The dispositions migration 0011 seeds (the desk reads them from the API now, with
    labels; the dictionaries keep theirs for old records and a page the API has not told)."""
    module = _migration_0011()
    codes = [code for code, _zh, _en in module.DISPOSITIONS]
    assert "resolved" in codes
    return {f"disposition.{code}" for code in codes}


def test_the_seeded_labels_are_the_dictionaries() -> None:
    """Nothing changed for the desk's users: the seeded labels are the ones it showed."""
    module = _migration_0011()
    zh, en = dictionary("zh-CN"), dictionary("en")
    for code, label_zh, label_en in module.DISPOSITIONS:
        assert (label_zh, label_en) == (zh[f"disposition.{code}"], en[f"disposition.{code}"])
    for code, (label_zh, label_en) in module.REASON_LABELS.items():
        assert (label_zh, label_en) == (zh[f"reason.{code}"], en[f"reason.{code}"])
