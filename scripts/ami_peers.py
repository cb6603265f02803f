"""The two Python AMI clients we compare ours with, driven the way their own docs use them.

``scripts/bench_ami_parse.py`` runs this file with the interpreter of a separate venv
(``var/bench-ami-peers``) that holds ``asterisk-ami`` and ``panoramisk`` from PyPI, so that
neither ever becomes a dependency of the service. :func:`ensure_peer_venv` creates it on a
fresh machine. Two commands, each printing one JSON line:

* ``receive NAME --port P --events N``: connect to the benchmark's sender, log in, and count
  every event a consumer callback is handed until N came; prints events per second, timed from
  before the connect to the consumer's last event (the same clock as our paths);
* ``probe NAME``: hand the library's own receive step the correctness cases' chunks, one
  read per chunk, and print what its consumer saw.

Each peer's consumer is a plain callback run where the library runs its listeners (the
reader thread, the event loop's protocol callback): that is their idiom, and the cheapest
consumer either offers, so the comparison does not favour us.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / "var" / "bench-ami-peers"
# Pinned: the figures in docs/benchmarks.md are for these versions.
PEER_PACKAGES = ("asterisk-ami==0.1.7", "panoramisk==1.4")
PEERS = ("asterisk-ami", "panoramisk")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def ensure_peer_venv() -> Path:
    """The peers' venv's interpreter, creating the venv and installing them when missing."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / "installed.txt"
    wanted = "\n".join(PEER_PACKAGES)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"creating {PEER_VENV} with {', '.join(PEER_PACKAGES)}", file=sys.stderr)
    # The same base interpreter as ours: the comparison is of code, not of Python builds.
    venv.EnvBuilder(clear=True, with_pip=True).create(PEER_VENV)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
        check=True,
    )
    marker.write_text(wanted)
    return python


# -- correctness cases: the same bytes for every client --------------------------------------


def _event(lines: list[str], eol: str = "\r\n") -> str:
    return eol.join(lines) + eol + eol


CASE_CHANVARS = _event(
    [
        "Event: Newchannel",
        "Channel: PJSIP/carrier-00000001",
        "Uniqueid: default-1795593893.1",
        "ChanVariable: CLIENT_ID=C0012345",
        "ChanVariable: TIER=vip",
    ]
).encode()
# UserEvent() in a dialplan passes its headers through as given, repeats included.
CASE_USEREVENT = _event(
    [
        "Event: UserEvent",
        "UserEvent: QueueTags",
        "Uniqueid: default-1795593893.1",
        "Tag: vip",
        "Tag: callback",
    ]
).encode()
# U+2028 (line separator) in a caller name: str.splitlines() treats it as a line end.
CASE_U2028 = _event(
    [
        "Event: Newchannel",
        "CallerIDName: 李\u2028娜",
        "Uniqueid: default-1795593893.1",
    ]
).encode()
_SPLIT_TEXT = _event(
    ["Event: Newchannel", "CallerIDName: 张伟", "Uniqueid: default-1795593893.1"]
).encode()
# The read ends after the first byte of 张 (three bytes in UTF-8).
_SPLIT_AT = _SPLIT_TEXT.index("张".encode()) + 1
CASE_BARE_LF = _event(
    ["Event: Newchannel", "CallerIDName: Wang Lei", "Uniqueid: default-1795593893.1"], eol="\n"
).encode()

# name -> (chunks, event name, header, expected values of that header in the one event)
CASES: dict[str, tuple[list[bytes], str, str, list[str]]] = {
    "repeated ChanVariable": (
        [CASE_CHANVARS],
        "Newchannel",
        "ChanVariable",
        ["CLIENT_ID=C0012345", "TIER=vip"],
    ),
    "repeated UserEvent header": ([CASE_USEREVENT], "UserEvent", "Tag", ["vip", "callback"]),
    "U+2028 in a value": ([CASE_U2028], "Newchannel", "CallerIDName", ["李\u2028娜"]),
    "UTF-8 split across reads": (
        [_SPLIT_TEXT[:_SPLIT_AT], _SPLIT_TEXT[_SPLIT_AT:]],
        "Newchannel",
        "CallerIDName",
        ["张伟"],
    ),
    "bare LF": ([CASE_BARE_LF], "Newchannel", "CallerIDName", ["Wang Lei"]),
}


def verdict(events: list[tuple[str, list[str]]], name: str, expected: list[str]) -> str:
    """'right', or what went wrong, from the (event name, header values) a consumer saw."""
    if not events:
        return "no event"
    got_name, values = events[0]
    if len(events) > 1:
        return f"{len(events)} events"
    if got_name != name:
        return f"event {got_name!r}"
    return "right" if values == expected else f"got {values!r}"


# -- asterisk-ami (threaded) -----------------------------------------------------------------


