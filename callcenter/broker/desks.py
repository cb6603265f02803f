"""Which users have a desk open on the other instances, as each instance says of itself on
the broker (callcenter/broker/nats_link.py). Pure: the clock is handed in.

The call owner's ACD rings an agent's phone once the pop is on one of the agent's desks
(callcenter/cti/hub.py pop_out). With several instances the desk may be open on another one:
the owner must then wait for that desk's word that the pop reached it, and must know that there
is such a desk, or a pop for an agent with no desk anywhere would wait its whole time limit
before every ring. Each instance says who has a desk open on it every few seconds and at
every change; a word not renewed within three periods is forgotten, so a killed instance's
desks stop holding up rings after that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from callcenter.events import CallOffered, Envelope

MISSED_WORDS = 3  # a word unrenewed for this many periods is forgotten


@dataclass(frozen=True)
class _Word:
    users: frozenset[int]
    until: float  # monotonic


class RemoteDesks:
    """The hub's :class:`~callcenter.cti.hub.DesksElsewhere`: the other instances' desks,
    and the way back to a pop's origin (``tell_origin``, the link's publisher)."""

    def __init__(
        self,
        tell_origin: Callable[[Envelope[CallOffered]], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tell_origin = tell_origin
        self._clock = clock
        self._words: dict[str, _Word] = {}

    def heard(self, origin: str, users: Iterable[int], period: float) -> None:
        """``origin`` says these users have a desk open on it; it says so again within
        ``period`` seconds."""
        self._words[origin] = _Word(frozenset(users), self._clock() + period * MISSED_WORDS)

    def gone(self, origin: str) -> None:
        self._words.pop(origin, None)

    def open_elsewhere(self, user_id: int) -> bool:
        now = self._clock()
        for origin, word in list(self._words.items()):
            if word.until < now:
                del self._words[origin]
            elif user_id in word.users:
                return True
        return False

    def pop_written(self, offer: Envelope[CallOffered]) -> None:
        self._tell_origin(offer)

    @property
    def instances(self) -> int:
        """Other instances heard from lately."""
        now = self._clock()
        return sum(1 for word in self._words.values() if word.until >= now)
