"""The CRM's view of storage: small Protocols that the persistence adapter implements.

The domain never imports SQLAlchemy; services receive a :class:`Transactions` and run their
checks and changes inside one unit of work (``read()`` or ``write()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from callcenter.crm.scopes import DataScope
from callcenter.errors import InvalidInput

TxT_co = TypeVar("TxT_co", covariant=True)
ItemT = TypeVar("ItemT")

MAX_PAGE = 100  # the most rows one request may list


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    """One page of a list. Stores fetch ``limit + 1`` rows: the extra one only says whether
    there is a next page (cheaper than counting every match)."""

    items: tuple[ItemT, ...]
    limit: int
    offset: int
    has_more: bool

    @classmethod
    def of(cls, rows: list[ItemT], limit: int, offset: int) -> Page[ItemT]:
        return cls(tuple(rows[:limit]), limit, offset, has_more=len(rows) > limit)


class Transactions(Protocol[TxT_co]):
    """Opens units of work. ``write()`` commits at the end or rolls back everything it did;
    its reads are safe for read-then-write (the rows read stay locked until the commit)."""

    def read(self) -> AbstractAsyncContextManager[TxT_co]: ...

    def write(self) -> AbstractAsyncContextManager[TxT_co]: ...


@dataclass(frozen=True)
class AuditRecord:
    """One line of the append-only audit log: who did what to which client, for which call."""

    actor_id: int | None
    action: str
    client_id: int | None = None
    interaction_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class AuditTrail(Protocol):
    async def record(self, entry: AuditRecord) -> None: ...


class References(Protocol):
    """Existence checks for ids that arrive in a request body or query."""

    async def client_exists(self, client_id: int) -> bool: ...

    async def user_exists(self, user_id: int) -> bool: ...

    async def interaction_exists(self, interaction_id: int) -> bool: ...

    async def client_visible(self, client_id: int, scope: DataScope) -> bool: ...


class UnknownClient(InvalidInput):
    error_id = "unknown-client"


class UnknownUser(InvalidInput):
    error_id = "unknown-user"


class UnknownInteraction(InvalidInput):
    error_id = "unknown-interaction"


async def require_references(
    refs: References,
    *,
    client_id: int | None = None,
    user_ids: Mapping[str, int | None] | None = None,
    interaction_id: int | None = None,
) -> None:
    """Refuse ids that name nothing (a 422 that names the field, rather than a foreign-key
    failure at commit). ``user_ids`` maps the request's field name to the user id."""
    if client_id is not None and not await refs.client_exists(client_id):
        raise UnknownClient(f"no client {client_id}", field="client_id")
    for field_name, user_id in (user_ids or {}).items():
        if user_id is not None and not await refs.user_exists(user_id):
            raise UnknownUser(f"no user {user_id}", field=field_name)
    if interaction_id is not None and not await refs.interaction_exists(interaction_id):
        raise UnknownInteraction(f"no interaction {interaction_id}", field="interaction_id")
