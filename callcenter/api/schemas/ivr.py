"""Shapes of the IVR routes."""

from __future__ import annotations

from pydantic import BaseModel


class FlowOut(BaseModel):
    id: str
    file: str
    description: str
    numbers: list[str]  # called numbers this flow answers
    nodes: int


class FlowsOut(BaseModel):
    generation: int  # goes up by one with every successful reload
    default: str  # the flow for numbers no flow claims
    flows: list[FlowOut]


class ReloadOut(FlowsOut):
    prompts_error: str | None  # the prompt index could not be read
    prompts_missing: list[str]  # texts of the new flows with no rendered prompt yet
