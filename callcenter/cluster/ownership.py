"""One call owner at a time (issue 21, point 3; docs/scaling.md).

Every instance of a cluster runs this loop on its own database connection: it writes its
heartbeat every ``beat`` seconds and, while a standby, asks for the call-owner lease at each
beat. The one that gets it takes over: it starts the PBX part (the AMI client, the link, the
ACD, the dialler, the timers, the desk watch), which adopts the calls in progress as a
restart does (callcenter/pbx/adoption.py). A standby learns from the heartbeats where the
owner is, to forward the API to it.

Fencing: an owner whose lease connection fails or stops answering steps down at once (the
PBX part is stopped: the AMI connection is closed, so nothing more is sent to Asterisk) and
the loop raises, which ends the process (``callcenter serve`` exits non-zero; its supervisor
starts it again, as a standby). Rebuilding every PBX object in place would be a second way to
start; a fresh process is the one that is tested.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from callcenter.cluster.desks import ClusterDesks
from callcenter.cluster.model import Coordination, LeaseLost, Peer, Role

log = logging.getLogger(__name__)


class CallOwnership:
    def __init__(
        self,
        coordination: Coordination,
        desks: ClusterDesks,
        *,
        instance_id: str,
        internal_url: str,
        beat: float,
        take_over: Callable[[dt.datetime], Awaitable[None]],
        step_down: Callable[[], Awaitable[None]],
    ) -> None:
        self._coordination = coordination
        self.desks = desks
        self.instance_id = instance_id
        self.internal_url = internal_url
        self.beat = beat
        self._take_over = take_over  # starts the PBX part; given the time the lease was taken
        self._step_down = step_down  # stops it
        self.role = Role.STANDBY
        self.owner_url: str | None = None  # where the API goes (a standby's view)
        self.owner_since: dt.datetime | None = None
        self.peers: list[Peer] = []
        self.ready_seconds: float | None = None  # from taking the lease to driving calls

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    async def run(self) -> None:
        """Beat, and take the lease when it is free; until cancelled. Raises
        :class:`LeaseLost` once an owner lost its lease (after stepping down)."""
        while True:
            try:
                await self._coordination.connect()
                await self._follow()
            except LeaseLost as exc:
                if self.is_owner:
                    log.critical(
                        "instance %s: the call-owner lease is lost (%s): stepping down",
                        self.instance_id,
                        exc,
                    )
                    await self._step_down()
                    self.role, self.owner_url = Role.STANDBY, None
                    raise
                log.warning("instance %s (standby): %s; trying again", self.instance_id, exc)
            finally:
                await self._coordination.close()
            self.owner_url = None
            await asyncio.sleep(self.beat)

    async def _follow(self) -> None:
        while True:
            if not self.is_owner and await self._coordination.try_lease():
                await self._become_owner()
            peers = await self._coordination.beat(self.role, self.desks.local_users())
            self._seen(peers)
            await asyncio.sleep(self.beat)

    async def _become_owner(self) -> None:
        at = dt.datetime.now(dt.UTC)
        self.role = Role.OWNER
        self.owner_since = at
        self.owner_url = self.internal_url
        log.warning(
            "instance %s took the call-owner lease: starting the PBX part", self.instance_id
        )
        # Told first, so that the standbys forward the API here from the next beat on.
        self._seen(await self._coordination.beat(self.role, self.desks.local_users()))
        await self._take_over(at)

    def _seen(self, peers: list[Peer]) -> None:
        self.peers = peers
        if self.is_owner:
            # Another row still saying "owner" is the previous owner's, dead or fenced: its
            # desks are reconnecting elsewhere, and counting them until its row goes stale
            # would give their agents the short grace instead of the desk watch's first one.
            self.desks.peers(peer for peer in peers if peer.role is Role.STANDBY)
            return
        # Newest heartbeat first: a killed owner's row stays until it goes stale, and the
        # instance that took over from it beats after it.
        owners = [peer for peer in peers if peer.role is Role.OWNER]
        self.owner_url = owners[0].internal_url if owners else None
