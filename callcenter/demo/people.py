"""Demo people: names with pinyin, resident ID numbers, phones, e-mails and addresses.

Pure functions of a ``random.Random`` and an index; nothing here touches a database. Every
value looks real but is made up:

* mobile numbers use real carrier prefixes (China reserves no fictional range), and each client
  index maps to its own eight-digit suffix through a bijection, so numbers never repeat;
* e-mail addresses live under ``example.com`` (reserved by RFC 2606), so a demo can never
  mail a real person;
* resident ID numbers follow GB 11643 (region, birthday, sequence, mod-11 check digit) with real
  region codes and random sequences.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.crm.vocabulary import IncomeBand, RiskProfile
from callcenter.demo.money import Investor
from callcenter.demo.texts import (
    CLIENT_NOTES_EN,
    CLIENT_NOTES_ZH,
    OCCUPATIONS_EN,
    OCCUPATIONS_ZH,
    RETIRED,
)

# --- names -----------------------------------------------------------------------------------

# (surname, pinyin, weight in tenths of a per mille of the population), most common first.
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "Wang", 720), ("李", "Li", 720), ("张", "Zhang", 680), ("刘", "Liu", 540),
    ("陈", "Chen", 450), ("杨", "Yang", 310), ("黄", "Huang", 220), ("赵", "Zhao", 220),
    ("吴", "Wu", 200), ("周", "Zhou", 190), ("徐", "Xu", 160), ("孙", "Sun", 150),
    ("马", "Ma", 140), ("朱", "Zhu", 130), ("胡", "Hu", 130), ("郭", "Guo", 120),
    ("何", "He", 120), ("高", "Gao", 110), ("林", "Lin", 110), ("罗", "Luo", 100),
    ("郑", "Zheng", 100), ("梁", "Liang", 90), ("谢", "Xie", 80), ("宋", "Song", 70),
    ("唐", "Tang", 70), ("许", "Xu", 70), ("韩", "Han", 70), ("冯", "Feng", 60),
    ("邓", "Deng", 60), ("曹", "Cao", 60), ("彭", "Peng", 60), ("曾", "Zeng", 60),
    ("肖", "Xiao", 50), ("田", "Tian", 50), ("董", "Dong", 50), ("袁", "Yuan", 50),
    ("潘", "Pan", 50), ("于", "Yu", 50), ("蒋", "Jiang", 50), ("蔡", "Cai", 50),
    ("余", "Yu", 50), ("杜", "Du", 50), ("叶", "Ye", 50), ("程", "Cheng", 40),
    ("苏", "Su", 40), ("魏", "Wei", 40), ("吕", "Lyu", 40), ("丁", "Ding", 40),
    ("任", "Ren", 40), ("沈", "Shen", 40), ("姚", "Yao", 40), ("卢", "Lu", 40),
    ("姜", "Jiang", 40), ("崔", "Cui", 40), ("钟", "Zhong", 40), ("谭", "Tan", 40),
    ("陆", "Lu", 40), ("汪", "Wang", 30), ("范", "Fan", 30), ("金", "Jin", 30),
    ("石", "Shi", 30), ("廖", "Liao", 30), ("贾", "Jia", 30), ("夏", "Xia", 30),
    ("韦", "Wei", 30), ("付", "Fu", 30), ("方", "Fang", 30), ("白", "Bai", 30),
    ("邹", "Zou", 30), ("孟", "Meng", 30), ("熊", "Xiong", 30), ("秦", "Qin", 30),
    ("邱", "Qiu", 30), ("江", "Jiang", 30), ("尹", "Yin", 30), ("薛", "Xue", 30),
    ("闫", "Yan", 30), ("段", "Duan", 30), ("雷", "Lei", 30), ("侯", "Hou", 30),
    ("龙", "Long", 30), ("史", "Shi", 30), ("陶", "Tao", 20), ("黎", "Li", 20),
    ("贺", "He", 20), ("顾", "Gu", 20), ("毛", "Mao", 20), ("郝", "Hao", 20),
    ("龚", "Gong", 20), ("邵", "Shao", 20), ("万", "Wan", 20), ("钱", "Qian", 20),
    ("严", "Yan", 20), ("覃", "Qin", 20), ("武", "Wu", 20), ("戴", "Dai", 20),
    ("莫", "Mo", 20), ("孔", "Kong", 20), ("欧阳", "Ouyang", 5), ("司马", "Sima", 2),
    ("上官", "Shangguan", 2), ("诸葛", "Zhuge", 1),
)  # fmt: skip

# Characters common in given names, with pinyin (without tones, as on passports).
GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("明", "ming"),
    ("刚", "gang"), ("平", "ping"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"),
    ("飞", "fei"), ("鑫", "xin"), ("波", "bo"), ("宇", "yu"), ("浩", "hao"),
    ("凯", "kai"), ("健", "jian"), ("俊", "jun"), ("帆", "fan"), ("旭", "xu"),
    ("宁", "ning"), ("龙", "long"), ("林", "lin"), ("建", "jian"), ("国", "guo"),
    ("志", "zhi"), ("文", "wen"), ("博", "bo"), ("昊", "hao"), ("子", "zi"),
    ("轩", "xuan"), ("泽", "ze"), ("晨", "chen"), ("睿", "rui"), ("天", "tian"),
    ("东", "dong"), ("海", "hai"), ("亮", "liang"), ("峰", "feng"), ("成", "cheng"),
    ("永", "yong"), ("德", "de"), ("振", "zhen"), ("家", "jia"), ("安", "an"),
)  # fmt: skip
GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("艳", "yan"), ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"),
    ("英", "ying"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("琳", "lin"),
    ("晶", "jing"), ("燕", "yan"), ("红", "hong"), ("梅", "mei"), ("莉", "li"),
    ("兰", "lan"), ("萍", "ping"), ("颖", "ying"), ("倩", "qian"), ("洁", "jie"),
    ("佳", "jia"), ("欣", "xin"), ("怡", "yi"), ("雨", "yu"), ("思", "si"),
    ("涵", "han"), ("梓", "zi"), ("诗", "shi"), ("琪", "qi"), ("悦", "yue"),
    ("晓", "xiao"), ("月", "yue"), ("彤", "tong"), ("瑶", "yao"), ("薇", "wei"),
    ("蕾", "lei"), ("丹", "dan"), ("春", "chun"), ("文", "wen"), ("玉", "yu"),
    ("安", "an"), ("恩", "en"),
)  # fmt: skip

ENGLISH_MALE = (
    "James", "John", "Robert", "Michael", "David", "William", "Richard", "Thomas", "Daniel",
    "Matthew", "Andrew", "Peter", "Mark", "Paul", "Steven", "George", "Henry", "Oliver",
)  # fmt: skip
ENGLISH_FEMALE = (
    "Mary", "Jennifer", "Linda", "Elizabeth", "Susan", "Sarah", "Karen", "Emma", "Olivia",
    "Sophie", "Laura", "Anna", "Rachel", "Grace", "Emily", "Charlotte", "Alice", "Hannah",
)  # fmt: skip
ENGLISH_SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Clark", "Lewis", "Walker", "Hall", "Allen",
    "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell", "Mitchell", "Roberts", "Schmidt", "Dubois", "Rossi", "Jensen", "Murphy",
)  # fmt: skip

_SURNAME_CUMULATIVE = list(itertools.accumulate(w for _, _, w in SURNAMES))


@dataclass(frozen=True)
class PersonName:
    name: str  # as on the ID: 张伟, or John Smith
    latin: str  # pinyin, surname first (Zhang Wei), or the Latin name itself
    compact: str  # for e-mail addresses: zhangwei, john.smith


def pinyin_given_name(syllables: Sequence[str]) -> str:
    """Join given-name syllables the way passports do: Xiaoming; an apostrophe before a
    syllable that starts with a, o or e (Xi'an, not Xian)."""
    text = syllables[0]
    for syllable in syllables[1:]:
        text += ("'" if syllable[0] in "aoe" else "") + syllable
    return text.capitalize()


def chinese_name(rng: random.Random, female: bool) -> PersonName:
    surname, surname_latin, _ = rng.choices(SURNAMES, cum_weights=_SURNAME_CUMULATIVE)[0]
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    # Most people born after 1980 have two-character given names; one in five has one.
    given = [rng.choice(pool) for _ in range(1 if rng.random() < 0.2 else 2)]
    given_latin = pinyin_given_name([p for _, p in given])
    return PersonName(
        name=surname + "".join(c for c, _ in given),
        latin=f"{surname_latin} {given_latin}",
        compact=(surname_latin + given_latin).lower().replace("'", ""),
    )


def english_name(rng: random.Random, female: bool) -> PersonName:
    first = rng.choice(ENGLISH_FEMALE if female else ENGLISH_MALE)
    last = rng.choice(ENGLISH_SURNAMES)
    return PersonName(name=f"{first} {last}", latin=f"{first} {last}", compact=f"{first}.{last}")


# --- resident ID numbers (GB 11643-1999) -----------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID: ISO 7064 MOD 11-2 over the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("a resident ID check digit needs 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def resident_id_number(region: str, birthday: dt.date, sequence: int) -> str:
    """region (6 digits) + birthday (YYYYMMDD) + sequence (3 digits; odd for men) + check."""
    first17 = f"{region}{birthday:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_digit(first17)


def resident_id_sequence(rng: random.Random, female: bool) -> int:
    """The ID's 3-digit sequence: its last digit is odd for men and even for women."""
    return rng.randrange(0, 500) * 2 + (0 if female else 1)


def passport_number(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
    return f"{letters}{rng.randrange(10**7):07d}"


# --- phones ----------------------------------------------------------------------------------

# Real mainland prefixes of the three carriers; all pass libphonenumber's validity check.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip

# Multipliers coprime with 10**8 and 10**7: index -> suffix is a bijection, so no two client
# indexes ever share a suffix, whatever prefix or area code they drew.
_MOBILE_STRIDE = 61_803_399
_LANDLINE_STRIDE = 7_654_321


def _offset(seed: int, modulus: int) -> int:
    return (seed * 2_654_435_761 + 12_345) % modulus


def mobile_e164(seed: int, index: int, prefix: str) -> str:
    """The mobile number of client ``index`` (unique per index for indexes below 10**8)."""
    suffix = (index * _MOBILE_STRIDE + _offset(seed, 10**8)) % 10**8
    return f"+86{prefix}{suffix:08d}"


def landline_e164(seed: int, index: int, area_code: str, first_digit: int) -> str:
    """A city landline: area code without its trunk 0, then 8 local digits (unique per
    index for indexes below 10**7)."""
    suffix = (index * _LANDLINE_STRIDE + _offset(seed, 10**7)) % 10**7
    return f"+86{area_code}{first_digit}{suffix:07d}"


# Hong Kong and Singapore mobile blocks that libphonenumber knows as fully valid.
_OVERSEAS_MOBILE_BLOCKS = (
    "+85261", "+85263", "+85264", "+85265", "+85294", "+85296", "+85297",
    "+6581", "+6585", "+6588", "+6590", "+6591", "+6596", "+6597",
)  # fmt: skip


def overseas_mobile_e164(seed: int, index: int, rng: random.Random) -> str:
    """A Hong Kong or Singapore mobile, as expatriate clients often keep one (unique per
    index for indexes below 10**6)."""
    suffix = (index * _LANDLINE_STRIDE + _offset(seed, 10**6)) % 10**6
    return f"{rng.choice(_OVERSEAS_MOBILE_BLOCKS)}{suffix:06d}"


# --- e-mail ----------------------------------------------------------------------------------

_MAIL_HOSTS_ZH = ("163.example.com", "qq.example.com", "126.example.com", "sina.example.com")
_MAIL_HOSTS_EN = ("example.com", "example.net", "example.org", "mail.example.com")


def email_address(rng: random.Random, person: PersonName, birthday: dt.date, english: bool) -> str:
    if english:
        return f"{person.compact.lower()}{rng.randrange(100):02d}@{rng.choice(_MAIL_HOSTS_EN)}"
    if rng.random() < 0.3:  # QQ mail: the QQ number is the address
        return f"{rng.randrange(10**5, 10**10)}@qq.example.com"
    suffix = str(birthday.year) if rng.random() < 0.5 else f"{rng.randrange(1000):03d}"
    return f"{person.compact}{suffix}@{rng.choice(_MAIL_HOSTS_ZH)}"


# --- profile traits --------------------------------------------------------------------------


def occupation(rng: random.Random, english: bool, age: int) -> str | None:
    if rng.random() < 0.05:
        return None
    if age >= 60 and rng.random() < 0.8:
        return RETIRED[1] if english else RETIRED[0]
    return rng.choice(OCCUPATIONS_EN if english else OCCUPATIONS_ZH)


def income_band(rng: random.Random, investor: Investor) -> IncomeBand:
    """Yearly income, loosely following wealth; some clients decline to say."""
    if rng.random() < 0.08:
        return IncomeBand.UNDISCLOSED
    level = math.log10(investor.assets_fen / 100) + rng.gauss(0.0, 0.5)
    if level >= 6.5:
        return IncomeBand.OVER_1M
    if level >= 5.6:
        return IncomeBand.FROM_300K_TO_1M
    if level >= 4.6:
        return IncomeBand.FROM_100K_TO_300K
    return IncomeBand.UNDER_100K


def risk_profile(rng: random.Random, investor: Investor, age: int) -> RiskProfile:
    """Suitability follows behaviour: heavy traders and the young lean aggressive."""
    if investor.monthly_turnover_ratio == 0:
        return RiskProfile.CONSERVATIVE if rng.random() < 0.6 else RiskProfile.BALANCED
    score = math.log(investor.monthly_turnover_ratio / 0.5) + (40 - age) / 20 + rng.gauss(0, 0.7)
    if score > 1.4:
        return RiskProfile.SPECULATIVE
    if score > 0.4:
        return RiskProfile.AGGRESSIVE
    if score > -0.7:
        return RiskProfile.BALANCED
    return RiskProfile.CONSERVATIVE


def client_note(rng: random.Random, english: bool) -> str | None:
    if rng.random() >= 0.1:
        return None
    return rng.choice(CLIENT_NOTES_EN if english else CLIENT_NOTES_ZH)
