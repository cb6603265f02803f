"""The API's common behaviour: OpenAPI, who is acting, error bodies."""

from __future__ import annotations

from callcenter.events import QueueChanged
from tests.api.conftest import Api


async def test_openapi_document_is_served(api: Api) -> None:
    doc = (await api.http.get("/openapi.json")).json()
    assert doc["info"]["title"] == "callcenter"


async def test_health_without_a_pbx_says_disabled(api: Api) -> None:
    health = (await api.http.get("/health")).json()
    assert health["ami"] == "disabled"
    assert health["status"] == "ok"
    assert (health["cti_events_lost"], health["floor_events_lost"]) == (0, 0)


async def test_health_counts_the_events_the_hub_and_the_wallboard_fell_behind_on(
    api: Api,
) -> None:
    runtime = api.app.state.runtime
    bus = runtime.events
    # More events in one go than the subscriptions hold (publish never waits): the oldest
    # are dropped, as when the hub falls behind a flood.
    for n in range(10_005):
        bus.publish(QueueChanged(queue=f"q{n}"))
    health = (await api.http.get("/health")).json()
    assert health["cti_events_lost"] >= 5
    assert health["floor_events_lost"] >= 5
