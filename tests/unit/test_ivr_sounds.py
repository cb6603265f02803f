"""The prompt index: written at setup, read by the service, refreshed on reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.ivr.prompts import PromptFile
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.sounds import (
    INDEX_NAME,
    PromptIndexUnreadable,
    PromptNotRendered,
    SoundCatalog,
    SoundIndex,
    refresh_prompts,
    write_index,
)

ROOT = Path(__file__).resolve().parents[2]


def _file(folder: Path, text: str, language: str, stem: str) -> PromptFile:
    path = folder / f"{stem}.wav"
    return PromptFile(text, language, path, str(path.with_suffix("")), cache_hit=False)  # type: ignore[arg-type]


def test_written_index_maps_each_text_to_its_file_as_asterisk_names_it(tmp_path: Path) -> None:
    write_index(
        tmp_path, [_file(tmp_path, "欢迎", "zh", "aa11"), _file(tmp_path, "Hi", "en", "bb")]
    )
    index = SoundIndex.load(tmp_path / INDEX_NAME, "/var/lib/x/prompts/")
    assert index.sound_for("欢迎", "zh") == "/var/lib/x/prompts/aa11"
    assert index.sound_for("Hi", "en") == "/var/lib/x/prompts/bb"
    with pytest.raises(PromptNotRendered, match="callcenter asterisk up"):
        index.sound_for("Hi", "zh")
    assert index.missing([("Hi", "en"), ("Bye", "en")]) == [("Bye", "en")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "cannot read"),
        ('{"version": 1}', "cannot read"),
        ('{"version": 9, "prompts": []}', "version 9"),
    ],
)
def test_a_missing_or_broken_index_is_a_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / INDEX_NAME).write_text(content, encoding="utf-8")
    with pytest.raises(PromptIndexUnreadable, match=message):
        SoundIndex.load(tmp_path / INDEX_NAME, "/p")


def test_refresh_names_the_flow_texts_with_no_rendering_and_keeps_the_old_index_on_error(
    tmp_path: Path,
) -> None:
    registry = FlowRegistry(ROOT / "ivr_flows", default="hotline")
    texts = registry.current.flows["hotline"].spoken_texts()
    files = [_file(tmp_path, text, lang, f"f{n}") for n, (text, lang) in enumerate(texts)]
    write_index(tmp_path, files[1:])  # the first text was never rendered
    catalog = SoundCatalog(tmp_path / INDEX_NAME, "/p")
    missing = refresh_prompts(catalog, registry.current)
    assert missing == [f"{texts[0][1]}: {texts[0][0]}"]
    assert catalog.error is None
    before = catalog.current()
    (tmp_path / INDEX_NAME).write_text("garbage", encoding="utf-8")
    assert refresh_prompts(catalog, registry.current) == []
    assert catalog.error is not None
    assert "cannot read" in catalog.error
    assert catalog.current() is before


def test_the_index_is_plain_json_with_every_entry(tmp_path: Path) -> None:
    write_index(tmp_path, [_file(tmp_path, "Hi", "en", "bb")])
    data = json.loads((tmp_path / INDEX_NAME).read_text(encoding="utf-8"))
    assert data == {"version": 1, "prompts": [{"language": "en", "text": "Hi", "file": "bb"}]}


def test_render_flow_prompts_renders_every_text_and_fragment_once_and_indexes_them(
    tmp_path: Path,
) -> None:
    from callcenter.ivr.sounds import render_flow_prompts
    from callcenter.ivr.speech import vocabulary

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "t.yaml").write_text(
        "id: t\nlanguages: [en]\nstart: a\nnodes:\n"
        "  a: {type: play, text: {en: Hello there.}, next: b}\n  b: {type: hangup}\n",
        encoding="utf-8",
    )
    prompts = tmp_path / "prompts"
    first = render_flow_prompts(flows, prompts)
    index = SoundIndex.load(prompts / INDEX_NAME, "/p")
    assert index.missing([("Hello there.", "en"), *vocabulary()]) == []
    assert len(list(prompts.glob("*.wav"))) == len(first.files) == 1 + len(set(vocabulary()))
    again = render_flow_prompts(flows, prompts)
    assert again.rendered == 0
