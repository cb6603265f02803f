"""The rules every page of agent_ui/ keeps, read off its files: its markup (no inline script
or style, the dictionary keys it names), its modules (no API text turned into markup or
code) and its two dictionaries (the same keys and placeholders, no empty text). The desk's,
the wallboard's and the reports' file tests share these."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

LANGUAGES = ("en", "zh-CN")
# Values from the API go in with textContent (agent_ui/js/dom.js); these would parse them.
RISKY = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(")
_NEW_FUNCTION = re.compile(r"new\s+Function\s*\(")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Markup(HTMLParser):
    """What a page's HTML holds that its rules are about."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []  # style elements, style attributes, on* handlers
        self.keys: set[str] = set()  # data-i18n* values
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.elements.append((tag, named))
        if tag == "script":
            self.scripts.append(named)
        if tag == "style":
            self.inline.append("style element")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}")
            if name.startswith("data-i18n") and value:
                self.keys.add(value)


def markup(page: Path) -> Markup:
    parser = Markup()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def risky_code(source: str) -> list[str]:
    """What in ``source`` would turn text into markup or code (none is allowed)."""
    found = [risky for risky in RISKY if risky in source]
    if _NEW_FUNCTION.search(source):
        found.append("new Function")
    return found


def dictionary(folder: Path, language: str) -> dict[str, str]:
    """``folder/i18n/<language>.json``."""
    data: dict[str, str] = json.loads((folder / "i18n" / f"{language}.json").read_text())
    return data


def disagreements(folder: Path) -> list[str]:
    """Where the page's two dictionaries do not say the same things: a key on one side
    only, an empty text, or placeholders that differ."""
    en, zh = (dictionary(folder, language) for language in LANGUAGES)
    problems = [f"only in en: {key}" for key in sorted(set(en) - set(zh))]
    problems += [f"only in zh-CN: {key}" for key in sorted(set(zh) - set(en))]
    for key in sorted(set(en) & set(zh)):
        if not en[key].strip() or not zh[key].strip():
            problems.append(f"empty: {key}")
        if set(_PLACEHOLDER.findall(en[key])) != set(_PLACEHOLDER.findall(zh[key])):
            problems.append(f"placeholders differ: {key}")
    return problems
