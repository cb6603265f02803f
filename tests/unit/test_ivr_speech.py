"""Numbers, money and account facts as rows of prerecorded sounds (no synthesis in a call)."""

# Chinese text takes full-width commas, which RUF001 flags as look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.ivr.account import AccountSnapshot, Holding, HoldingChange
from callcenter.ivr.flow import SelfServiceKind
from callcenter.ivr.prompts import Language, PromptRenderer, render_all, say_amount, say_integer
from callcenter.ivr.speech import (
    EN_CORE_SOUNDS,
    MAX_ITEMS_SPOKEN,
    CoreSound,
    Phrase,
    Utterance,
    phrase_file,
    speak_amount,
    speak_digits,
    speak_integer,
    speak_self_service,
    vocabulary,
)

MARCH_2024 = dt.date(2024, 3, 1)
EN_LIMIT = 10**15  # say_integer's English range; Mandarin goes to 10**16
ZH_LIMIT = 10**16


def said(utterance: Utterance) -> str:
    """An utterance as a readable line: phrases as text, core sounds as <name>."""
    return " ".join(s.text if isinstance(s, Phrase) else f"<{s.name}>" for s in utterance)


def snapshot(
    holdings: tuple[Holding, ...] = (), changes: tuple[HoldingChange, ...] = ()
) -> AccountSnapshot:
    return AccountSnapshot(MARCH_2024, 1_234_567, holdings, changes)


# --- the core sounds relied on ---------------------------------------------------------------


def test_the_english_core_sounds_relied_on_are_exactly_these() -> None:
    # Each must exist in Debian's asterisk-core-sounds-en (tests/integration checks the real
    # root); a new name here is a deliberate change.
    expected = {
        *(f"digits/{n}" for n in range(21)),
        *(f"digits/{n}" for n in range(30, 100, 10)),
        "digits/hundred",
        "digits/thousand",
        "digits/million",
        "digits/billion",
        "digits/minus",
        *(f"digits/mon-{m}" for m in range(12)),
        "vm-and",
    }
    assert expected == EN_CORE_SOUNDS


# --- numbers and money -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "en"),
    [
        (0, "<digits/0>"),
        (7, "<digits/7>"),
        (45, "<digits/40> <digits/5>"),
        (115, "<digits/1> <digits/hundred> <digits/15>"),
        (2024, "<digits/2> <digits/thousand> <digits/20> <digits/4>"),
        (3_000_000_000, "<digits/3> <digits/billion>"),
        (-7, "<digits/minus> <digits/7>"),
        (10**12 + 1, "<digits/1> trillion <digits/1>"),
    ],
)
def test_english_numbers_are_core_sounds(number: int, en: str) -> None:
    assert said(speak_integer(number, "en")) == en


@pytest.mark.parametrize(
    ("number", "zh"),
    [
        (0, "零"),
        (12, "十 二"),
        (20000, "两 万"),
        (10010, "一 万 零 一 十"),
        (-42, "负 四 十 二"),
    ],
)
def test_mandarin_numbers_are_one_phrase_per_character(number: int, zh: str) -> None:
    utterance = speak_integer(number, "zh")
    assert said(utterance) == zh
    assert all(isinstance(s, Phrase) and s.language == "zh" for s in utterance)


@pytest.mark.parametrize(
    ("fen", "zh", "en"),
    [
        (105, "人民币 一 元 零 五 分", "<digits/1> yuan <vm-and> <digits/5> fen"),
        (67, "人民币 六 角 七 分", "<digits/60> <digits/7> fen"),
        (200, "人民币 二 元", "<digits/2> yuan"),
        (
            -1050,
            "人民币 负 十 元 五 角",
            "<digits/minus> <digits/10> yuan <vm-and> <digits/50> fen",
        ),
    ],
)
def test_amounts_are_spoken_in_fragments(fen: int, zh: str, en: str) -> None:
    assert said(speak_amount(fen, "zh")) == zh
    assert said(speak_amount(fen, "en")) == en


def test_codes_are_read_digit_by_digit_with_yao_for_one_in_mandarin() -> None:
    assert said(speak_digits("600519", "zh")) == "六 零 零 五 幺 九"
    assert said(speak_digits("600519", "en")) == (
        "<digits/6> <digits/0> <digits/0> <digits/5> <digits/1> <digits/9>"
    )
    assert speak_digits("", "en") == ()


@pytest.mark.parametrize("code", ["60051X", "600 519", "６００５１９"])
def test_a_code_with_anything_but_ascii_digits_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="only digits"):
        speak_digits(code, "zh")


# --- self-service sentences --------------------------------------------------------------------


@pytest.mark.parametrize("what", ["balance", "positions", "recent_trades"])
def test_without_a_snapshot_the_caller_hears_that_no_data_is_available(
    what: SelfServiceKind,
) -> None:
    assert said(speak_self_service(what, None, "zh")) == "抱歉，暂时查询不到您的账户资料。"
    assert said(speak_self_service(what, None, "en")) == (
        "Sorry, your account information is not available right now."
    )


