"""REST routes: complaints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/complaints", tags=["complaints"])
