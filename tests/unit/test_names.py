"""One name per concept (docs/architecture.md, "One name per concept"): the call is
``call_id``, an agent ``agent_id``, the pop ``call.offered``, from the table to the websocket.

The scan fails naming the file and line of a retired name: ``asterisk_uniqueid``; a
``uniqueid`` or bare ``linkedid`` of our own (Asterisk's own stay in callcenter/asterisk and
callcenter/pbx, which translate them, and in the channel view of /api/channels);
``ScreenPop``; the audit action ``pop.offered`` (kept only where the log's older entries are
read). The migrations are history and keep the names they had. The schema, the events and
their projections are checked by name too.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.cti.projections import PROJECTIONS
from callcenter.events import EVENT_TYPES
from callcenter.persistence.tables import Base

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "callcenter"
ASTERISK_FACING = (PACKAGE / "asterisk", PACKAGE / "pbx")  # Asterisk's words, translated there
HISTORY = PACKAGE / "persistence" / "migrations" / "versions"

# Names retired for good, and what replaced them.
RETIRED = {
    "asterisk_uniqueid": "call_id (migration 0007)",
    "find_by_uniqueid": "find_by_call_id",
    "ScreenPop": "CallOffered, the pop's one name",
    "pop.offered": "call.offered, the pop's audit action",
}
# Asterisk's words: fine where Asterisk is spoken, our own names elsewhere.
ASTERISK_WORDS = {
    "uniqueid": "call_id: outside pbx a call's id is the call id",
    "linkedid": "asterisk_linkedid: outside pbx it is Asterisk's, and says so",
}
# Where a name stays on purpose: (file, name) -> why.
KEPT = {
    ("callcenter/api/schemas/health.py", "uniqueid"): "/api/channels: Asterisk's channels",
    ("callcenter/api/schemas/health.py", "linkedid"): "/api/channels: Asterisk's channels",
    ("callcenter/api/routes/health.py", "uniqueid"): "/api/channels: Asterisk's channels",
    ("callcenter/api/routes/health.py", "linkedid"): "/api/channels: Asterisk's channels",
    ("callcenter/persistence/screen_pop.py", "pop.offered"): "the log's older pop entries",
}
# In pbx, Asterisk's uniqueid belongs to Asterisk's objects (a channel, an AGI session) and
# to the code that reads them; what pbx hands on names the call ``call_id``.
PBX_UNIQUEID_DEFINED = {
    "callcenter/pbx/channels.py",
    "callcenter/pbx/link.py",
    "callcenter/pbx/cel.py",  # Asterisk's record of its channels (CEL), read back
}

Finding = tuple[str, int, str, str]  # file, line, name, what instead


def _names(tree: ast.AST) -> Iterator[tuple[int, str, bool]]:
    """Each identifier and whole string of a module: (line, text, whether it defines a
    parameter, keyword or field, which others use by that name; a local variable does not)."""
    for node in ast.walk(tree):
        match node:
            case ast.AnnAssign(target=ast.Name(id=name)):
                yield node.lineno, name, True
            case ast.Name(id=name):
                yield node.lineno, name, False
            case ast.Attribute(attr=name):
                yield node.lineno, name, False
            case ast.arg(arg=name):
                yield node.lineno, name, True
            case ast.keyword(arg=str() as name):
                yield node.lineno, name, True
            case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name):
                yield node.lineno, name, True
            case ast.ClassDef(name=name):
                yield node.lineno, name, True
            case ast.alias(name=name):
                yield node.lineno, name.rsplit(".", 1)[-1], False
            case ast.Constant(value=str() as text) if text in RETIRED or text in ASTERISK_WORDS:
                yield node.lineno, text, False


def scan_python(path: str, source: str) -> list[Finding]:
    found: list[Finding] = []
    asterisk_facing = path.startswith(("callcenter/asterisk/", "callcenter/pbx/"))
    names = sorted(set(_names(ast.parse(source))), key=lambda n: (n[0], n[1], not n[2]))
    for (line, name), same in itertools.groupby(names, key=lambda n: (n[0], n[1])):
        defines = any(d for _, _, d in same)  # an annotated field is a Name too
        if (path, name) in KEPT:
            continue
        if name in RETIRED:
            found.append((path, line, name, RETIRED[name]))
        elif name in ASTERISK_WORDS and not asterisk_facing:
            found.append((path, line, name, ASTERISK_WORDS[name]))
        elif (
            name == "uniqueid"
            and defines
            and path.startswith("callcenter/pbx/")
            and path not in PBX_UNIQUEID_DEFINED
        ):
            # A parameter, keyword or field of pbx's own: what it hands on is a call id.
            found.append((path, line, name, "call_id: pbx hands on the call id"))
    return found


# The desk, the wallboard and the reports: Asterisk's words never reach them, nor the pop's
# old audit action (the desk's ``pop.offered(message)`` is its Pop panel taking a
# ``call.offered``, not that action: only the quoted action is retired).
JS_RETIRED = re.compile(
    r"\b(asterisk_uniqueid|uniqueid|linkedid|ScreenPop)\b|[\"'`]pop\.offered[\"'`]"
)


def scan_page_file(path: str, source: str) -> list[Finding]:
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        for match in JS_RETIRED.finditer(line):
            name = match.group(1) or "pop.offered"
            found.append((path, number, name, {**RETIRED, **ASTERISK_WORDS}[name]))
    return found


def _python_files() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if HISTORY not in path.parents:
            yield path


def _page_files() -> Iterator[Path]:
    for pattern in ("*.js", "*.html"):
        yield from sorted((ROOT / "agent_ui").rglob(pattern))


def _report(found: list[Finding]) -> str:
    return "retired names (docs/architecture.md, One name per concept):\n" + "\n".join(
        f"  {path}:{line}: {name} -> {instead}" for path, line, name, instead in found
    )


def test_the_package_uses_one_name_per_concept() -> None:
    found = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        found += scan_python(relative, path.read_text(encoding="utf-8"))
    assert not found, _report(found)


def test_the_pages_use_one_name_per_concept() -> None:
    found = []
    for path in _page_files():
        relative = path.relative_to(ROOT).as_posix()
        found += scan_page_file(relative, path.read_text(encoding="utf-8"))
    assert not found, _report(found)


# phone_secrets: a person's own SIP secret (issue 19), any role's, as user_mfa's is.
LOGIN_TABLES = frozenset({"user_sessions", "user_mfa", "mfa_recovery_codes", "phone_secrets"})


def test_the_tables_name_a_call_call_id_and_an_agent_agent_id() -> None:
    wrong = []
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if column.name in {"asterisk_uniqueid", "uniqueid"}:
                wrong.append(f"{table.name}.{column.name}: call_id")
            # user_id: a logged-in person of any role, which only a session, the login's
            # second factor (its secret, its recovery codes) and their own phone secret are
            # about.
            if column.name == "user_id" and table.name not in LOGIN_TABLES:
                wrong.append(f"{table.name}.{column.name}: agent_id, or who acted: by_user_id")
    assert wrong == []


def _dataclass_fields(kind: type, seen: set[type]) -> Iterator[tuple[str, str]]:
    """Every field of a dataclass and of the dataclasses its fields hold: (owner, name)."""
    if kind in seen or not dataclasses.is_dataclass(kind):
        return
    seen.add(kind)
    hints = typing.get_type_hints(kind)
    for each in dataclasses.fields(kind):
        yield kind.__name__, each.name
        stack: list[object] = [hints.get(each.name)]
        while stack:
            hint = stack.pop()
            if isinstance(hint, type):
                yield from _dataclass_fields(hint, seen)
            stack.extend(typing.get_args(hint))


def test_events_and_what_sockets_get_name_a_call_call_id_and_an_agent_agent_id() -> None:
    seen: set[type] = set()
    names = [field for kind in EVENT_TYPES.values() for field in _dataclass_fields(kind, seen)]
    names += [
        (f"{kind.__name__} on a socket", name)
        for kind, projection in PROJECTIONS.items()
        for name in (*projection.fields, *(n for p in projection.parts.values() for n in p))
    ]
    wrong = [
        f"{owner}.{name}"
        for owner, name in names
        if name in {"uniqueid", "asterisk_uniqueid", "linkedid", "user_id"}
    ]
    assert wrong == []
    assert "pop.offered" not in EVENT_TYPES


# --- the scan itself finds what it must, and only that -----------------------------------


@pytest.mark.parametrize(
    ("path", "source", "name"),
    [
        ("callcenter/acd/ports.py", "class OpenCall:\n    uniqueid: str\n", "uniqueid"),
        ("callcenter/acd/service.py", "x = 1\nlog.info('%s', call.uniqueid)\n", "uniqueid"),
        ("callcenter/crm/x.py", "f(asterisk_uniqueid=None)\n", "asterisk_uniqueid"),
        ("callcenter/ivr/ports.py", "class CallStart:\n    linkedid: str | None\n", "linkedid"),
        ("callcenter/pbx/x.py", "def dial(uniqueid: str) -> None: ...\n", "uniqueid"),
        ("callcenter/persistence/x.py", "A = 'pop.offered'\n", "pop.offered"),
        ("callcenter/cti/x.py", "from callcenter.acd.ports import ScreenPop\n", "ScreenPop"),
    ],
)
def test_the_scan_names_the_file_and_line_of_a_retired_name(
    path: str, source: str, name: str
) -> None:
    [(where, line, found, _instead)] = scan_python(path, source)
    assert (where, found) == (path, name)
    assert source.splitlines()[line - 1].count(name) == 1


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("callcenter/pbx/caller_leg.py", "uniqueid = channel.uniqueid\n"),  # reading Asterisk's
        ("callcenter/pbx/channels.py", "class Channel:\n    uniqueid: str\n"),
        ("callcenter/api/routes/health.py", "ChannelOut(uniqueid=c.uniqueid)\n"),
        ("callcenter/acd/x.py", '"""The Asterisk uniqueid of the caller\'s channel."""\n'),
        ("callcenter/persistence/x.py", "row.asterisk_linkedid\n"),
    ],
)
def test_the_scan_leaves_asterisks_own_names_where_they_belong(path: str, source: str) -> None:
    assert scan_python(path, source) == []


def test_the_page_scan_finds_the_old_action_but_not_the_pop_panel() -> None:
    source = 'pop.offered(message);\nif (x === "pop.offered") {}\nconst u = data.uniqueid;\n'
    found = [(line, name) for _, line, name, _ in scan_page_file("agent_ui/js/x.js", source)]
    assert found == [(2, "pop.offered"), (3, "uniqueid")]
