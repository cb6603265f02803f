"""Text prompts rendered with espeak-ng + sox (real tools), and numbers/money as words."""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callcenter.ivr import prompts
from callcenter.ivr.prompts import (
    PromptRenderFailed,
    PromptToolMissing,
    render_all,
    render_prompt,
    say_amount,
    say_integer,
)

ZH_SENTENCE = "您好。欢迎致电证券客户服务热线。"
EN_SENTENCE = "Welcome to the securities customer service hotline."


def _wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        return rate, wav.getnchannels(), wav.getsampwidth(), wav.getnframes() / rate


@pytest.fixture
def tool_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every argv the module runs, still running the real tools."""
    calls: list[list[str]] = []
    real_run: Callable[..., Any] = subprocess.run

    def recording_run(argv: list[str], **kwargs: Any) -> Any:
        calls.append(list(argv))
        return real_run(argv, **kwargs)

    monkeypatch.setattr("subprocess.run", recording_run)
    return calls


def _syntheses(calls: list[list[str]]) -> list[list[str]]:
    return [argv for argv in calls if Path(argv[0]).name == "espeak-ng" and "-w" in argv]


@pytest.mark.parametrize(("text", "language"), [(ZH_SENTENCE, "zh"), (EN_SENTENCE, "en")])
def test_rendered_prompt_is_8khz_mono_16bit_speech(
    tmp_path: Path, text: str, language: prompts.Language
) -> None:
    prompt = render_prompt(text, language, tmp_path)

    rate, channels, sample_width, seconds = _wav_format(prompt.path)
    assert (rate, channels, sample_width) == (8000, 1, 2)
    assert seconds > 0.3
    header = prompt.path.read_bytes()[:22]
    # Asterisk's format_wav accepts only plain PCM (format tag 1), not WAVE_FORMAT_EXTENSIBLE.
    assert (header[:4], header[8:16], int.from_bytes(header[20:22], "little")) == (
        b"RIFF",
        b"WAVEfmt ",
        1,
    )
    assert prompt.path.parent == tmp_path
    assert prompt.path.suffix == ".wav"
    assert prompt.sound == str(prompt.path.with_suffix(""))
    assert not prompt.cache_hit


def test_same_text_twice_is_a_cache_hit_without_synthesis(
    tmp_path: Path, tool_calls: list[list[str]]
) -> None:
    first = render_prompt(EN_SENTENCE, "en", tmp_path)
    mtime = first.path.stat().st_mtime_ns
    second = render_prompt(EN_SENTENCE, "en", tmp_path)

    assert len(_syntheses(tool_calls)) == 1
    assert second.cache_hit
    assert second.path == first.path
    assert second.path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.path.name]


def test_cache_key_differs_by_language_and_text(tmp_path: Path) -> None:
    renderer = prompts.PromptRenderer(tmp_path, "espeak-ng", "sox", "eSpeak NG 1.51")

    keys = {
        renderer.cache_key("1", "zh"),
        renderer.cache_key("1", "en"),
        renderer.cache_key("2", "en"),
        prompts.PromptRenderer(tmp_path, "espeak-ng", "sox", "eSpeak NG 1.52").cache_key("1", "en"),
    }
    assert len(keys) == 4


def test_text_is_passed_as_one_argument_never_parsed_as_an_option(
    tmp_path: Path, tool_calls: list[list[str]]
) -> None:
    text = "-v xx; rm -rf / $(reboot)"
    prompt = render_prompt(text, "en", tmp_path)

    (synthesis,) = _syntheses(tool_calls)
    assert synthesis[-2:] == ["--", text]
    assert _wav_format(prompt.path)[3] > 0.3


def test_render_all_reports_rendered_and_cached(tmp_path: Path) -> None:
    render_prompt("请按一。", "zh", tmp_path)

    report = render_all([("请按一。", "zh"), ("Press two.", "en")], tmp_path)

    assert (report.rendered, report.cached) == (1, 1)
    assert [p.cache_hit for p in report.files] == [True, False]
    assert all(p.path.exists() for p in report.files)


@pytest.mark.parametrize("tool", ["espeak-ng", "sox"])
def test_missing_tool_names_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str
) -> None:
    real_which = shutil.which
    monkeypatch.setattr("shutil.which", lambda name: None if name == tool else real_which(name))

    with pytest.raises(PromptToolMissing, match=f"Debian package '{tool}'") as error:
        render_prompt("Hello.", "en", tmp_path)
    assert error.value.detail["package"] == tool


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        render_prompt(text, "zh", tmp_path)


def test_failed_conversion_leaves_no_cached_file(tmp_path: Path) -> None:
    renderer = prompts.PromptRenderer.detect(tmp_path)
    broken = prompts.PromptRenderer(tmp_path, renderer.espeak, "false", renderer.engine_version)

    with pytest.raises(PromptRenderFailed):
        broken.render("Hello.", "en")
    assert list(tmp_path.glob("*.wav")) == []
    assert renderer.render("Hello.", "en").cache_hit is False


@pytest.mark.parametrize(
    ("number", "zh", "en"),
    [
        (0, "零", "zero"),
        (5, "五", "five"),
        (10, "十", "ten"),
        (11, "十一", "eleven"),
        (20, "二十", "twenty"),
        (101, "一百零一", "one hundred one"),
        (110, "一百一十", "one hundred ten"),
        (200, "二百", "two hundred"),
        (1000, "一千", "one thousand"),
        (1001, "一千零一", "one thousand one"),
        (1010, "一千零一十", "one thousand ten"),
        (2000, "两千", "two thousand"),
        (10010, "一万零一十", "ten thousand ten"),
        (20000, "两万", "twenty thousand"),
        (22000, "两万二千", "twenty-two thousand"),
        (2002, "两千零二", "two thousand two"),
        (20000000, "两千万", "twenty million"),
        (220000000, "两亿二千万", "two hundred twenty million"),
        (100000, "十万", "one hundred thousand"),
        (120000, "十二万", "one hundred twenty thousand"),
        (1000100, "一百万零一百", "one million one hundred"),
        (12345, "一万二千三百四十五", "twelve thousand three hundred forty-five"),
        (100000000, "一亿", "one hundred million"),
        (100000001, "一亿零一", "one hundred million one"),
        (100010000, "一亿零一万", "one hundred million ten thousand"),
        (200000000, "两亿", "two hundred million"),
        (1000000000000, "一万亿", "one trillion"),
        (-42, "负四十二", "minus forty-two"),
    ],
)
def test_integers_are_said_in_words(number: int, zh: str, en: str) -> None:
    assert say_integer(number, "zh") == zh
    assert say_integer(number, "en") == en


@pytest.mark.parametrize(
    ("fen", "zh", "en"),
    [
        (0, "人民币零元", "zero yuan"),
        (5, "人民币五分", "five fen"),
        (10, "人民币一角", "ten fen"),
        (67, "人民币六角七分", "sixty-seven fen"),
        (100, "人民币一元", "one yuan"),
        (105, "人民币一元零五分", "one yuan and five fen"),
        (120, "人民币一元二角", "one yuan and twenty fen"),
        (200, "人民币二元", "two yuan"),
        (
            1234567,
            "人民币一万二千三百四十五元六角七分",
            "twelve thousand three hundred forty-five yuan and sixty-seven fen",
        ),
        (100000000 * 100, "人民币一亿元", "one hundred million yuan"),
        (100000001 * 100 + 1, "人民币一亿零一元零一分", "one hundred million one yuan and one fen"),
        (-1050, "人民币负十元五角", "minus ten yuan and fifty fen"),
    ],
)
def test_amounts_are_said_in_words(fen: int, zh: str, en: str) -> None:
    assert say_amount(fen, "zh") == zh
    assert say_amount(fen, "en") == en


def test_amount_beyond_the_spoken_range_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        say_amount(10**16 * 100, "zh")
    with pytest.raises(ValueError, match="too large"):
        say_amount(10**15 * 100, "en")