def test_balance_says_the_month_and_the_total_assets() -> None:
    assert said(speak_self_service("balance", snapshot(), "zh")) == (
        "截至 二 零 二 四 年 三 月 您的总资产为 人民币 一 万 二 千 三 百 四 十 五 元 六 角 七 分"
    )
    assert said(speak_self_service("balance", snapshot(), "en")) == (
        "As of <digits/mon-2> <digits/2> <digits/thousand> <digits/20> <digits/4> "
        "your total assets are <digits/12> <digits/thousand> <digits/3> <digits/hundred> "
        "<digits/40> <digits/5> yuan <vm-and> <digits/60> <digits/7> fen"
    )


def _holdings(count: int) -> tuple[Holding, ...]:
    # Value rises with the index, so the largest holdings are the last ones.
    return tuple(Holding(f"60000{i}", f"股票{i}", 100, (i + 1) * 1000) for i in range(count))


def test_positions_read_the_five_largest_by_value_and_count_the_rest() -> None:
    zh = said(speak_self_service("positions", snapshot(_holdings(7)), "zh"))
    month = "截至 二 零 二 四 年 三 月"
    largest = " ".join(f"代码 六 零 零 零 零 {d} 持有 一 百 股。" for d in "六五四三二")
    assert zh == f"{month} 您持有 七 只股票。 {largest} 另有 两 只股票。"


def test_positions_in_english_say_quantity_then_code_and_agree_in_number() -> None:
    one = (Holding("000001", "平安银行", 1, 1000),)
    en = said(speak_self_service("positions", snapshot(one), "en"))
    assert en.endswith(
        "you hold <digits/1> stock. <digits/1> share of "
        "<digits/0> <digits/0> <digits/0> <digits/0> <digits/0> <digits/1>"
    )
    six = said(speak_self_service("positions", snapshot(_holdings(6)), "en"))
    assert "you hold <digits/6> stocks." in six
    assert six.endswith("Plus <digits/1> more stock.")
    assert six.count("shares of") == MAX_ITEMS_SPOKEN


def test_two_of_something_is_liang_in_mandarin() -> None:
    two = said(speak_self_service("positions", snapshot(_holdings(2)), "zh"))
    assert "您持有 两 只股票。" in two
    sold = (HoldingChange("600519", "贵州茅台", -2),)
    assert "卖出 六 零 零 五 幺 九 两 股。" in said(
        speak_self_service("recent_trades", snapshot(changes=sold), "zh")
    )


def test_no_holdings_is_said_as_such() -> None:
    assert said(speak_self_service("positions", snapshot(), "zh")).endswith("您没有持仓。")
    assert said(speak_self_service("positions", snapshot(), "en")).endswith("you hold no stocks.")


def test_recent_trades_say_bought_and_sold_and_skip_unchanged_holdings() -> None:
    changes = (
        HoldingChange("600519", "贵州茅台", 300),
        HoldingChange("000002", "万科A", 0),
        HoldingChange("000001", "平安银行", -1),
    )
    en = said(speak_self_service("recent_trades", snapshot(changes=changes), "en"))
    assert en == (
        "In <digits/mon-2> <digits/2> <digits/thousand> <digits/20> <digits/4> "
        "you made these trades. "
        "Bought <digits/3> <digits/hundred> shares of "
        "<digits/6> <digits/0> <digits/0> <digits/5> <digits/1> <digits/9> "
        "Sold <digits/1> share of "
        "<digits/0> <digits/0> <digits/0> <digits/0> <digits/0> <digits/1>"
    )
    zh = said(speak_self_service("recent_trades", snapshot(changes=changes), "zh"))
    assert zh == (
        "您在 二 零 二 四 年 三 月 的交易如下。 "
        "买入 六 零 零 五 幺 九 三 百 股。 卖出 零 零 零 零 零 幺 一 股。"
    )


def test_a_month_without_trades_is_said_as_such_and_many_trades_are_counted() -> None:
    unchanged = (HoldingChange("600519", "贵州茅台", 0),)
    assert said(speak_self_service("recent_trades", snapshot(changes=unchanged), "zh")) == (
        "您在 二 零 二 四 年 三 月 没有交易。"
    )
    assert said(speak_self_service("recent_trades", snapshot(), "en")) == (
        "You made no trades in <digits/mon-2> <digits/2> <digits/thousand> <digits/20> <digits/4>"
    )
    many = tuple(HoldingChange(f"60000{i}", "x", 100) for i in range(8))
    zh = said(speak_self_service("recent_trades", snapshot(changes=many), "zh"))
    assert zh.count("买入") == MAX_ITEMS_SPOKEN
    assert zh.endswith("另有 三 笔交易。")


