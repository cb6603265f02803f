"""Text prompts rendered to speech for Asterisk, and numbers and money as words to speak.

Prompts are synthesised at setup time (``render_all``), never while a caller waits: espeak-ng
writes a WAV, sox converts it to 8 kHz mono 16-bit signed linear PCM in a plain WAV file
(what Asterisk's ``format_wav`` reads as the "wav" format; 8 kHz slin is Asterisk's native
rate, so playback costs only the channel codec's translation, no resampling), and the result
is cached under a content hash so a second setup renders nothing that is already there.

Both tools are run with argument lists (``subprocess.run`` without a shell): caller-facing text
never reaches a shell.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from callcenter.errors import DomainError

log = logging.getLogger(__name__)

Language = Literal["zh", "en"]

# espeak-ng 1.51 names: "cmn" is Mandarin reading Latin letters as English (account codes,
# tickers), better for a brokerage than "cmn-latn-pinyin"; "en-us" is American English.
VOICES: Final[dict[str, str]] = {"zh": "cmn", "en": "en-us"}

# Part of the cache key: changing the output format must invalidate every cached file.
# "no-final-pause": espeak's -z, see _synthesise.
AUDIO_FORMAT: Final = "wav-8000hz-mono-s16-no-final-pause"
SAMPLE_RATE: Final = 8000

ESPEAK: Final = "espeak-ng"
SOX: Final = "sox"


class PromptToolMissing(DomainError):
    """A speech tool is not installed; the message names the Debian package to install."""

    error_id = "prompt-tool-missing"


class PromptRenderFailed(DomainError):
    """espeak-ng or sox ran and failed."""

    error_id = "prompt-render-failed"


@dataclass(frozen=True, slots=True)
class PromptFile:
    """A rendered prompt. ``sound`` is the path without extension, the form Asterisk's
    STREAM FILE / Playback expect (Asterisk picks the file by format from the extension)."""

    text: str
    language: Language
    path: Path
    sound: str
    cache_hit: bool


@dataclass(frozen=True, slots=True)
class RenderReport:
    files: tuple[PromptFile, ...]
    rendered: int
    cached: int


def _require_tool(name: str) -> str:
    # On Debian both packages carry the command's own name.
    path = shutil.which(name)
    if path is None:
        raise PromptToolMissing(
            f"{name} is not installed: install the Debian package '{name}' "
            f"(apt-get install {name}); scripts/setup does this",
            tool=name,
            package=name,
        )
    return path


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise PromptRenderFailed(f"{argv[0]} could not run: {exc}", tool=argv[0]) from exc
    if done.returncode != 0:
        raise PromptRenderFailed(
            f"{Path(argv[0]).name} failed with exit code {done.returncode}: {done.stderr.strip()}",
            tool=argv[0],
        )
    return done.stdout


@dataclass(frozen=True, slots=True)
class PromptRenderer:
    """Tool paths and engine version, looked up once per batch (``render_all``)."""

    cache_dir: Path
    espeak: str
    sox: str
    engine_version: str

    @classmethod
    def detect(cls, cache_dir: Path) -> PromptRenderer:
        espeak, sox = _require_tool(ESPEAK), _require_tool(SOX)
        # "eSpeak NG text-to-speech: 1.51  Data at: ..." -> the whole first line; a different
        # build or data directory may sound different, so all of it goes into the cache key.
        version = _run([espeak, "--version"]).strip().splitlines()[0]
        return cls(cache_dir=cache_dir, espeak=espeak, sox=sox, engine_version=version)

    def cache_key(self, text: str, language: Language) -> str:
        fields = [language, VOICES[language], self.engine_version, AUDIO_FORMAT, text]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()

    def render(self, text: str, language: Language) -> PromptFile:
        _check_prompt(text, language)
        path = self.cache_dir / f"{self.cache_key(text, language)}.wav"
        hit = path.exists()
        if not hit:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._synthesise(text, language, path)
        return PromptFile(text, language, path, str(path.with_suffix("")), cache_hit=hit)

    def _synthesise(self, text: str, language: Language, path: Path) -> None:
        # Work in a temporary directory beside the cache and move the finished file in with
        # os.replace (atomic on one filesystem): an interrupted or concurrent setup never
        # leaves a half-written file that a later run would take for a cache hit.
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".render-") as work:
            raw, converted = Path(work) / "espeak.wav", Path(work) / "prompt.wav"
            # "-b 1": the text is UTF-8 whatever the locale; "--" so text starting with "-"
            # is spoken, not parsed as an option.
            # "-z": no pause after the last sentence. Fragments (一, 万, 元) are played one
            # after another to say a number; 0.3 s of silence after each made 一万二千 crawl.
            voice = VOICES[language]
            _run([self.espeak, "-v", voice, "-b", "1", "-z", "-w", str(raw), "--", text])
            # "-G" guards against clipping when resampling espeak's 22.05 kHz output.
            _run(
                [
                    *(self.sox, "-G", str(raw)),
                    *("-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"),
                    str(converted),
                ]
            )
            os.replace(converted, path)


def _check_prompt(text: str, language: str) -> None:
    if not text.strip():
        raise ValueError("prompt text is empty")
    if language not in VOICES:
        raise ValueError(f"unknown prompt language {language!r}; expected one of {list(VOICES)}")


def render_prompt(text: str, language: Language, cache_dir: Path) -> PromptFile:
    """Render one prompt (or find it in the cache)."""
    _check_prompt(text, language)
    return PromptRenderer.detect(cache_dir).render(text, language)


def render_all(texts: Iterable[tuple[str, Language]], cache_dir: Path) -> RenderReport:
    """Setup-time generation of every prompt; renders only what the cache lacks."""
    renderer = PromptRenderer.detect(cache_dir)
    files = tuple(renderer.render(text, language) for text, language in texts)
    cached = sum(1 for prompt in files if prompt.cache_hit)
    report = RenderReport(files=files, rendered=len(files) - cached, cached=cached)
    log.info("prompts: %d rendered, %d cached in %s", report.rendered, report.cached, cache_dir)
    return report


# --- Numbers and money as words ------------------------------------------------------------
# espeak-ng reads bare digits digit by digit or with odd groupings in some voices; the IVR
# therefore speaks amounts from words built here, the same in every voice version.

_ZH_DIGITS: Final = "零一二三四五六七八九"
_ZH_PLACES: Final = ("", "十", "百", "千")
# Sections of four digits: 万 = 10^4, 亿 = 10^8, 万亿 = 10^12 (兆 is ambiguous in modern use).
_ZH_SECTIONS: Final = ("", "万", "亿", "万亿")
_ZH_LIMIT: Final = 10**16

_EN_ONES: Final = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
_EN_TENS: Final = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES: Final = ("", "thousand", "million", "billion", "trillion")
_EN_LIMIT: Final = 10**15


def say_integer(number: int, language: Language) -> str:
    """A whole number in words: 10010 -> "一万零一十" / "ten thousand ten"."""
    if language == "zh":
        return ("负" if number < 0 else "") + _zh_integer(abs(number))
    if language == "en":
        return ("minus " if number < 0 else "") + _en_integer(abs(number))
    raise ValueError(f"unknown language {language!r}")


def say_amount(fen: int, language: Language) -> str:
    """An amount of money (integer fen) as spoken words.

    Mandarin: "人民币一万二千三百四十五元六角七分"; 零 where 角 is missing between 元 and 分
    ("一元零五分"); no "元" when there are no yuan ("人民币五分"); no "整" (a written-cheque
    habit, not spoken). English: "twelve thousand three hundred forty-five yuan and sixty-seven
    fen" (jiao are said as fen, as English speakers do with cents). Negative: "人民币负…",
    "minus …".
    """
    if language == "zh":
        sign = "负" if fen < 0 else ""
        return f"人民币{sign}{_zh_money(abs(fen))}"
    if language == "en":
        return ("minus " if fen < 0 else "") + _en_money(abs(fen))
    raise ValueError(f"unknown language {language!r}")


def _zh_integer(number: int) -> str:
    if number >= _ZH_LIMIT:
        raise ValueError(f"{number} is too large to say (limit {_ZH_LIMIT - 1})")
    if number == 0:
        return "零"
    words, zero_pending = "", False
    for index in reversed(range(len(_ZH_SECTIONS))):
        section = number // 10 ** (4 * index) % 10**4
        if section == 0:
            zero_pending = bool(words)
            continue
        # One 零 stands for any run of missing digits between two spoken ones:
        # 一亿零一 (100000001), 一万零一十 (10010), 一百万零一百 (1000100).
        if words and (zero_pending or section < 1000):
            words += "零"
        words += _zh_section(section, _ZH_SECTIONS[index])
        zero_pending = False
    return _zh_spoken_start(words)


def _zh_spoken_start(words: str) -> str:
    """Two habits of speech that apply only to the first digit of the number.

    10-19 drop the 一: 十万, 十一 (but 一百一十, 一万零一十). A leading 2 before 千, 万 or 亿 is
    两: 两千, 两万, 两亿, 两千万, 两万二千; inside the number 二 stays, as news readers say
    一万二千 and as the written amount reads; 二百, 二十, 二元, 二角, 二分 keep 二.
    """
    if words.startswith("一十"):
        return words[1:]
    if words[:2] in ("二千", "二万", "二亿"):
        return "两" + words[1:]
    return words


def _zh_section(section: int, unit: str) -> str:
    """1..9999 followed by its section unit (万, 亿...)."""
    words, zero_pending = "", False
    for place in (3, 2, 1, 0):
        digit = section // 10**place % 10
        if digit == 0:
            zero_pending = bool(words)
            continue
        if zero_pending:
            words += "零"
        words += _ZH_DIGITS[digit] + _ZH_PLACES[place]
        zero_pending = False
    return words + unit


def _zh_money(fen: int) -> str:
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    if fen == 0:
        return "零元"
    words = _zh_integer(yuan) + "元" if yuan else ""
    if jiao:
        words += _ZH_DIGITS[jiao] + "角"
    elif yuan and cents:
        words += "零"
    if cents:
        words += _ZH_DIGITS[cents] + "分"
    return words


def _en_integer(number: int) -> str:
    if number >= _EN_LIMIT:
        raise ValueError(f"{number} is too large to say (limit {_EN_LIMIT - 1})")
    if number == 0:
        return "zero"
    groups = []
    for index in reversed(range(len(_EN_SCALES))):
        group = number // 1000**index % 1000
        if group:
            groups.append(" ".join(filter(None, (_en_hundreds(group), _EN_SCALES[index]))))
    return " ".join(groups)


def _en_hundreds(group: int) -> str:
    """1..999, American style without "and": "one hundred one", "forty-five"."""
    hundreds, rest = divmod(group, 100)
    words = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_EN_TENS[tens - 2] + (f"-{_EN_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_EN_ONES[rest])
    return " ".join(words)


def _en_money(fen: int) -> str:
    yuan, cents = divmod(fen, 100)
    if cents == 0:
        return f"{_en_integer(yuan)} yuan"
    if yuan == 0:
        return f"{_en_integer(cents)} fen"
    return f"{_en_integer(yuan)} yuan and {_en_integer(cents)} fen"
