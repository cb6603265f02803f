"""REST routes: clients."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/clients", tags=["clients"])
