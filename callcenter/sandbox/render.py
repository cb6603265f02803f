"""Render the Asterisk config templates (``asterisk_conf/``) into a folder.

Standalone on purpose (standard library and Jinja2 only, no other ``callcenter`` import): the
production Asterisk image copies this one file in and renders with it at container start, so
the sandbox and the container render the same templates with the same code.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined


def render_tree(source: Path, target: Path, context: dict[str, object]) -> list[Path]:
    """Render each file of ``source`` as a Jinja template into ``target`` (mode 0640).

    Undefined variables are errors (StrictUndefined): a template that names a setting the
    renderer does not provide fails loudly instead of writing an empty value.
    """
    env = Environment(  # noqa: S701 - config files, not HTML
        loader=FileSystemLoader(str(source)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        text = env.get_template(path.name).render(**context)
        out = target / path.name
        out.write_text(text)
        out.chmod(0o640)
        written.append(out)
    return written
