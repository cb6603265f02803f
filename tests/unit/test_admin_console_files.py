"""The admin console's files (agent_ui/admin/) as the app serves them, and the desk's rules
they keep: the same strict CSP, no inline script or style, no API text turned into markup,
modules that import only our own files, and two dictionaries that say the same things and
hold every word the page asks for. What runs in a browser: tests/browser/test_admin_console.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from callcenter.acd.model import QueueConfig
from callcenter.api.desk import AGENT_UI_DIR, CONTENT_SECURITY_POLICY
from callcenter.app import create_app
from callcenter.crm.vocabulary import Role, Tier, ValueClass
from callcenter.persistence.dnc import DncScope
from callcenter.persistence.service_codes import CodeKind
from callcenter.settings import load_settings
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES, Markup, disagreements, markup, risky_code

ADMIN = AGENT_UI_DIR / "admin"
MODULES = sorted((ADMIN / "js").glob("*.js"))
# The error ids the API answers the console's requests with, each with words of its own.
ERROR_IDS = (
    "stale-version",
    "forbidden",
    "username-taken",
    "extension-taken",
    "branch-required",
    "unknown-branch",
    "weak-password",
    "admin-self-lockout",
    "service-code-exists",
    "service-code-reserved",
    "invalid-phone-number",
    "dnc-exists",
    "queue-exists",
    "queue-invalid",
)


def dictionary(language: str) -> dict[str, str]:
    return ui_files.dictionary(ADMIN, language)


def _markup() -> Markup:
    return markup(ADMIN / "index.html")


async def test_the_console_is_served_under_the_desks_csp() -> None:
    app = create_app(load_settings(pbx_enabled=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
        page = await http.get("/desk/admin/")
        responses = [page, await http.get("/desk/admin/admin.css")]
        for module in MODULES:
            responses.append(await http.get(f"/desk/admin/js/{module.name}"))
        responses.append(await http.get("/desk/js/codes.js"))
        responses.append(await http.get("/desk/admin/i18n/zh-CN.json"))
    for response in responses:
        assert response.status_code == 200, response.url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert 'src="js/admin.js"' in page.text


def test_the_page_has_no_inline_script_or_style() -> None:
    page = _markup()
    assert page.scripts == [{"type": "module", "src": "js/admin.js"}]
    assert page.inline == []


def test_there_is_a_section_for_each_part_of_the_console() -> None:
    pages = {
        attrs.get("data-page")
        for tag, attrs in _markup().elements
        if tag == "section" and attrs.get("class") == "page"
    }
    assert pages == {"users", "agents", "queues", "codes", "dnc"}


def test_every_field_error_slot_names_a_field_of_its_form() -> None:
    """A refusal naming a field lands next to it: each slot's data-for is a field's name."""
    names = {attrs.get("name") for tag, attrs in _markup().elements if tag in ("input", "select")}
    slots = {
        attrs.get("data-for")
        for _tag, attrs in _markup().elements
        if attrs.get("class") == "field-error"
    }
    groups = {"languages", "queues", "tier_priority", "value_class_priority", "hours"}
    assert slots
    assert slots - groups <= names
    # The API's own field names for what these forms send (a 422 names them).
    assert {"username", "password", "extension", "branch_id", "label_zh", "label_en"} <= slots
    assert {"number", "reason", "expires_at", "skills"} <= slots


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_no_module_turns_text_into_markup_or_code(module: Path) -> None:
    source = module.read_text()
    assert risky_code(source) == []
    assert not re.search(r"\.style\b|setAttribute\(\s*[\"']style", source)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_modules_import_only_our_own_files(module: Path) -> None:
    imports = re.findall(r"""^import .* from "([^"]+)";""", module.read_text(), re.MULTILINE)
    assert imports
    for path in imports:
        assert path.startswith(("./", "../../js/")), path
        assert (module.parent / path).resolve().is_file(), path


def test_both_dictionaries_say_the_same_things() -> None:
    assert disagreements(ADMIN) == []


def _keys_used() -> set[str]:
    used: set[str] = set()
    for module in MODULES:
        used |= set(re.findall(r"""["'`]((?:adm|app)\.[\w.\-]+)["'`]""", module.read_text()))
    return used


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_and_label_the_page_shows_is_in_the_dictionaries(language: str) -> None:
    words = dictionary(language)
    used = _keys_used()
    assert len(used) > 40, "found few keys: the pattern no longer matches the code"
    labels = (
        {f"role.{role.value}" for role in Role}
        | {f"tier.{tier.value}" for tier in Tier}
        | {f"value_class.{vc.value}" for vc in ValueClass}
        | {f"adm.code.kind.{kind.value}" for kind in CodeKind}
        | {f"adm.dnc.scope.{scope.value}" for scope in DncScope}
        | {f"adm.weekday.{day}" for day in range(1, 8)}
        | {f"adm.error.{error}" for error in ERROR_IDS}
        | {f"language.{lang}" for lang in LANGUAGES}
        | {"ivr_language.zh", "ivr_language.en"}
    )
    assert sorted((_markup().keys | used | labels) - set(words)) == []


def test_the_queue_form_offers_every_priority_the_api_takes() -> None:
    source = (ADMIN / "js" / "queues.js").read_text()
    tiers = re.search(r"const TIERS = \[(.*?)\];", source)
    classes = re.search(r"const VALUE_CLASSES = \[(.*?)\];", source)
    assert tiers is not None
    assert classes is not None
    assert set(re.findall(r'"(\w+)"', tiers.group(1))) == set(QueueConfig("x").tier_priority)
    assert set(re.findall(r'"(\w+)"', classes.group(1))) == {vc.value for vc in ValueClass}
