"""The center's day over HTTP (GET /api/reports/today): the report pages' default day is the
center's (Asia/Shanghai), whatever the time zone of the browser asking (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.api.deps import get_clock
from callcenter.crm.vocabulary import Role
from tests.api.conftest import Api


@pytest.mark.parametrize(
    ("now", "day", "month"),
    [
        # 09:00 on 6 December in Los Angeles is 01:00 on the 7th in Beijing.
        (dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.UTC), "2026-12-07", "2026-12"),
        # 23:59 on 30 November in Beijing, 15:59 UTC: still November there.
        (dt.datetime(2026, 11, 30, 15, 59, tzinfo=dt.UTC), "2026-11-30", "2026-11"),
        # 00:00 on 1 January in Beijing, 16:00 UTC on 31 December: a new year there.
        (dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC), "2026-01-01", "2026-01"),
    ],
)
async def test_today_is_the_centers_day_not_utcs(
    api: Api, now: dt.datetime, day: str, month: str
) -> None:
    api.app.dependency_overrides[get_clock] = lambda: lambda: now
    response = await api.http.get("/api/reports/today", headers=api.as_(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    assert response.json() == {"day": day, "month": month, "timezone": "Asia/Shanghai"}


async def test_only_managers_read_the_centers_day(api: Api) -> None:
    response = await api.http.get("/api/reports/today", headers=api.as_(Role.AGENT))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
