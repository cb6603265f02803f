"""REST routes: interactions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/interactions", tags=["interactions"])
