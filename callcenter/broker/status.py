"""What the broker link is configured with, and what it says of itself (/health)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from callcenter.settings import Settings


@dataclass(frozen=True)
class BrokerConfig:
    url: str  # nats://127.0.0.1:4222
    stream: str = "CALLCENTER_EVENTS"
    prefix: str = "callcenter"  # subjects: <prefix>.events.<topic>, <prefix>.desks, ...
    max_age_seconds: float = 120.0  # the stream keeps an event this long (memory storage)
    buffer: int = 10_000  # events waiting to be published; past it the oldest are dropped
    # Each instance says which users have a desk open on it this often (and on a change);
    # a word not renewed within three times this is forgotten (an instance killed).
    desks_seconds: float = 2.0
    reconnect_seconds: float = 0.5  # between two tries to reach the broker
    publish_timeout: float = 2.0  # a JetStream publish's acknowledgement

    @property
    def events_subject(self) -> str:
        return f"{self.prefix}.events"

    @property
    def desks_subject(self) -> str:
        return f"{self.prefix}.desks"

    def pops_subject(self, origin: str) -> str:
        """Where the desks of other instances tell ``origin`` that its pop reached them."""
        return f"{self.prefix}.pops.{origin}"


class BrokerState(StrEnum):
    CONNECTING = "connecting"  # never connected yet
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # lost; reconnecting
    CLOSED = "closed"  # the service is stopping


@dataclass
class BrokerStatus:
    """Counters since start: what /health shows of the link."""

    state: BrokerState = BrokerState.CONNECTING
    published: int = 0  # envelopes of this instance stored by the broker
    received: int = 0  # envelopes of other instances handed to this bus
    rejected: int = 0  # envelopes from the broker that could not be read (logged, skipped)
    reconnects: int = 0
    last_error: str | None = None  # why the link is down, when it is

    @property
    def up(self) -> bool:
        return self.state is BrokerState.CONNECTED


class BrokerLink(Protocol):
    """What the service asks of its broker link (callcenter/broker/nats_link.py)."""

    status: BrokerStatus

    @property
    def dropped(self) -> int: ...

    async def run(self) -> None: ...


def broker_config(settings: Settings) -> BrokerConfig:
    return BrokerConfig(
        settings.broker_url,
        stream=settings.broker_stream,
        prefix=settings.broker_subject_prefix,
        max_age_seconds=settings.broker_max_age_seconds,
        buffer=settings.broker_buffer,
    )
