"""The API's common behaviour: OpenAPI, who is acting, error bodies."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_openapi_document_is_served(api: Api) -> None:
    doc = (await api.http.get("/openapi.json")).json()
    assert doc["info"]["title"] == "callcenter"


async def test_health_without_a_pbx_says_disabled(api: Api) -> None:
    health = (await api.http.get("/health")).json()
    assert health["ami"] == "disabled"
    assert health["status"] == "ok"
