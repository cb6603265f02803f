"""Numbers, money and account facts as a row of sounds rendered before any call.

Nothing is synthesised while a caller listens. An :data:`Utterance` is a tuple of sounds the
runner plays back to back, the way IVRs have always said numbers: English numbers come from
Asterisk's English core sounds (``digits/7``, ``digits/thousand``, Debian's
asterisk-core-sounds-en-gsm), and every other fragment is a :class:`Phrase`, a short text that
``callcenter asterisk up`` renders with espeak-ng at setup (:func:`vocabulary` lists them all).
Debian ships no Mandarin core sounds, so Mandarin numbers are one Phrase per character
(一, 万, 两, 元...).

The words come from :func:`~callcenter.ivr.prompts.say_integer` and
:func:`~callcenter.ivr.prompts.say_amount`, split into their spoken units here, so the rules
of speech (两 vs 二, where 零 goes, "and" before fen) live in one place.

Setup renders the vocabulary into the same prompts folder as the flows' text prompts, so a
Phrase is found exactly like a text prompt: by (text, language) in the prompt index, or by
:func:`phrase_file`.
"""

# Chinese text takes full-width commas, which RUF001 flags as look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from callcenter.ivr.account import AccountSnapshot, Holding, HoldingChange
from callcenter.ivr.flow import SelfServiceKind
from callcenter.ivr.prompts import Language, PromptRenderer, say_amount, say_integer


@dataclass(frozen=True, slots=True)
class CoreSound:
    """An Asterisk core sound by name, e.g. ``digits/7`` (English: the channel's default
    language; Asterisk looks it up under sounds/en/)."""

    name: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """A text rendered by espeak-ng at setup; always one of :func:`vocabulary`."""

    text: str
    language: Language


Sound = CoreSound | Phrase
Utterance = tuple[Sound, ...]

# How many holdings or trades are read one by one; the rest are counted ("plus 3 more").
MAX_ITEMS_SPOKEN: Final = 5

# --- English: words to core sounds ----------------------------------------------------------

_EN_NUMBERS: Final = (*range(21), *range(30, 100, 10))
_EN_SCALES: Final = ("hundred", "thousand", "million", "billion")
# Every core sound this module can ask for, all present in Debian's asterisk-core-sounds-en
# (Allison's voice); tests/integration checks each against the sandbox root.
EN_CORE_SOUNDS: Final[frozenset[str]] = frozenset(
    {
        *(f"digits/{n}" for n in _EN_NUMBERS),
        *(f"digits/{scale}" for scale in _EN_SCALES),
        "digits/minus",
        *(f"digits/mon-{m}" for m in range(12)),  # mon-0 is January
        "vm-and",  # "and", as in "yuan and five fen"
    }
)
# A spoken English word -> its core sound: "forty" -> digits/40, built from say_integer itself
# so the two can never disagree on a spelling.
_EN_WORD_SOUNDS: Final[Mapping[str, str]] = {
    **{say_integer(n, "en"): f"digits/{n}" for n in _EN_NUMBERS},
    **{scale: f"digits/{scale}" for scale in _EN_SCALES},
    "minus": "digits/minus",
    "and": "vm-and",
}
# Words of say_integer / say_amount with no core sound ("trillion": core sounds stop at billion).
_EN_PHRASE_WORDS: Final = ("trillion", "yuan", "fen")

# --- Mandarin: every unit a number or amount can be made of ---------------------------------

_ZH_NUMBER_UNITS: Final = ("人民币", *"负零一二两三四五六七八九十百千万亿元角分")
# Codes are read digit by digit with 幺 for 1, the telephone habit (一 and 七 sound alike on a
# phone line); years keep 一 (二零一一年), as everyone says them.
_ZH_CODE_DIGITS: Final = "零幺二三四五六七八九"
_ZH_UNIT: Final = re.compile("人民币|.")
_ZH_DATE_UNITS: Final = ("年", "月")

# --- Fixed sentence parts -------------------------------------------------------------------
# A sentence is a tuple of texts (each a Phrase) and slots filled with utterances. A name with
# an "_one" variant is said that way when its number is 1 ("1 share", not "1 shares").

