"""What voice self-service may tell a caller about their account: the data, no speech.

Filled by the persistence layer from the latest monthly account summaries; turned into sounds by
:mod:`callcenter.ivr.speech`. Money is in fen, as everywhere in the project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str  # exchange code, six digits for A-shares: 600519
    name: str
    quantity: int
    value_fen: int


@dataclass(frozen=True, slots=True)
class HoldingChange:
    """How a holding moved since the month before: positive bought, negative sold."""

    symbol: str
    name: str
    delta: int


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    period: dt.date  # the month's first day
    total_assets_fen: int
    holdings: tuple[Holding, ...]
    changes: tuple[HoldingChange, ...]  # against the previous month; () when there is none
