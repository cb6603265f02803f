"""Every message the pages show is in both languages (issue 16, point 6).

The server names each refusal by a stable id; agent_ui/js/errors.js words it in the page's
language from the page's own dictionary or the shared one (agent_ui/messages/i18n/), and never
shows the server's English ``message``. These tests hold that to the code: every error id the
server can answer has words in both languages (a new id without them fails here), the pages'
own error words name real ids, the shared dictionary has every text errors.js asks for, and
no module or page shows a hard-coded sentence or a server's message.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import callcenter
from callcenter.api.desk import AGENT_UI_DIR
from callcenter.api.errors import INVALID_REQUEST
from callcenter.errors import DomainError
from tests.support import ui_files
from tests.support.ui_files import LANGUAGES

SHARED = AGENT_UI_DIR / "messages"  # the shared dictionary: agent_ui/messages/i18n/
PAGES = {  # each page's folder, and the prefix of its own error words
    "desk": (AGENT_UI_DIR, "error."),
    "wallboard": (AGENT_UI_DIR / "wallboard", "error."),
    "reports": (AGENT_UI_DIR / "reports", "error."),
    "admin": (AGENT_UI_DIR / "admin", "adm.error."),
}
# Errors raised and handled inside the service, never answered to a page: the base class, the
# ACD router's own bookkeeping (the ACD service handles them), the setup and seeding commands,
# and the IVR's prompt files (the call falls back to speech; setup reports them).
INTERNAL = frozenset(
    {
        "domain-error",
        "seed-database-not-empty",
        "prompt-index-unreadable",
        "prompt-not-rendered",
        "prompt-render-failed",
        "prompt-tool-missing",
        "routing-agent-already-known",
        "routing-agent-not-ready",
        "routing-call-already-waiting",
        "routing-call-not-waiting",
        "routing-unknown-agent",
        "routing-unknown-queue",
    }
)


def _domain_error_ids() -> set[str]:
    """The id of every DomainError subclass in the package (every module imported)."""
    for module in pkgutil.walk_packages(callcenter.__path__, "callcenter."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    ids: set[str] = set()
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        ids.add(cls.error_id)
        todo.extend(cls.__subclasses__())
    return ids


def answered_ids() -> set[str]:
    """Every error id the server can answer, over REST or the websocket."""
    return (_domain_error_ids() | {INVALID_REQUEST}) - INTERNAL


def shared(language: str) -> dict[str, str]:
    return ui_files.dictionary(SHARED, language)


def test_the_id_list_is_the_servers() -> None:
    ids = answered_ids()
    assert {"bad-credentials", "too-many-logins", "bad-mfa-code", "invalid-request"} <= ids
    assert _domain_error_ids() >= INTERNAL  # no stale entry: each is still an id


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_error_the_server_can_answer_has_words_in_both_languages(language: str) -> None:
    words = shared(language)
    assert sorted(i for i in answered_ids() if f"error.{i}" not in words) == []


def test_the_shared_dictionaries_say_the_same_things() -> None:
    assert ui_files.disagreements(SHARED) == []


@pytest.mark.parametrize("page", PAGES)
def test_a_pages_own_error_words_name_errors_the_server_answers(page: str) -> None:
    """A page may word an error its own way; a key for an id that does not exist (a typo,
    an id renamed) would never be shown."""
    folder, prefix = PAGES[page]
    ids = answered_ids()
    for language in LANGUAGES:
        own = [
            k[len(prefix) :] for k in ui_files.dictionary(folder, language) if k.startswith(prefix)
        ]
        # The admin console's sentences around a 422's fields are its own words, not ids.
        unknown = [i for i in own if i not in ids and i not in {"invalid", "invalid_field"}]
        assert unknown == [], (page, language)


def test_every_text_errors_js_asks_for_is_in_the_shared_dictionaries() -> None:
    source = (AGENT_UI_DIR / "js" / "errors.js").read_text()
    asked = set(re.findall(r"""\bsay\(\s*["']([\w.\-]+)["']""", source))
    assert {"error.network", "error.timeout", "error.unknown", "invalid.other"} <= asked
    for language in LANGUAGES:
        assert sorted(asked - set(shared(language))) == [], language


def test_the_validation_types_the_schemas_answer_most_are_worded() -> None:
    """A 422 names each field with pydantic's error type; the usual ones have words (any
    other shows as "not accepted", translated)."""
    usual = {
        "missing",
        "value_error",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "int_parsing",
        "greater_than_equal",
        "less_than_equal",
        "enum",
        "literal_error",
        "extra_forbidden",
        "json_invalid",
        "date_from_datetime_parsing",
        "datetime_from_date_parsing",
    }
    for language in LANGUAGES:
        assert sorted(t for t in usual if f"invalid.{t}" not in shared(language)) == []


# --- what the pages' code shows ---------------------------------------------------------------

# The pages' own modules. agent_ui/vendor/ holds the browser phone's library as built from npm
# at setup (JsSIP: SIP reason phrases and its own logs, none of it shown on a page).
MODULES = sorted(
    p for p in AGENT_UI_DIR.rglob("*.js") if "vendor" not in p.relative_to(AGENT_UI_DIR).parts
)
# Strings and comments of a module, in order (a comment's quote marks are not strings).
_TOKEN = re.compile(r"""//[^\n]*|/\*.*?\*/|(["'`])((?:\\.|(?!\1).)*)\1""", re.S)
# What reads as words for people: Chinese, a capitalised phrase, a sentence.
_SHOWN = re.compile(r"[\u3400-\u9fff]|^[A-Z][a-z]+[ ,]|\w \w.*[a-z][.!?]$")
# Where such a literal is no message: an exception's text for the console, a websocket close
# reason (not shown), a selector.
_QUIET = re.compile(r"(new Error\(|super\(|close\(\d+,\s*|querySelector(All)?\()\s*$")


def shown_literals(source: str) -> list[str]:
    found = []
    for match in _TOKEN.finditer(source):
        text = match.group(2)
        before = source[max(0, match.start() - 30) : match.start()]
        if match.group(1) and _SHOWN.search(text) and not _QUIET.search(before):
            found.append(text)
    return found


def test_the_literal_finder_finds_words_for_people() -> None:
    assert shown_literals('replace(node, "Wrong password");') == ["Wrong password"]
    assert shown_literals("toast(`登录失败`);") == ["登录失败"]
    assert shown_literals('node.textContent = "try again later.";') == ["try again later."]
    assert shown_literals('el("td", { class: "num alert" }, t("wb.queue"));') == []
    assert shown_literals('// "Say this" in a comment\nthrow new Error("HTTP down");') == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(AGENT_UI_DIR)))
def test_no_module_shows_a_hard_coded_sentence(path: Path) -> None:
    assert shown_literals(path.read_text()) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(AGENT_UI_DIR)))
def test_no_module_shows_the_servers_message(path: Path) -> None:
    """Only api.js (which keeps it for the console) and errors.js (a page bug's own text)
    read a ``message``; everything else words the error id."""
    if path.relative_to(AGENT_UI_DIR).as_posix() in {"js/api.js", "js/errors.js"}:
        return
    assert re.findall(r"[\w?)\]]\.message\b", path.read_text()) == []


class _Text(HTMLParser):
    """Text in a page's markup that no data-i18n key replaces."""

    VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.loose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append((tag, any(name == "data-i18n" for name, _ in attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        text = data.strip()
        words = re.search(r"[A-Za-z\u3400-\u9fff]", text)
        if words and self.stack and not self.stack[-1][1]:
            self.loose.append(text)


@pytest.mark.parametrize(
    "path", sorted(AGENT_UI_DIR.rglob("*.html")), ids=lambda p: str(p.relative_to(AGENT_UI_DIR))
)
def test_every_text_in_the_pages_markup_comes_from_the_dictionaries(path: Path) -> None:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    assert parser.loose == []
