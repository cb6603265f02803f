"""Which users have a desk open anywhere in the cluster, for the owner's desk watch.

A desk's websocket may be open on any instance; the desk watch (callcenter/cti/desk_watch.py)
runs on the call owner alone, since it changes agents' states. Each instance counts its own
sockets (the hub tells it, as it tells the desk watch on one machine) and writes the users
with a desk open into its heartbeat row; the owner merges those with its own and tells its
desk watch when a user's first desk anywhere opens and their last one closes. An instance
that stops beating (killed) counts as having no desk open, so its agents' grace starts then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from callcenter.cluster.model import Peer


class DeskCounter(Protocol):
    """Told when a user's first desk opens and their last one closes (DeskWatch)."""

    def opened(self, user_id: int) -> None: ...

    def closed(self, user_id: int) -> None: ...


class ClusterDesks:
    """The hub's presence port on an instance of a cluster."""

    def __init__(self) -> None:
        self._local: dict[int, int] = {}  # user id -> sockets open on this instance
        self._remote: dict[str, frozenset[int]] = {}  # instance id -> users with a desk there
        self._watch: DeskCounter | None = None
        self._told: set[int] = set()  # users the watch was told have a desk open

    # --- told by this instance's hub -------------------------------------------------------

    def opened(self, user_id: int) -> None:
        self._local[user_id] = self._local.get(user_id, 0) + 1
        self._sync()

    def closed(self, user_id: int) -> None:
        left = self._local.get(user_id, 0) - 1
        if left > 0:
            self._local[user_id] = left
        else:
            self._local.pop(user_id, None)
        self._sync()

    def local_users(self) -> frozenset[int]:
        return frozenset(self._local)

    # --- the owner's side ------------------------------------------------------------------

    def attach(self, watch: DeskCounter) -> None:
        """This instance became the owner: its desk watch learns every desk open now."""
        self._watch = watch
        self._told = set()
        self._sync()

    def peers(self, peers: Iterable[Peer]) -> None:
        """The other instances' open desks, as their fresh heartbeats say."""
        self._remote = {peer.instance_id: peer.desks for peer in peers}
        self._sync()

    def everywhere(self) -> set[int]:
        users = set(self._local)
        for desks in self._remote.values():
            users |= desks
        return users

    def _sync(self) -> None:
        if self._watch is None:
            return
        now = self.everywhere()
        for user_id in sorted(now - self._told):
            self._watch.opened(user_id)
        for user_id in sorted(self._told - now):
            self._watch.closed(user_id)
        self._told = now