# --- every fragment was rendered at setup: property tests --------------------------------------

LANGUAGES: st.SearchStrategy[Language] = st.sampled_from(["zh", "en"])
CODES = st.text(alphabet="0123456789", min_size=1, max_size=8)
HOLDINGS = st.builds(
    Holding,
    symbol=CODES,
    name=st.just("股票"),
    quantity=st.integers(0, 10**9),
    value_fen=st.integers(0, 10**13),
)
CHANGES = st.builds(
    HoldingChange, symbol=CODES, name=st.just("股票"), delta=st.integers(-(10**9), 10**9)
)
SNAPSHOTS = st.builds(
    AccountSnapshot,
    period=st.dates(dt.date(1990, 1, 1), dt.date(2999, 12, 1)).map(lambda d: d.replace(day=1)),
    total_assets_fen=st.integers(0, 10**16),
    holdings=st.lists(HOLDINGS, max_size=8).map(tuple),
    changes=st.lists(CHANGES, max_size=8).map(tuple),
)
KINDS: st.SearchStrategy[SelfServiceKind] = st.sampled_from(
    ["balance", "positions", "recent_trades"]
)


def assert_prerecorded(utterance: Utterance, language: Language) -> None:
    """Every sound exists before the call: a Phrase of the vocabulary (in the caller's
    language) or, in English, one of the core sounds the module declares."""
    known = set(vocabulary())
    assert utterance
    for sound in utterance:
        if isinstance(sound, Phrase):
            assert (sound.text, sound.language) in known, sound
            assert sound.language == language
        else:
            assert language == "en", f"Mandarin has no core sounds, got {sound}"
            assert sound.name in EN_CORE_SOUNDS, sound


@given(number=st.integers(-(EN_LIMIT - 1), EN_LIMIT - 1), language=LANGUAGES)
def test_every_number_is_prerecorded(number: int, language: Language) -> None:
    assert_prerecorded(speak_integer(number, language), language)


@given(fen=st.integers(-(EN_LIMIT - 1) * 100, EN_LIMIT * 100 - 1), language=LANGUAGES)
def test_every_amount_is_prerecorded(fen: int, language: Language) -> None:
    assert_prerecorded(speak_amount(fen, language), language)


@given(code=st.text(alphabet="0123456789", min_size=1, max_size=20), language=LANGUAGES)
def test_every_code_is_prerecorded(code: str, language: Language) -> None:
    assert_prerecorded(speak_digits(code, language), language)


@given(what=KINDS, account=st.one_of(st.none(), SNAPSHOTS), language=LANGUAGES)
def test_every_self_service_sentence_is_prerecorded(
    what: SelfServiceKind, account: AccountSnapshot | None, language: Language
) -> None:
    assert_prerecorded(speak_self_service(what, account, language), language)


@given(number=st.integers(-(ZH_LIMIT - 1), ZH_LIMIT - 1), fen=st.integers(0, ZH_LIMIT * 100 - 1))
def test_mandarin_fragments_say_exactly_the_words_of_say_integer_and_say_amount(
    number: int, fen: int
) -> None:
    assert "".join(s.text for s in speak_integer(number, "zh") if isinstance(s, Phrase)) == (
        say_integer(number, "zh")
    )
    assert "".join(s.text for s in speak_amount(fen, "zh") if isinstance(s, Phrase)) == (
        say_amount(fen, "zh")
    )


def _en_word(sound: CoreSound | Phrase) -> str:
    if isinstance(sound, Phrase):
        return sound.text
    name = sound.name.removeprefix("digits/")
    if name.isdigit():
        return say_integer(int(name), "en")
    return {"vm-and": "and"}.get(name, name)


@given(fen=st.integers(-(EN_LIMIT - 1) * 100, EN_LIMIT * 100 - 1))
def test_english_fragments_say_exactly_the_words_of_say_amount(fen: int) -> None:
    words = re.split(r"[ -]", say_amount(fen, "en"))
    assert [_en_word(s) for s in speak_amount(fen, "en")] == words


def test_the_vocabulary_is_sorted_distinct_and_every_text_is_speakable() -> None:
    words = vocabulary()
    assert words == sorted(set(words))
    assert all(text.strip() and language in ("zh", "en") for text, language in words)
    assert ("人民币", "zh") in words
    assert ("yuan", "en") in words


# --- where the runner finds a phrase ---------------------------------------------------------


def test_a_phrase_file_is_where_setup_rendered_it(tmp_path: Path) -> None:
    directory = tmp_path / "prompts"
    phrases = [Phrase("人民币", "zh"), Phrase("yuan", "en")]
    report = render_all([(p.text, p.language) for p in phrases], directory)
    renderer = PromptRenderer.detect(directory)
    assert [phrase_file(p, renderer) for p in phrases] == [f.path for f in report.files]
    assert all(phrase_file(p, renderer).is_file() for p in phrases)