_SLOT: Final = re.compile(r"^\{(\w+)\}$")
_SENTENCES: Final[Mapping[Language, Mapping[str, tuple[str, ...]]]] = {
    "zh": {
        "no_data": ("抱歉，暂时查询不到您的账户资料。",),
        "balance": ("截至", "{month}", "您的总资产为", "{amount}"),
        "no_holdings": ("截至", "{month}", "您没有持仓。"),
        "holdings": ("截至", "{month}", "您持有", "{count}", "只股票。"),
        "holding": ("代码", "{code}", "持有", "{quantity}", "股。"),
        "more_holdings": ("另有", "{count}", "只股票。"),
        "no_trades": ("您在", "{month}", "没有交易。"),
        "trades": ("您在", "{month}", "的交易如下。"),
        "bought": ("买入", "{code}", "{quantity}", "股。"),
        "sold": ("卖出", "{code}", "{quantity}", "股。"),
        "more_trades": ("另有", "{count}", "笔交易。"),
        "queue_next": ("您是下一位，请稍候。",),
        "queue_ahead": ("您前面还有", "{count}", "位客户在等候。"),
        "queue_wait": ("预计等待约", "{count}", "分钟。"),
        "queue_wait_short": ("预计等待不到一分钟。",),
    },
    "en": {
        "no_data": ("Sorry, your account information is not available right now.",),
        "balance": ("As of", "{month}", "your total assets are", "{amount}"),
        "no_holdings": ("As of", "{month}", "you hold no stocks."),
        "holdings": ("As of", "{month}", "you hold", "{count}", "stocks."),
        "holdings_one": ("As of", "{month}", "you hold", "{count}", "stock."),
        "holding": ("{quantity}", "shares of", "{code}"),
        "holding_one": ("{quantity}", "share of", "{code}"),
        "more_holdings": ("Plus", "{count}", "more stocks."),
        "more_holdings_one": ("Plus", "{count}", "more stock."),
        "no_trades": ("You made no trades in", "{month}"),
        "trades": ("In", "{month}", "you made these trades."),
        "bought": ("Bought", "{quantity}", "shares of", "{code}"),
        "bought_one": ("Bought", "{quantity}", "share of", "{code}"),
        "sold": ("Sold", "{quantity}", "shares of", "{code}"),
        "sold_one": ("Sold", "{quantity}", "share of", "{code}"),
        "more_trades": ("Plus", "{count}", "more trades."),
        "more_trades_one": ("Plus", "{count}", "more trade."),
        "queue_next": ("You are next. Please hold.",),
        "queue_ahead": ("There are", "{count}", "callers ahead of you."),
        "queue_ahead_one": ("There is", "{count}", "caller ahead of you."),
        "queue_wait": ("Your expected wait is about", "{count}", "minutes."),
        "queue_wait_one": ("Your expected wait is about", "{count}", "minute."),
        "queue_wait_short": ("Your expected wait is under a minute.",),
    },
}

# --- Numbers --------------------------------------------------------------------------------


def speak_integer(number: int, language: Language) -> Utterance:
    """A whole number: 45 -> digits/40, digits/5; 两万 -> 两, 万."""
    return _units(say_integer(number, language), language)


def speak_amount(fen: int, language: Language) -> Utterance:
    """Money in fen: 105 -> one, yuan, and, five, fen; 人民币, 一, 元, 零, 五, 分."""
    return _units(say_amount(fen, language), language)


def speak_digits(code: str, language: Language) -> Utterance:
    """An account or stock code digit by digit: 600519 -> six zero zero five one nine /
    六零零五幺九. An empty code says nothing; anything but ASCII digits is refused, as it
    would have no sound."""
    if code and not (code.isascii() and code.isdigit()):
        raise ValueError(f"only digits can be read out digit by digit, got {code!r}")
    if language == "zh":
        return tuple(Phrase(_ZH_CODE_DIGITS[int(digit)], "zh") for digit in code)
    return tuple(CoreSound(f"digits/{digit}") for digit in code)


def _count(number: int, language: Language) -> Utterance:
    """A number of things before a measure word: Mandarin says 两只, 两股, not 二只 (the rule
    for 两 in larger numbers, 两千, is say_integer's)."""
    if language == "zh" and number == 2:
        return (Phrase("两", "zh"),)
    return speak_integer(number, language)


def _units(words: str, language: Language) -> Utterance:
    if language == "zh":
        return tuple(Phrase(unit, "zh") for unit in _ZH_UNIT.findall(words))
    return tuple(_en_sound(word) for word in re.split(r"[ -]", words))


def _en_sound(word: str) -> Sound:
    name = _EN_WORD_SOUNDS.get(word)
    return CoreSound(name) if name is not None else Phrase(word, "en")


def _month(period: dt.date, language: Language) -> Utterance:
    """The statement month: 二零二四年三月 / March two thousand twenty-four."""
    if language == "zh":
        year = tuple(Phrase(say_integer(int(digit), "zh"), "zh") for digit in str(period.year))
        year_unit, month_unit = (Phrase(unit, "zh") for unit in _ZH_DATE_UNITS)
        return (*year, year_unit, *speak_integer(period.month, "zh"), month_unit)
    return (CoreSound(f"digits/mon-{period.month - 1}"), *speak_integer(period.year, "en"))


# --- Sentences ------------------------------------------------------------------------------


