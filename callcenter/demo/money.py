"""Demo money: a year of monthly account figures per client and their A-share positions.

The shape matters more than the numbers: brokerage revenue is concentrated (about 20% of
clients bring about 80% of commission), so assets are lognormal with a heavy tail, a quarter of
accounts are dormant, and turnover varies by client. A simple closed form gets there:
for a lognormal with log-spread s, the top 20% hold a share 1 - Phi(0.84 - s); commission's
log-spread is about sqrt(1.5**2 + 0.7**2) = 1.66, plus the dormant accounts.

Tiers and value classes are not decided here: the demo applies the project's own rules
(callcenter.crm.tiers, callcenter.crm.segmentation) to these figures.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

FEN_PER_YUAN = 100

# A client whose trading fades: turnover in the last three months against the year's level,
# a fall the segmentation's month-on-month "declining" test sees.
_FADE = (0.8, 0.6, 0.35)


@dataclass(frozen=True)
class Stock:
    symbol: str
    name: str
    price_fen: int  # a typical price; months move it with the market


STOCKS: tuple[Stock, ...] = tuple(
    Stock(symbol, name, round(price * FEN_PER_YUAN))
    for symbol, name, price in (
        ("600519", "贵州茅台", 1520.0), ("601318", "中国平安", 48.6), ("600036", "招商银行", 35.2),
        ("000858", "五粮液", 142.5), ("000333", "美的集团", 68.9), ("300750", "宁德时代", 198.4),
        ("601012", "隆基绿能", 19.8), ("600276", "恒瑞医药", 45.3), ("000001", "平安银行", 11.2),
        ("601166", "兴业银行", 17.6), ("600030", "中信证券", 24.1), ("002594", "比亚迪", 245.0),
        ("600900", "长江电力", 28.7), ("601398", "工商银行", 5.6), ("601288", "农业银行", 4.3),
        ("601988", "中国银行", 4.6), ("601857", "中国石油", 8.4), ("600028", "中国石化", 6.2),
        ("000002", "万科A", 8.9), ("600887", "伊利股份", 27.4), ("000651", "格力电器", 39.8),
        ("002415", "海康威视", 31.5), ("300059", "东方财富", 15.8), ("600309", "万华化学", 82.6),
        ("601888", "中国中免", 72.3), ("000568", "泸州老窖", 168.0), ("600048", "保利发展", 9.7),
        ("601668", "中国建筑", 5.5), ("600104", "上汽集团", 14.6), ("601899", "紫金矿业", 16.2),
        ("600585", "海螺水泥", 24.3), ("002475", "立讯精密", 33.1), ("300760", "迈瑞医疗", 268.0),
        ("603259", "药明康德", 52.4), ("600050", "中国联通", 4.9), ("601728", "中国电信", 6.3),
        ("600941", "中国移动", 104.0), ("688981", "中芯国际", 58.2), ("688111", "金山办公", 265.0),
        ("300015", "爱尔眼科", 13.4), ("002304", "洋河股份", 95.6), ("600690", "海尔智家", 26.8),
        ("601919", "中远海控", 13.9), ("600438", "通威股份", 21.5), ("002714", "牧原股份", 41.2),
        ("000725", "京东方A", 4.2), ("601601", "中国太保", 29.6), ("601628", "中国人寿", 33.8),
        ("600000", "浦发银行", 7.8), ("601328", "交通银行", 6.4), ("000063", "中兴通讯", 27.9),
        ("002230", "科大讯飞", 46.3), ("601138", "工业富联", 21.7), ("300124", "汇川技术", 58.9),
        ("600031", "三一重工", 16.4), ("601225", "陕西煤业", 23.8), ("600111", "北方稀土", 19.6),
        ("300274", "阳光电源", 74.5), ("601633", "长城汽车", 24.9),
    )
)  # fmt: skip


def month_starts(as_of: dt.date, count: int = 12) -> list[dt.date]:
    """The first days of the ``count`` complete months before ``as_of``, oldest first."""
    year, month = as_of.year, as_of.month
    periods = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        periods.append(dt.date(year, month, 1))
    return periods[::-1]


@dataclass(frozen=True)
class Market:
    """The whole market's path over the window: an index level per month (1.0 at the latest
    month) and each stock's price per month."""

    levels: tuple[float, ...]
    prices_fen: dict[str, tuple[int, ...]]

    @classmethod
    def simulate(cls, rng: random.Random, months: int) -> Market:
        levels = [1.0]
        for _ in range(months - 1):
            levels.append(levels[-1] * math.exp(rng.gauss(0.0, 0.06)))
        levels.reverse()  # the walk started from the latest month, at 1.0
        prices = {}
        for stock in STOCKS:
            beta, own = rng.uniform(0.6, 1.4), 1.0
            path = []
            for level in levels:
                own *= math.exp(rng.gauss(0.0, 0.04))
                path.append(max(1, round(stock.price_fen * level**beta * own)))
            prices[stock.symbol] = tuple(path)
        return cls(tuple(levels), prices)


