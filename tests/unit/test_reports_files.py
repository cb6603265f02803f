"""The report pages' files (agent_ui/reports/) as the app serves them, and the desk's rules
they keep: the same strict CSP, no inline script or style, no API text turned into markup,
charts drawn as SVG by our own code (no chart library), and two dictionaries that say the
same things. What runs in a browser is in tests/browser/test_reports_pages.py."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY
from callcenter.app import create_app
from callcenter.crm.kpi import KpiScope
from callcenter.crm.vocabulary import FollowUpKind
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES, Markup, disagreements, markup, risky_code

REPORTS = AGENT_UI_DIR / "reports"
MODULES = sorted((REPORTS / "js").glob("*.js"))
# Column and tile keys that a module turns into labels: `col("offered"` -> rep.f.offered.
LABEL_CALLS = {
    "calls.js": (r"""\bcol\(\s*"(\w+)""", ("rep.f.",)),
    "cases.js": (r"""\bnum\(\s*"(\w+)""", ("rep.c.", "rep.fu.")),
    "deciles.js": (r"""\bnum\(\s*"(\w+)""", ("rep.d.",)),
    "kpis.js": (r"""\{ key: "(\w+)", weight""", ("rep.k.",)),
}


def dictionary(language: str) -> dict[str, str]:
    return ui_files.dictionary(REPORTS, language)


def _markup() -> Markup:
    return markup(REPORTS / "index.html")


def _source(module: Path) -> str:
    return module.read_text()


async def test_the_reports_are_served_under_the_desks_csp() -> None:
    app = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        page = await http.get("/desk/reports/")
        responses = [page, await http.get("/desk/reports/reports.css")]
        for module in MODULES:
            responses.append(await http.get(f"/desk/reports/js/{module.name}"))
        responses.append(await http.get("/desk/js/api.js"))  # what the modules import as ../../js/
        responses.append(await http.get("/desk/reports/i18n/zh-CN.json"))

    for response in responses:
        assert response.status_code == 200, response.url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'src="js/reports.js"' in page.text


def test_the_page_has_no_inline_script_or_style() -> None:
    page = _markup()
    assert page.scripts == [{"type": "module", "src": "js/reports.js"}]
    assert page.inline == []


def test_there_is_a_section_for_each_report() -> None:
    pages = {
        attrs.get("data-page")
        for tag, attrs in _markup().elements
        if tag == "section" and attrs.get("class") == "page"
    }
    assert pages == {"calls", "cases", "outbound", "kpis", "deciles", "staffing"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_no_module_turns_text_into_markup_or_code(module: Path) -> None:
    source = _source(module)
    assert risky_code(source) == []
    assert not re.search(r"\.style\b|setAttribute\(\s*[\"']style", source)  # CSS classes only


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_modules_import_only_our_own_files(module: Path) -> None:
    imports = re.findall(r"""^import .* from "([^"]+)";""", _source(module), re.MULTILINE)
    assert imports
    for path in imports:
        assert path.startswith(("./", "../../js/")), path  # no chart library, no CDN
        assert (module.parent / path).resolve().is_file(), path


def test_charts_are_svg_made_with_create_element_ns() -> None:
    chart = _source(REPORTS / "js" / "chart.js")
    assert 'const NS = "http://www.w3.org/2000/svg";' in chart
    assert "document.createElementNS(NS, tag)" in chart


def test_both_dictionaries_say_the_same_things() -> None:
    assert disagreements(REPORTS) == []


def _keys_used() -> set[str]:
    """Every whole key written in the modules (in t("..."), or picked by a condition); keys
    built from a column name are checked by test_every_column_has_a_label."""
    used: set[str] = set()
    for module in MODULES:
        used |= set(re.findall(r"""["'`]((?:rep|app)\.[\w.\-]+)["'`]""", _source(module)))
    return used


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_and_label_the_page_shows_is_in_the_dictionaries(language: str) -> None:
    words = dictionary(language)
    used = _keys_used()
    assert len(used) > 40, "found few keys: the pattern no longer matches the code"
    labels = (
        {f"follow_up_kind.{k.value}" for k in FollowUpKind}
        | {f"rep.kpis.by.{s.value}" for s in KpiScope}
        | {f"language.{lang}" for lang in LANGUAGES}
    )
    assert sorted((_markup().keys | used | labels) - set(words)) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("module", sorted(LABEL_CALLS))
def test_every_column_has_a_label(language: str, module: str) -> None:
    pattern, prefixes = LABEL_CALLS[module]
    keys = set(re.findall(pattern, _source(REPORTS / "js" / module)))
    assert keys, f"no columns found in {module}: the pattern no longer matches the code"
    words = dictionary(language)
    missing = {k for k in keys if not any(f"{p}{k}" in words for p in prefixes)}
    assert missing == set()
