"""Callbacks asked for on the public web site (issue 18, point 1): a visitor leaves a number
and the center calls back, as it does for a caller of the IVR.

The form needs no login, so what it may cost is bounded here: a few requests per address an
hour, a ceiling for everyone together, and one open callback per number (asking again
answers with the callback already booked). The dialler's rules still apply to the call:
a number on the do-not-call list is booked but never dialled.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.errors import RateLimited

WINDOW = dt.timedelta(hours=1)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class WebCallbackLimits:
    """Requests per address and in all, over the last hour."""

    per_address: int = 3
    in_all: int = 200
    clock: Callable[[], dt.datetime] = utcnow
    _by_address: dict[str, deque[dt.datetime]] = field(default_factory=dict)
    _all: deque[dt.datetime] = field(default_factory=deque)

    def take(self, address: str | None) -> None:
        """Count one request from ``address``, or raise RateLimited (with the seconds to wait)
        without counting it."""
        now = self.clock()
        since = now - WINDOW
        self._expire(self._all, since)
        mine = self._by_address.setdefault(address or "unknown", deque())
        self._expire(mine, since)
        for seen, limit in ((mine, self.per_address), (self._all, self.in_all)):
            if len(seen) >= limit:
                wait = (seen[0] + WINDOW - now).total_seconds()
                raise RateLimited(
                    "too many callback requests: try again later",
                    retry_after_seconds=max(1, int(wait) + 1),
                )
        mine.append(now)
        self._all.append(now)
        for key in [k for k, v in self._by_address.items() if not v]:
            del self._by_address[key]

    @staticmethod
    def _expire(seen: deque[dt.datetime], since: dt.datetime) -> None:
        while seen and seen[0] <= since:
            seen.popleft()