@dataclass
class AccountYear:
    """One client's months in the window: parallel lists, oldest first."""

    periods: list[dt.date] = field(default_factory=list)
    assets_fen: list[int] = field(default_factory=list)
    turnover_fen: list[int] = field(default_factory=list)
    commission_fen: list[int] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)  # JSON text, see _positions_json

    @property
    def latest_assets_fen(self) -> int:
        return self.assets_fen[-1] if self.assets_fen else 0


@dataclass(frozen=True)
class Investor:
    """The traits that drive a client's figures, drawn once per client."""

    assets_fen: int  # at the latest month
    monthly_turnover_ratio: float  # trading volume / assets; 0 for a dormant account
    commission_rate: float
    declining: bool  # trading fades in the last months (value class "declining")
    holdings: tuple[tuple[Stock, float], ...]  # stocks and their share of the equity part
    equity_share: float


def draw_investor(rng: random.Random) -> Investor:
    assets_yuan = min(rng.lognormvariate(math.log(60_000), 1.5), 800_000_000.0)
    dormant = rng.random() < 0.22
    ratio = 0.0 if dormant else min(rng.lognormvariate(math.log(0.5), 0.7), 12.0)
    # Large accounts negotiate their commission down: 万2 for the richest, up to 万8.
    if assets_yuan >= 2_000_000:
        rate = 0.0002
    elif assets_yuan >= 500_000:
        rate = 0.0003
    else:
        rate = rng.choice((0.0003, 0.0005, 0.0006, 0.0008))
    count = min(len(STOCKS), 1 + int(math.log10(max(assets_yuan, 10.0)) - 3) + rng.randrange(3))
    picks = rng.sample(STOCKS, max(1, count))
    weights = [rng.random() + 0.2 for _ in picks]
    total = sum(weights)
    return Investor(
        assets_fen=max(100_00, round(assets_yuan * FEN_PER_YUAN)),
        monthly_turnover_ratio=ratio,
        commission_rate=rate,
        declining=not dormant and rng.random() < 0.12,
        holdings=tuple((s, w / total) for s, w in zip(picks, weights, strict=True)),
        equity_share=rng.uniform(0.4, 0.95),
    )


def account_year(
    rng: random.Random,
    investor: Investor,
    market: Market,
    window: Sequence[dt.date],
    *,
    opened_on: dt.date,
    closed_on: dt.date | None,
    with_positions: bool,
) -> AccountYear:
    """The client's months in ``window``: from the month of opening to the month of closing;
    the closing month shows the account emptied."""
    last = len(window) - 1
    # The client's own drift, walked back from the latest month, where assets are known.
    drifts = [1.0] * len(window)
    for index in range(last - 1, -1, -1):
        drifts[index] = drifts[index + 1] * math.exp(rng.gauss(0.0, 0.05))
    opened_month = opened_on.replace(day=1)
    closed_month = closed_on.replace(day=1) if closed_on is not None else None
    held = [
        (_POSITION_HEAD[stock.symbol], market.prices_fen[stock.symbol], share)
        for stock, share in investor.holdings
    ]
    year = AccountYear()
    for index, period in enumerate(window):
        if period < opened_month or (closed_month is not None and period > closed_month):
            continue
        level = market.levels[index] * drifts[index]
        closing = period == closed_month
        assets = 0 if closing else round(investor.assets_fen * level)
        fade = _FADE[index - last - 1] if investor.declining and index > last - 3 else 1.0
        # A closing month sells everything: the trading is the whole account's worth.
        traded = investor.assets_fen * level * investor.monthly_turnover_ratio
        turnover = round(traded * fade * rng.uniform(0.8, 1.2))
        year.periods.append(period)
        year.assets_fen.append(assets)
        year.turnover_fen.append(turnover)
        year.commission_fen.append(round(turnover * investor.commission_rate))
        if with_positions:
            year.positions.append(_positions_json(held, index, assets * investor.equity_share))
    return year


# The start of each stock's position as JSON, up to its quantity.
_POSITION_HEAD = {
    stock.symbol: json.dumps({"symbol": stock.symbol, "name": stock.name})[:-1] + ', "quantity": '
    for stock in STOCKS
}


def _positions_json(
    held: Sequence[tuple[str, Sequence[int], float]], month: int, equity: float
) -> str:
    """The month's positions as JSON text, exactly as ``json.dumps`` writes the list of
    ``{"symbol", "name", "quantity", "value_fen"}`` (built from pieces: a million summaries
    would otherwise spend more time in json.dumps than in everything else)."""
    parts = []
    for head, prices, share in held:
        price = prices[month]
        lots = int(equity * share / (price * 100))  # A-shares trade in lots of 100
        if lots > 0:
            quantity = lots * 100
            parts.append(f'{head}{quantity}, "value_fen": {quantity * price}}}')
    return "[" + ", ".join(parts) + "]"
