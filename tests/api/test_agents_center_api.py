"""The desk reads the center's time zone, to show call times in the center's hours."""

from __future__ import annotations

from callcenter.crm.vocabulary import Role
from tests.api.conftest import Api


async def test_the_desk_gets_the_centers_time_zone(api: Api) -> None:
    response = await api.http.get("/api/agents/center", headers=api.as_(Role.AGENT))
    assert response.status_code == 200, response.text
    zone = api.app.state.runtime.settings.business_timezone
    assert response.json() == {"timezone": zone}
    assert zone == "Asia/Shanghai"  # the default, whatever the test machine's own zone
