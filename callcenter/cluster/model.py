"""What an instance knows of the cluster: its role, its peers, and the port to the lease."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    OWNER = "owner"  # holds the call-owner lease: drives every call
    STANDBY = "standby"  # serves websockets, forwards /api to the owner, waits for the lease


@dataclass(frozen=True)
class Peer:
    """Another instance as its last heartbeat wrote it."""

    instance_id: str
    internal_url: str
    role: Role
    desks: frozenset[int]  # users with a desk open on it


class LeaseLost(Exception):
    """The connection that holds (or waits for) the lease failed: an owner steps down."""


class Coordination(Protocol):
    """The lease and the heartbeats, on one dedicated database connection
    (callcenter/persistence/call_owner.py). Every method raises :class:`LeaseLost` when the
    connection fails or does not answer in time."""

    async def connect(self) -> None: ...

    async def try_lease(self) -> bool:
        """Take the call-owner lease if nobody holds it; True once held (held until the
        connection closes)."""
        ...

    async def beat(self, role: Role, desks: Collection[int]) -> list[Peer]:
        """Write this instance's row (role, open desks, now) and return the other instances
        whose heartbeat is fresh."""
        ...

    async def close(self) -> None: ...
