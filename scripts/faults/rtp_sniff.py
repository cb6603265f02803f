"""What the callers hear, as packets: every UDP datagram Asterisk's RTP ports send on the
loopback that carries sound, written as ``<epoch seconds> <source port> <destination port>``
lines.

Run as its own process (root: an AF_PACKET socket on ``lo``) so that the fault runs' busy
event loop never delays a timestamp. Asterisk sends RTP all the time here
(``transmit_silence = yes`` in asterisk.conf): while nothing plays, the packets carry
silence. So a packet counts only when its PCMU payload holds sound (a sample louder than
:data:`LOUD`); a stretch without one is time the caller heard nothing: no prompt, no music, no
ringback, no agent (the fault runs' agent phones send a steady tone in place of silence).

    python scripts/faults/rtp_sniff.py 17100 17399 out.txt   # until SIGTERM
"""

from __future__ import annotations

import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # on lo every packet is seen twice: keep the sending side's copy
PCMU = 0
LOUD = 64  # of 32767: about -54 dBFS; Asterisk's silence is exactly 0


def _ulaw_to_linear(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)) - 0x84
    return -magnitude if byte & 0x80 else magnitude


LOUD_BYTES = bytes(b for b in range(256) if abs(_ulaw_to_linear(b)) > LOUD)


def has_sound(rtp: bytes) -> bool:
    """A PCMU packet with at least one sample above :data:`LOUD`."""
    if len(rtp) < 12 or rtp[1] & 0x7F != PCMU:
        return False
    start = 12 + 4 * (rtp[0] & 0x0F)
    if rtp[0] & 0x10 and len(rtp) >= start + 4:  # a header extension
        start += 4 + 4 * int.from_bytes(rtp[start + 2 : start + 4], "big")
    payload = rtp[start:]
    return bool(payload) and any(b in LOUD_SET for b in payload)


LOUD_SET = frozenset(LOUD_BYTES)


def main() -> None:
    low, high, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(("lo", 0))
    sock.settimeout(0.5)
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(path, "w", buffering=1 << 16) as out:
        last_flush = time.monotonic()
        while running:
            try:
                frame, address = sock.recvfrom(2048)
            except TimeoutError:
                continue
            except InterruptedError:
                continue
            at = time.time()
            if address[2] != PACKET_OUTGOING or len(frame) < 42:
                continue
            if frame[12:14] != b"\x08\x00" or frame[23] != 17:  # IPv4, UDP
                continue
            ihl = (frame[14] & 0x0F) * 4
            src, dst = struct.unpack_from(">HH", frame, 14 + ihl)
            if low <= src <= high and has_sound(frame[14 + ihl + 8 :]):
                out.write(f"{at:.4f} {src} {dst}\n")
            if time.monotonic() - last_flush > 1.0:
                out.flush()
                last_flush = time.monotonic()


if __name__ == "__main__":
    main()
