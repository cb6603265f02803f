"""The agent desktop's files as the app serves them, and the rules the page keeps.

What runs in a browser is tested in tests/browser; here, without one: the mount and its
security headers, a page with no inline script (the CSP would block it), no code path that
turns API data into markup, and two dictionaries that say the same things.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path

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

LANGUAGES = ("en", "zh-CN")
JS_FILES = sorted((AGENT_UI_DIR / "js").glob("*.js"))


def dictionary(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((AGENT_UI_DIR / "i18n" / f"{language}.json").read_text())
    return data


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


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []
        self.style_attributes: list[str] = []
        self.style_elements = 0
        self.keys: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
        if tag == "style":
            self.style_elements += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.inline_handlers.append(f"{tag} {name}")
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("data-i18n") and value:
                self.keys.add(value)


def _markup() -> _Markup:
    parser = _Markup()
    parser.feed((AGENT_UI_DIR / "index.html").read_text())
    return parser


def test_the_page_has_no_inline_script_or_style() -> None:
    markup = _markup()
    assert markup.scripts == [{"type": "module", "src": "js/main.js"}]
    assert markup.inline_handlers == []
    assert markup.style_attributes == []
    assert markup.style_elements == 0


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_no_module_turns_text_into_markup_or_code(path: Path) -> None:
    """Values from the API go in with textContent (dom.js); these would parse them."""
    source = path.read_text()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in source, f"{path.name} uses {risky}"
    assert not re.search(r"new\s+Function\s*\(", source)


def test_both_dictionaries_say_the_same_things() -> None:
    en, zh = (dictionary(language) for language in LANGUAGES)
    assert set(en) == set(zh)
    placeholder = re.compile(r"\{(\w+)\}")
    for key in en:
        assert en[key].strip(), key
        assert zh[key].strip(), key
        assert set(placeholder.findall(en[key])) == set(placeholder.findall(zh[key])), key


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


def _dispositions() -> set[str]:
    source = (AGENT_UI_DIR / "js" / "wrapup.js").read_text()
    block = re.search(r"DISPOSITIONS = \[(.*?)\];", source, re.DOTALL)
    assert block is not None
    codes = re.findall(r'"(\w+)"', block.group(1))
    assert "resolved" in codes
    return {f"disposition.{code}" for code in codes}
