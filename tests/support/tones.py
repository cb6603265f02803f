"""Tones as 20 ms PCMU packets: what a test party says, so a recording can be measured."""

from __future__ import annotations

import math
from collections.abc import Callable

RATE = 8000
PACKET = 160  # samples in 20 ms


def to_mulaw(sample: int) -> int:
    """A 16-bit linear sample as G.711 mu-law: bias, find the segment, keep 4 mantissa bits,
    invert."""
    sign = 0x80 if sample < 0 else 0x00
    magnitude = min(abs(sample), 32635) + 0x84
    segment = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    return (~(sign | (segment << 4) | mantissa)) & 0xFF


def tone_packets(hz: float, level: float = 0.3) -> Callable[[int], bytes]:
    """The n-th 20 ms packet of a continuous sine of ``hz`` at ``level`` of full scale."""
    period = RATE  # one second of packets, whole cycles for integer ``hz``
    samples = bytes(
        to_mulaw(round(level * 32767 * math.sin(2 * math.pi * hz * n / RATE)))
        for n in range(period)
    )
    packets = [samples[i : i + PACKET] for i in range(0, period, PACKET)]
    return lambda n: packets[n % len(packets)]