def _ami_values(event: Any, header: str) -> list[str]:
    value = event.keys.get(header)
    if value is None:
        return []
    if isinstance(value, dict):  # its parser for ChanVariable keeps name=value pairs in a dict
        return [f"{k}={v}" for k, v in value.items()]
    return [value]


def receive_asterisk_ami(port: int, events: int) -> float:
    from asterisk.ami import AMIClient

    done = threading.Event()
    count = 0
    finished_at = 0.0

    def on_event(event: Any, source: Any) -> None:
        nonlocal count, finished_at
        count += 1
        if count == events:
            finished_at = time.perf_counter()
            done.set()

    start = time.perf_counter()
    client = AMIClient(address="127.0.0.1", port=port, timeout=30)
    client.add_event_listener(on_event)
    client.login(username="bench", secret="bench")
    if not done.wait(600):
        raise RuntimeError(f"asterisk-ami saw {count} of {events} events")
    client.disconnect()
    return events / (finished_at - start)


class _ScriptedSocket:
    """recv() hands out the case's chunks (at most ``size`` bytes at a time, as a socket
    does), then the end of the stream."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    def recv(self, size: int) -> bytes:
        if not self._chunks:
            return b""
        chunk = self._chunks.pop(0)
        if len(chunk) > size:
            self._chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        return chunk

    def close(self) -> None:
        pass


def probe_asterisk_ami(chunks: list[bytes], header: str) -> list[tuple[str, list[str]]]:
    from asterisk.ami import AMIClient

    seen: list[tuple[str, list[str]]] = []
    client = AMIClient()
    client.add_event_listener(
        lambda event, source: seen.append((event.name, _ami_values(event, header)))
    )
    client._socket = _ScriptedSocket([BANNER, *chunks])
    client.finished = threading.Event()
    client.listen()  # its reader thread's body, run here
    return seen


# -- panoramisk (asyncio) --------------------------------------------------------------------


def _pano_values(event: Any, header: str) -> list[str]:
    value = event.get(header)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


async def _receive_panoramisk(port: int, events: int) -> float:
    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    done: asyncio.Future[float] = loop.create_future()
    count = 0

    def on_event(manager: Any, event: Any) -> None:
        nonlocal count
        count += 1
        if count == events:
            done.set_result(time.perf_counter())

    start = time.perf_counter()
    manager = Manager(
        loop=loop,
        host="127.0.0.1",
        port=port,
        username="bench",
        secret="bench",
        ping_delay=3600,
        ping_interval=3600,
    )
    manager.register_event("*", on_event)
    await manager.connect()
    finished_at = await asyncio.wait_for(done, 600)
    manager.close()
    return events / (finished_at - start)


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def probe_panoramisk(chunks: list[bytes], header: str) -> list[tuple[str, list[str]]]:
    from panoramisk import Manager
    from panoramisk.ami_protocol import AMIProtocol

    seen: list[tuple[str, list[str]]] = []
    manager = Manager()
    manager.register_event(
        "*", lambda m, event: seen.append((event.event, _pano_values(event, header)))
    )
    protocol = AMIProtocol()
    protocol.connection_made(_NullTransport())
    protocol.factory = manager
    protocol.encoding = "utf8"  # what Manager sets on a real connection
    for chunk in [BANNER, *chunks]:
        protocol.data_received(chunk)  # what asyncio calls once per read
    return [item for item in seen if item[0] != "FullyBooted"]


RECEIVERS: dict[str, Callable[[int, int], float]] = {
    "asterisk-ami": receive_asterisk_ami,
    "panoramisk": lambda port, events: asyncio.run(_receive_panoramisk(port, events)),
}
PROBES: dict[str, Callable[[list[bytes], str], list[tuple[str, list[str]]]]] = {
    "asterisk-ami": probe_asterisk_ami,
    "panoramisk": probe_panoramisk,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("receive", "probe"))
    parser.add_argument("peer", choices=PEERS)
    parser.add_argument("--port", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    if args.command == "receive":
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {args.core})
        # Imported before the clock starts, as a running service has them.
        importlib.import_module(
            {"asterisk-ami": "asterisk.ami", "panoramisk": "panoramisk"}[args.peer]
        )
        cpu = time.process_time()
        rate = RECEIVERS[args.peer](args.port, args.events)
        # The process's CPU seconds, all threads: a figure that waiting does not change.
        cpu = time.process_time() - cpu
        print(json.dumps({"rate": rate, "cpu_rate": args.events / cpu}))
        return
    results = {}
    for case, (chunks, event, header, expected) in CASES.items():
        try:
            results[case] = verdict(PROBES[args.peer](chunks, header), event, expected)
        except Exception as exc:  # a crash is a finding too
            results[case] = f"crashed: {type(exc).__name__}"
    print(json.dumps(results))


if __name__ == "__main__":
    main()
