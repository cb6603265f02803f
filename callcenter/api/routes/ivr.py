"""REST routes: the IVR flows the service answers calls with, and reloading them.

=======  ================  ==================
method   path              roles
=======  ================  ==================
GET      /api/ivr/flows    supervisor, admin
POST     /api/ivr/reload   supervisor, admin
=======  ================  ==================

A reload that finds any error answers 422 with every error (file, node, field) and keeps the
flows in service; calls already in a flow finish in the flow they started in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.api.deps import Managers
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.ivr import FlowOut, FlowsOut, ReloadOut
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.sounds import SoundCatalog, refresh_prompts

router = APIRouter(prefix="/ivr", tags=["ivr"])


def get_registry(request: Request) -> FlowRegistry:
    registry: FlowRegistry = request.app.state.runtime.flows
    return registry


def get_sounds(request: Request) -> SoundCatalog:
    sounds: SoundCatalog = request.app.state.runtime.sounds
    return sounds


RegistryDep = Annotated[FlowRegistry, Depends(get_registry)]
SoundsDep = Annotated[SoundCatalog, Depends(get_sounds)]


def _flows_out(registry: FlowRegistry) -> FlowsOut:
    current = registry.current
    return FlowsOut(
        generation=current.generation,
        default=current.default,
        flows=[
            FlowOut(
                id=flow.id,
                file=current.files[flow.id],
                description=flow.description,
                numbers=list(flow.numbers),
                nodes=len(flow.nodes),
            )
            for flow in sorted(current.flows.values(), key=lambda f: f.id)
        ],
    )


@router.get("/flows", summary="The flows in service")
async def list_flows(_: Managers, registry: RegistryDep) -> FlowsOut:
    return _flows_out(registry)


@router.post(
    "/reload",
    summary="Load the flow folder again",
    responses=errors(422),
)
async def reload_flows(_: Managers, registry: RegistryDep, sounds: SoundsDep) -> ReloadOut:
    registry.reload()  # FlowsInvalid -> 422 with every error; the old flows stay
    missing = refresh_prompts(sounds, registry.current)
    return ReloadOut(
        **_flows_out(registry).model_dump(),
        prompts_error=sounds.error,
        prompts_missing=missing,
    )