def _sentence(name: str, language: Language, one: bool = False, **slots: Utterance) -> Utterance:
    table = _SENTENCES[language]
    template = table[f"{name}_one"] if one and f"{name}_one" in table else table[name]
    spoken: list[Sound] = []
    for part in template:
        slot = _SLOT.match(part)
        spoken.extend(slots[slot.group(1)] if slot else (Phrase(part, language),))
    return tuple(spoken)


def speak_self_service(
    what: SelfServiceKind, snapshot: AccountSnapshot | None, language: Language
) -> Utterance:
    """What the caller hears for a self-service node; no snapshot: "no account data"."""
    if snapshot is None:
        return _sentence("no_data", language)
    if what == "balance":
        return _sentence(
            "balance",
            language,
            month=_month(snapshot.period, language),
            amount=speak_amount(snapshot.total_assets_fen, language),
        )
    if what == "positions":
        return _positions(snapshot, language)
    return _recent_trades(snapshot, language)


def speak_queue_place(ahead: int, wait_minutes: int | None, language: Language) -> Utterance:
    """What a waiting caller hears now and then: how many are ahead of them and, when there
    is an estimate, about how long the wait is (0: under a minute)."""
    if ahead < 0:
        raise ValueError(f"callers ahead cannot be negative ({ahead})")
    if ahead == 0:
        place = _sentence("queue_next", language)
    else:
        place = _sentence("queue_ahead", language, one=ahead == 1, count=_count(ahead, language))
    if wait_minutes is None:
        return place
    if wait_minutes <= 0:
        return place + _sentence("queue_wait_short", language)
    wait = _sentence(
        "queue_wait", language, one=wait_minutes == 1, count=_count(wait_minutes, language)
    )
    return place + wait


def _positions(snapshot: AccountSnapshot, language: Language) -> Utterance:
    """The count, then the largest holdings by value (code and shares), then how many more."""
    month = _month(snapshot.period, language)
    if not snapshot.holdings:
        return _sentence("no_holdings", language, month=month)
    total = len(snapshot.holdings)
    ranked = sorted(snapshot.holdings, key=lambda h: (-h.value_fen, h.symbol))
    spoken = [
        _sentence("holdings", language, one=total == 1, month=month, count=_count(total, language)),
        *(_holding(holding, language) for holding in ranked[:MAX_ITEMS_SPOKEN]),
        *_more("more_holdings", total, language),
    ]
    return tuple(sound for part in spoken for sound in part)


def _holding(holding: Holding, language: Language) -> Utterance:
    return _sentence(
        "holding",
        language,
        one=holding.quantity == 1,
        code=speak_digits(holding.symbol, language),
        quantity=_count(holding.quantity, language),
    )


def _recent_trades(snapshot: AccountSnapshot, language: Language) -> Utterance:
    """Month-on-month changes of holdings as bought / sold; changes of zero are no trade."""
    month = _month(snapshot.period, language)
    changes = [change for change in snapshot.changes if change.delta != 0]
    if not changes:
        return _sentence("no_trades", language, month=month)
    spoken = [
        _sentence("trades", language, month=month),
        *(_change(change, language) for change in changes[:MAX_ITEMS_SPOKEN]),
        *_more("more_trades", len(changes), language),
    ]
    return tuple(sound for part in spoken for sound in part)


def _change(change: HoldingChange, language: Language) -> Utterance:
    shares = abs(change.delta)
    return _sentence(
        "bought" if change.delta > 0 else "sold",
        language,
        one=shares == 1,
        code=speak_digits(change.symbol, language),
        quantity=_count(shares, language),
    )


def _more(name: str, total: int, language: Language) -> Iterator[Utterance]:
    rest = total - MAX_ITEMS_SPOKEN
    if rest > 0:
        yield _sentence(name, language, one=rest == 1, count=_count(rest, language))


# --- What setup renders, and where the runner finds it --------------------------------------


def vocabulary() -> list[tuple[str, Language]]:
    """Every Phrase any utterance of this module can contain, as (text, language) for
    :func:`~callcenter.ivr.prompts.render_all`; sorted, each once."""
    phrases: set[tuple[str, Language]] = {(unit, "zh") for unit in _ZH_NUMBER_UNITS}
    phrases.update((unit, "zh") for unit in (*_ZH_CODE_DIGITS, *_ZH_DATE_UNITS))
    phrases.update((word, "en") for word in _EN_PHRASE_WORDS)
    for language, table in _SENTENCES.items():
        for template in table.values():
            phrases.update((part, language) for part in template if not _SLOT.match(part))
    return sorted(phrases)


def phrase_file(phrase: Phrase, renderer: PromptRenderer) -> Path:
    """The rendered file of a phrase, as ``render_all`` names it in ``renderer.cache_dir`` (the
    instance's prompts folder). Asterisk plays it by this path without ``.wav``, as seen
    inside the sandbox root (``AsteriskInstance.sound_name``)."""
    return renderer.cache_dir / f"{renderer.cache_key(phrase.text, phrase.language)}.wav"
