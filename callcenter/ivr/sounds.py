"""Which rendered file Asterisk plays for a text prompt: the index written at setup.

Setup (``callcenter asterisk up``) renders every text into ``<prompts>/<sha256>.wav`` and writes
``<prompts>/index.json`` beside them; the service reads the index at start and on every flow
reload. The service therefore needs neither espeak-ng nor the audio files themselves (in
production they live in Asterisk's container), only the index and where Asterisk sees the folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from callcenter.errors import DomainError
from callcenter.ivr.flow import Language
from callcenter.ivr.loader import load_flows
from callcenter.ivr.prompts import PromptFile, RenderReport, render_all
from callcenter.ivr.registry import FlowSet
from callcenter.ivr.speech import vocabulary

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
INDEX_VERSION = 1


class PromptNotRendered(DomainError):
    """A text has no rendered file: setup was not run after a flow changed."""

    error_id = "prompt-not-rendered"


class PromptIndexUnreadable(DomainError):
    error_id = "prompt-index-unreadable"


def write_index(prompts_dir: Path, files: Iterable[PromptFile]) -> Path:
    """Write the index of ``files`` (all in ``prompts_dir``); replaced atomically."""
    entries = sorted(
        {(f.language, f.text): f.path.stem for f in files}.items(), key=lambda item: item[0]
    )
    data = {
        "version": INDEX_VERSION,
        "prompts": [
            {"language": language, "text": text, "file": stem} for (language, text), stem in entries
        ],
    }
    path = prompts_dir / INDEX_NAME
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(path)
    return path


def render_flow_prompts(flows_dir: Path, prompts_dir: Path) -> RenderReport:
    """Setup: render every text of the flows at ``flows_dir`` and the speech vocabulary (the
    fragments self-service says numbers with) into ``prompts_dir``, so no call waits for
    synthesis; remove renderings nothing says any more; write the index. Cached by content
    hash: only new texts cost time."""
    catalog = load_flows(flows_dir)
    texts = [text for flow in catalog.flows.values() for text in flow.spoken_texts()]
    report = render_all(list(dict.fromkeys([*texts, *vocabulary()])), prompts_dir)
    keep = {prompt.path for prompt in report.files}
    for stale in prompts_dir.glob("*.wav"):
        if stale not in keep:
            stale.unlink()
    write_index(prompts_dir, report.files)
    return report


@dataclass(frozen=True)
class SoundIndex:
    """Text prompt -> Asterisk sound name (an absolute path without extension)."""

    sounds: dict[tuple[str, str], str]

    @classmethod
    def load(cls, index_file: Path, folder_in_asterisk: str) -> SoundIndex:
        hint = "run `callcenter asterisk up`"
        try:
            data = json.loads(index_file.read_text(encoding="utf-8"))
            version = data.get("version")
            folder = folder_in_asterisk.rstrip("/")
            sounds = {
                (entry["language"], entry["text"]): f"{folder}/{entry['file']}"
                for entry in data["prompts"]
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            message = f"cannot read the prompt index {index_file}: {exc}; {hint}"
            raise PromptIndexUnreadable(message) from exc
        if version != INDEX_VERSION:
            message = f"prompt index {index_file} is version {version!r}, not {INDEX_VERSION}"
            raise PromptIndexUnreadable(f"{message}; {hint}")
        return cls(sounds)

    def sound_for(self, text: str, language: Language) -> str:
        try:
            return self.sounds[(language, text)]
        except KeyError:
            message = f"no rendered prompt for {language} text {text[:40]!r}"
            raise PromptNotRendered(f"{message}; run `callcenter asterisk up`") from None

    def missing(self, texts: Iterable[tuple[str, Language]]) -> list[tuple[str, Language]]:
        return [(text, language) for text, language in texts if (language, text) not in self.sounds]


class SoundCatalog:
    """The service's current index; reloaded with the flows. A missing or broken index is
    reported (``error``) and leaves the previous one in place: calls keep their prompts."""

    def __init__(self, index_file: Path, folder_in_asterisk: str) -> None:
        self.index_file = index_file
        self.folder_in_asterisk = folder_in_asterisk
        self._index = SoundIndex({})
        self.error: str | None = None

    def load(self) -> SoundIndex:
        try:
            self._index = SoundIndex.load(self.index_file, self.folder_in_asterisk)
            self.error = None
        except PromptIndexUnreadable as exc:
            self.error = exc.message
        return self._index

    def current(self) -> SoundIndex:
        return self._index


def refresh_prompts(catalog: SoundCatalog, flows: FlowSet) -> list[str]:
    """Load the prompt index again; the texts of ``flows`` it lacks (logged as errors)."""
    index = catalog.load()
    if catalog.error is not None:
        log.error("IVR prompts: %s", catalog.error)
        return []
    texts = [text for flow in flows.flows.values() for text in flow.spoken_texts()]
    missing = [f"{language}: {text}" for text, language in index.missing(texts)]
    if missing:
        log.error("IVR prompts not rendered (run callcenter asterisk up): %s", "; ".join(missing))
    return missing
