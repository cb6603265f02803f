"""The wallboard page's files (agent_ui/wallboard/) as the app serves them, and the desk's
rules it keeps: the same strict CSP, no inline script or style, no API text turned into
markup, and two dictionaries that say the same things. What runs in a browser is for
tests/browser (not written yet: agent_ui/wallboard/PROGRESS.md)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx
import pytest

from callcenter.acd.agents import DEFAULT_NOT_READY_REASONS
from callcenter.acd.model import AgentState
from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY
from callcenter.app import create_app
from callcenter.crm.vocabulary import Tier
from callcenter.settings import load_settings

WALLBOARD = AGENT_UI_DIR / "wallboard"
LANGUAGES = ("en", "zh-CN")


def dictionary(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WALLBOARD / "i18n" / f"{language}.json").read_text())
    return data


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.keys: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "style":
            self.inline.append("style element")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}")
            if name.startswith("data-i18n") and value:
                self.keys.add(value)


def _markup() -> _Markup:
    parser = _Markup()
    parser.feed((WALLBOARD / "index.html").read_text())
    return parser


async def test_the_wallboard_is_served_under_the_desks_csp() -> None:
    app = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        page = await http.get("/desk/wallboard/")
        module = await http.get("/desk/wallboard/js/wallboard.js")
        shared = await http.get("/desk/js/socket.js")  # what wallboard.js imports as ../../js/

    for response in (page, module, shared):
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'src="js/wallboard.js"' in page.text


def test_the_page_has_no_inline_script_or_style() -> None:
    markup = _markup()
    assert markup.scripts == [{"type": "module", "src": "js/wallboard.js"}]
    assert markup.inline == []


def test_the_module_never_turns_text_into_markup_or_code() -> None:
    source = (WALLBOARD / "js" / "wallboard.js").read_text()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in source
    assert not re.search(r"new\s+Function\s*\(", source)


def test_both_dictionaries_say_the_same_things() -> None:
    en, zh = (dictionary(language) for language in LANGUAGES)
    assert set(en) == set(zh)
    placeholder = re.compile(r"\{(\w+)\}")
    for key in en:
        assert en[key].strip()
        assert zh[key].strip()
        assert set(placeholder.findall(en[key])) == set(placeholder.findall(zh[key])), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_and_label_the_page_shows_is_in_the_dictionaries(language: str) -> None:
    source = (WALLBOARD / "js" / "wallboard.js").read_text()
    used = set(re.findall(r"""\bt\(\s*[`"']([\w.\-]+)[`"']""", source))
    assert used, "found no keys: the pattern no longer matches the code"
    labels = (
        {f"state.{s.value}" for s in AgentState}
        | {f"reason.{r}" for r in DEFAULT_NOT_READY_REASONS}
        | {f"tier.{t.value}" for t in Tier}
        | {f"ws.{s}" for s in ("open", "connecting", "reconnecting", "closed", "refused")}
    )
    wanted = _markup().keys | used | labels
    assert sorted(wanted - set(dictionary(language))) == []
