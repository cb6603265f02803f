"""The dialler's test doubles we own: a clock set at a weekday morning in Shanghai (inside the
default calling hours), and click-to-dial as the PBX does it, minus the phones (an outbound
interaction per call)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.persistence.db import Database
from tests.support.crm_data import add_interaction

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class Clock:
    now: dt.datetime = MONDAY_10

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Dialled:
    call_id: str
    interaction_id: int


@dataclass
class FakeDialler:
    """Click-to-dial as the PBX does it: an outbound interaction per call."""

    db: Database
    calls: list[tuple[int, str, int | None]] = field(default_factory=list)

    async def dial(self, agent_id: int, number: str, client_id: int | None = None) -> Dialled:
        self.calls.append((agent_id, number, client_id))
        interaction_id = await add_interaction(self.db, client_id)
        return Dialled(f"out-{len(self.calls)}", interaction_id)
