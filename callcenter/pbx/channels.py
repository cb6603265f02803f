"""The service's view of live Asterisk channels, kept from AMI events and rebuilt on resync.

Channels are keyed by ``Uniqueid``: the channel *name* can change (masquerades during
transfers), the Uniqueid does not. Events that arrive while the AMI link is down are lost for
good, so after every (re)connect the whole view is replaced by a ``CoreShowChannels`` snapshot;
events queued around the snapshot are applied in order afterwards and converge on the same
state (a Hangup for an unknown channel is a no-op; a Newstate for an unknown one adds it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from callcenter.asterisk.protocol import Message

log = logging.getLogger(__name__)

TRACKED_EVENTS = frozenset(
    {
        "newchannel",
        "newstate",
        "newcallerid",
        "newconnectedline",
        "hangup",
        "rename",
        "bridgeenter",
        "bridgeleave",
    }
)


@dataclass(frozen=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    state: str  # ChannelStateDesc: Down, Ring, Ringing, Up, Busy, ...
    caller_number: str
    caller_name: str
    context: str
    exten: str
    bridge_id: str = ""
    seen_at: float = 0.0  # monotonic time we first saw it (not the call's start)


def _text(message: Message, key: str) -> str:
    value = message.get(key) or ""
    # Asterisk prints "<unknown>" for an unset caller id.
    return "" if value == "<unknown>" else value


def channel_from(message: Message, seen_at: float) -> Channel | None:
    uniqueid = message.get("Uniqueid")
    if not uniqueid:
        return None
    return Channel(
        uniqueid=uniqueid,
        name=_text(message, "Channel"),
        linkedid=_text(message, "Linkedid") or uniqueid,
        state=_text(message, "ChannelStateDesc"),
        caller_number=_text(message, "CallerIDNum"),
        caller_name=_text(message, "CallerIDName"),
        context=_text(message, "Context"),
        exten=_text(message, "Exten"),
        bridge_id=_text(message, "BridgeId"),
        seen_at=seen_at,
    )


class ChannelTracker:
    """Pure state: feed it events and snapshots; read ``channels``."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.resyncs = 0

    def replace_all(self, snapshot: Iterable[Message]) -> None:
        """Replace the view with a CoreShowChannels snapshot (its CoreShowChannel events)."""
        now = time.monotonic()
        fresh: dict[str, Channel] = {}
        for message in snapshot:
            channel = channel_from(message, now)
            if channel is not None:
                previous = self.channels.get(channel.uniqueid)
                fresh[channel.uniqueid] = (
                    replace(channel, seen_at=previous.seen_at) if previous else channel
                )
        gone = self.channels.keys() - fresh.keys()
        added = fresh.keys() - self.channels.keys()
        self.channels = fresh
        self.resyncs += 1
        log.info(
            "channel resync: %d live, %d added, %d gone while disconnected",
            len(fresh),
            len(added),
            len(gone),
        )

    def apply(self, message: Message) -> None:
        name = message.name.lower()
        if name not in TRACKED_EVENTS:
            return
        uniqueid = message.get("Uniqueid")
        if not uniqueid:
            return
        if name == "hangup":
            self.channels.pop(uniqueid, None)
            return
        current = self.channels.get(uniqueid)
        if name == "bridgeleave" and current is not None:
            self.channels[uniqueid] = replace(current, bridge_id="")
            return
        fresh = channel_from(message, current.seen_at if current else time.monotonic())
        if fresh is None:
            return
        if name == "bridgeenter":
            fresh = replace(fresh, bridge_id=_text(message, "BridgeUniqueid"))
        elif current is not None and not fresh.bridge_id:
            fresh = replace(fresh, bridge_id=current.bridge_id)
        self.channels[uniqueid] = fresh

    def by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)
