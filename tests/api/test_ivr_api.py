"""The IVR routes: the flows in service, and a reload that keeps them on any error."""

from __future__ import annotations

import shutil
from pathlib import Path

from callcenter.crm.vocabulary import Role
from callcenter.ivr.registry import FlowRegistry
from callcenter.sandbox.instance import FLOWS_DIR
from tests.api.conftest import Api


def _use_flows(api: Api, folder: Path) -> FlowRegistry:
    folder.mkdir()
    shutil.copy(FLOWS_DIR / "hotline.yaml", folder / "hotline.yaml")
    registry = FlowRegistry(folder, default="hotline")
    api.app.state.runtime.flows = registry
    return registry


async def test_the_flows_in_service_with_their_numbers(api: Api) -> None:
    response = await api.http.get("/api/ivr/flows", headers=api.as_(Role.SUPERVISOR))
    assert response.status_code == 200
    body = response.json()
    assert body["default"] == "hotline"
    [hotline] = body["flows"]
    assert hotline["id"] == "hotline"
    assert hotline["numbers"] == ["95555", "4008895555"]
    assert hotline["file"].endswith("ivr_flows/hotline.yaml")


async def test_a_reload_with_an_error_is_422_naming_it_and_the_flows_stay(
    api: Api, tmp_path: Path
) -> None:
    registry = _use_flows(api, tmp_path / "flows")
    hotline = tmp_path / "flows" / "hotline.yaml"
    hotline.write_text(
        hotline.read_text(encoding="utf-8").replace("next: check_pin", "next: nowhere"), "utf-8"
    )
    response = await api.http.post("/api/ivr/reload", headers=api.as_(Role.ADMIN))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ivr-flows-invalid"
    assert body["detail"]["errors"] == [f"{hotline}:ask_pin:next: unknown node 'nowhere'"]
    assert registry.current.generation == 1


async def test_a_good_reload_moves_the_generation_on(api: Api, tmp_path: Path) -> None:
    registry = _use_flows(api, tmp_path / "flows")
    response = await api.http.post("/api/ivr/reload", headers=api.as_(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    assert response.json()["generation"] == 2
    assert registry.current.generation == 2
