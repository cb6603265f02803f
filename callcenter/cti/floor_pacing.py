"""When the wallboard's next ``floor.snapshot`` is due. Pure: times are seconds on a
monotonic clock, handed in.

A change to the floor is pushed: the snapshot goes out ``batch`` seconds after the first
change since the last one (the rest of a burst rides in the same snapshot), and never sooner
than ``gap`` seconds after the last one, however busy the floor. With no change, the picture
goes out all the same every ``refresh`` seconds (a quiet floor still looks alive, and a new
day starts on the board at a quiet midnight). The numbers are chosen in
cti/floor_publisher.py.

The start counts as a picture sent: a page reads the floor at once when it opens (``GET
/api/supervision/floor``), so the first snapshot waits for the gap like any other, and a
service configured with an hour's gap sends none before then.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SnapshotPacing:
    batch: float  # after the first change: wait this long for the rest of a burst
    gap: float  # at least this long between two snapshots
    refresh: float  # a quiet floor is sent again this often
    last_sent: float  # when the last snapshot went out (or the start)
    pending_since: float | None = field(default=None)  # the first change not sent yet

    def changed(self, now: float) -> bool:
        """The floor moved at ``now``. True if that brings the next snapshot forward (the
        first change since the last snapshot): whoever waits for :attr:`due` should look
        again; a later change rides in the same snapshot."""
        if self.pending_since is not None:
            return False
        self.pending_since = now
        return True

    @property
    def due(self) -> float:
        """When the next snapshot goes out."""
        if self.pending_since is None:
            return self.last_sent + self.refresh
        return max(self.pending_since + self.batch, self.last_sent + self.gap)

    def sent(self, now: float) -> None:
        """A snapshot went out at ``now``, with every change so far."""
        self.last_sent = now
        self.pending_since = None
