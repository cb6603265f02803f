"""REST routes: follow ups."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])
