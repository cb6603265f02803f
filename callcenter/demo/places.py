"""Demo places: the brokerage's ten branches (营业部), their cities, districts and streets.

Districts carry their real administrative region codes (the first six digits of a resident ID
issued there) and cities their real area codes, so a client's ID number, landline and address
agree with each other and with the branch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    name_en: str
    region_code: str  # GB/T 2260, the start of a resident ID issued here
    streets: tuple[tuple[str, str], ...]  # (name, English name)


@dataclass(frozen=True)
class City:
    name: str  # 上海市
    name_en: str
    area_code: str  # without the trunk 0: 21 for Shanghai
    districts: tuple[District, ...]


@dataclass(frozen=True)
class BranchProfile:
    code: str
    number: str  # four digits, the start of every account number opened here
    name: str
    name_en: str
    city: City
    weight: int  # share of the brokerage's clients
    advisors: int


def _d(name: str, code: str, *streets: str) -> District:
    """A district from "中文/English" pairs, to keep the tables below readable."""
    zh, en = name.split("/")
    return District(zh, en, code, tuple(_pair(street) for street in streets))


def _pair(text: str) -> tuple[str, str]:
    zh, en = text.split("/")
    return zh, en


BEIJING = City("北京市", "Beijing", "10", (
    _d("西城区/Xicheng", "110102", "金融大街/Financial Street", "西单北大街/Xidan North Street"),
    _d("海淀区/Haidian", "110108", "中关村大街/Zhongguancun Street", "学院路/Xueyuan Road"),
    _d("朝阳区/Chaoyang", "110105", "建国路/Jianguo Road", "朝阳北路/Chaoyang North Road"),
))  # fmt: skip
SHANGHAI = City("上海市", "Shanghai", "21", (
    _d("浦东新区/Pudong", "310115", "世纪大道/Century Avenue", "陆家嘴环路/Lujiazui Ring Road"),
    _d("徐汇区/Xuhui", "310104", "漕溪北路/North Caoxi Road", "肇嘉浜路/Zhaojiabang Road"),
    _d("静安区/Jing'an", "310106", "南京西路/West Nanjing Road", "延安中路/Middle Yan'an Road"),
))  # fmt: skip
SHENZHEN = City("深圳市", "Shenzhen", "755", (
    _d("福田区/Futian", "440304", "深南大道/Shennan Avenue", "福华路/Fuhua Road"),
    _d("南山区/Nanshan", "440305", "科技园路/Science Park Road", "后海大道/Houhai Avenue"),
))  # fmt: skip
GUANGZHOU = City("广州市", "Guangzhou", "20", (
    _d("天河区/Tianhe", "440106", "天河路/Tianhe Road", "花城大道/Huacheng Avenue"),
    _d("越秀区/Yuexiu", "440104", "环市东路/Huanshi East Road", "中山五路/Zhongshan 5th Road"),
))  # fmt: skip
HANGZHOU = City("杭州市", "Hangzhou", "571", (
    _d("西湖区/Xihu", "330106", "文三路/Wensan Road", "天目山路/Tianmushan Road"),
    _d("上城区/Shangcheng", "330102", "延安路/Yan'an Road", "解放路/Jiefang Road"),
))  # fmt: skip
NANJING = City("南京市", "Nanjing", "25", (
    _d("玄武区/Xuanwu", "320102", "中山路/Zhongshan Road", "北京东路/East Beijing Road"),
    _d("鼓楼区/Gulou", "320106", "汉中路/Hanzhong Road", "中山北路/North Zhongshan Road"),
))  # fmt: skip
CHENGDU = City("成都市", "Chengdu", "28", (
    _d("武侯区/Wuhou", "510107", "人民南路/South Renmin Road", "天府大道/Tianfu Avenue"),
    _d("锦江区/Jinjiang", "510104", "春熙路/Chunxi Road", "东大街/East Street"),
))  # fmt: skip
WUHAN = City("武汉市", "Wuhan", "27", (
    _d("武昌区/Wuchang", "420106", "中南路/Zhongnan Road", "中北路/Zhongbei Road"),
    _d("江岸区/Jiang'an", "420102", "解放大道/Jiefang Avenue", "沿江大道/Yanjiang Avenue"),
))  # fmt: skip

BRANCHES: tuple[BranchProfile, ...] = (
    BranchProfile("BJ01", "1101", "北京金融街营业部", "Beijing Financial Street", BEIJING, 14, 8),
    BranchProfile("BJ02", "1102", "北京中关村营业部", "Beijing Zhongguancun", BEIJING, 9, 6),
    BranchProfile("SH01", "3101", "上海陆家嘴营业部", "Shanghai Lujiazui", SHANGHAI, 15, 8),
    BranchProfile("SH02", "3102", "上海徐汇营业部", "Shanghai Xuhui", SHANGHAI, 9, 6),
    BranchProfile("SZ01", "4403", "深圳福田营业部", "Shenzhen Futian", SHENZHEN, 13, 7),
    BranchProfile("GZ01", "4401", "广州天河营业部", "Guangzhou Tianhe", GUANGZHOU, 10, 6),
    BranchProfile("HZ01", "3301", "杭州西湖营业部", "Hangzhou Xihu", HANGZHOU, 9, 5),
    BranchProfile("NJ01", "3201", "南京新街口营业部", "Nanjing Xinjiekou", NANJING, 7, 5),
    BranchProfile("CD01", "5101", "成都天府营业部", "Chengdu Tianfu", CHENGDU, 8, 5),
    BranchProfile("WH01", "4201", "武汉中南路营业部", "Wuhan Zhongnan Road", WUHAN, 6, 4),
)

# Where clients who moved to a branch's city were born (their ID's region code).
HOMETOWN_REGIONS = (
    "130102", "370102", "410105", "430102", "350203", "210102", "500103", "340104",
    "360102", "450103", "610113", "120101", "220102", "140105", "530102", "620102",
)  # fmt: skip


@dataclass(frozen=True)
class Address:
    text: str
    district: District


def street_address(rng: random.Random, city: City, english: bool) -> Address:
    district = rng.choice(city.districts)
    street, street_en = rng.choice(district.streets)
    number, building, floor = rng.randrange(1, 999), rng.randrange(1, 30), rng.randrange(1, 33)
    room = floor * 100 + rng.randrange(1, 12)
    if english:
        text = (
            f"Room {room}, Building {building}, {number} {street_en}, "
            f"{district.name_en} District, {city.name_en}"
        )
    else:
        text = f"{city.name}{district.name}{street}{number}号{building}栋{room}室"
    return Address(text, district)
