"""Write docs/events.md's table of bus events from the types themselves: each topic with its
version, its class (callcenter/events/topics.py), its fields and what a websocket gets of
them (callcenter/cti/projections.py). tests/unit/test_events_doc.py fails when the page and
the types disagree.

Usage: .venv/bin/python scripts/events_doc.py [--check]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.cti.projections import PROJECTIONS, Projection
from callcenter.events import EVENT_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "events.md"
BEGIN = "<!-- events table: written by scripts/events_doc.py from the types; do not edit -->"
END = "<!-- end of the events table -->"


def kind_of(hint: object) -> str:
    """A field's type as a reader of the JSON sees it."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return f"{kind_of(inner[0])} or null"
    if origin is Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin is tuple:
        return f"list of {kind_of(args[0])}"
    if origin is Mapping:
        return "object"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return f"object ({', '.join(f'`{name}`: {kind}' for name, kind in fields_of(hint))})"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return " / ".join(f"`{m.value}`" for m in hint)
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    names_of_times = {dt.datetime: "ISO-8601 time", dt.date: "ISO-8601 date"}
    if isinstance(hint, type) and hint in names:
        return names[hint]
    if isinstance(hint, type) and hint in names_of_times:
        return names_of_times[hint]
    raise TypeError(f"no name for {hint}")


def fields_of(cls: type) -> list[tuple[str, str]]:
    """An event's fields (or an object's in one), each with its type as JSON shows it."""
    hints = typing.get_type_hints(cls)
    return [(f.name, kind_of(hints[f.name])) for f in dataclasses.fields(cls)]


def sent_of(projection: Projection) -> str:
    """The fields a socket gets, with those it gets of an object field in brackets."""
    names = []
    for name in projection.fields:
        parts = projection.parts.get(name)
        inner = f" ({', '.join(f'`{part}`' for part in parts)})" if parts else ""
        names.append(f"`{name}`{inner}")
    return ", ".join(names)


def render() -> str:
    lines = [
        BEGIN,
        "",
        "| topic | version | event | fields (on the bus) | on a websocket |",
        "|---|---|---|---|---|",
    ]
    for topic, cls in sorted(EVENT_TYPES.items()):
        fields = "<br>".join(f"`{name}`: {kind}" for name, kind in fields_of(cls))
        projection = PROJECTIONS.get(cls)
        sent = "none: folded into `floor.snapshot`" if projection is None else sent_of(projection)
        lines.append(f"| `{topic}` | {cls.VERSION} | `{cls.__name__}` | {fields} | {sent} |")
    lines += ["", END]
    return "\n".join(lines)


def written(text: str) -> str:
    """``text`` (the page) with its table replaced by the one the types give."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + render() + text[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is not current")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    new = written(text)
    if args.check:
        sys.exit(0 if new == text else "docs/events.md: the events table is out of date")
    DOC.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
