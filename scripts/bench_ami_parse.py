"""Benchmark: AMI events per second through a loopback socket, ours beside the Python peers.

One sender process streams a deterministic mix of realistic Asterisk 22 events (channel life
cycle, Async AGI, DTMF, bridges, VarSet with repeated ChanVariable headers, Chinese caller
names) over TCP on 127.0.0.1: the banner, the Login's reply, then the same bytes to every
receiver, one connection after the other. Each receiver is a fresh process pinned to one core
(the sender has the other); it times from before its connect to its consumer's last event:

* ``baseline``: the plainest parse that still yields headers: split on the blank line,
  decode, split lines into a dict (not correct AMI; the floor of any Python parser);
* ``parser``: our incremental AmiParser on the socket's reads (what the reader task runs);
* ``client``: a real AmiClient: reader task, parser, dispatch, a bounded subscription, and a
  consumer task reading every event;
* ``asterisk-ami``: that package's threaded client, a listener callback counting events;
* ``panoramisk``: that package's asyncio Manager, an event callback counting events.

The peers run in their own venv (``var/bench-ami-peers``, created here on first use, see
``scripts/ami_peers.py``), never in the service's. The rounds interleave the paths, so a busy
neighbour on the machine slows all of them alike. Then every client is handed the same
correctness cases (repeated headers, U+2028, a UTF-8 character split across reads, bare LF)
and the table says which gets what right.

Usage: .venv/bin/python scripts/bench_ami_parse.py [--events 300000] [--rounds 5]
       [--paths baseline,parser,client,asterisk-ami,panoramisk] [--no-probe]
Report the printed tables in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# --before runs our receivers on an older checkout's callcenter package: this variable names it.
CODE_ROOT = os.environ.get("BENCH_AMI_CODE_ROOT", str(ROOT))
sys.path.insert(0, CODE_ROOT)
sys.path.insert(0, str(ROOT / "scripts"))

import ami_peers  # noqa: E402 - found through the path set just above

NAMES = ["张伟", "王芳", "李娜", "Chen Jie", "刘洋", "Wang Lei"]


def make_stream(count: int) -> bytes:
    """A deterministic mix of event shapes, each ~15-25 headers, as Asterisk 22 writes them."""
    out: list[str] = []
    for i in range(count):
        name = NAMES[i % len(NAMES)]
        uid = f"default-1795593893.{i // 8}"
        base = (
            f"Privilege: call,all\r\nTimestamp: 1795593896.{i:06d}\r\nSystemName: default\r\n"
            f"Channel: PJSIP/carrier-{i // 8:08x}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
            f"CallerIDNum: +86138{i % 100000000:08d}\r\nCallerIDName: {name}\r\n"
            f"ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: zh\r\n"
            f"AccountCode: \r\nContext: from-carrier\r\nExten: 95555\r\nPriority: 1\r\n"
            f"Uniqueid: {uid}\r\nLinkedid: {uid}\r\n"
        )
        kind = i % 8
        if kind == 0:
            out.append(f"Event: Newchannel\r\n{base}\r\n")
        elif kind == 1:
            out.append(f"Event: Newstate\r\n{base}\r\n")
        elif kind == 2:
            out.append(
                f"Event: VarSet\r\n{base}Variable: IVR_PATH\r\nValue: menu:1:balance\r\n"
                "ChanVariable: CLIENT_ID=C0012345\r\nChanVariable: TIER=vip\r\n\r\n"
            )
        elif kind == 3:
            out.append(
                f"Event: AsyncAGIExec\r\n{base}CommandID: a1b2c3-{i}\r\n"
                "Result: 200%20result%3D0%20endpos%3D11360%0A\r\n\r\n"
            )
        elif kind == 4:
            out.append(
                f"Event: DTMFEnd\r\n{base}Digit: {i % 10}\r\nDurationMs: 120\r\n"
                "Direction: Received\r\n\r\n"
            )
        elif kind == 5:
            out.append(
                f"Event: BridgeEnter\r\nBridgeUniqueid: 5f3c-{i}\r\nBridgeType: basic\r\n"
                f"BridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\n"
                f"BridgeName: <unknown>\r\nBridgeNumChannels: 2\r\n{base}\r\n"
            )
        elif kind == 6:
            out.append(
                f"Event: DialBegin\r\n{base}DestChannel: PJSIP/1001-{i:08x}\r\n"
                "DialString: 1001\r\n\r\n"
            )
        else:
            out.append(f"Event: Hangup\r\n{base}Cause: 16\r\nCause-txt: Normal Clearing\r\n\r\n")
    return "".join(out).encode("utf-8")


LOGIN_ID = b"bench-1"
REPLY = b"Response: Success\r\nActionID: %s\r\nMessage: Authentication accepted\r\n\r\n"
OURS = ("baseline", "parser", "client")
PATHS = (*OURS, *ami_peers.PEERS)
RECEIVER_CORE = 0
SENDER_CORE = 1


def _serve(server: socket.socket, payload: bytes) -> None:
    """The sender: for each connection, the banner, the Login's reply, the payload, EOF."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {SENDER_CORE})
    view = memoryview(payload)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            conn.sendall(ami_peers.BANNER)
            request = b""
            while b"\r\n\r\n" not in request:
                more = conn.recv(4096)
                if not more:
                    break
                request += more
            action_id = LOGIN_ID
            for line in request.split(b"\r\n"):
                if line.lower().startswith(b"actionid:"):
                    action_id = line.split(b":", 1)[1].strip()
            conn.sendall(REPLY % action_id)
            for offset in range(0, len(payload), 65536):
                conn.sendall(view[offset : offset + 65536])
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)  # until the receiver closes


def _start_sender(payload: bytes) -> tuple[multiprocessing.Process, int]:
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]
    proc = multiprocessing.Process(target=_serve, args=(server, payload), daemon=True)
    proc.start()
    server.close()  # the sender's copy stays open
    return proc, port


# -- our receivers (run in a child process: python bench_ami_parse.py --receive NAME) -------


def _raw_connect(port: int) -> socket.socket:
    """Log in the way any client does, and leave the socket right after the Login's reply."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.sendall(b"Action: Login\r\nActionID: " + LOGIN_ID + b"\r\n\r\n")
    return sock


def _recv_all(
    port: int, consume: Callable[[bytes], int], events: int, messages: int | None = None
) -> float:
    """Read and ``consume`` until it counted ``messages`` (default: ``events``)."""
    expected = events if messages is None else messages
    start = time.perf_counter()
    sock = _raw_connect(port)
    count = 0
    while count < expected and (data := sock.recv(65536)):
        count += consume(data)
    elapsed = time.perf_counter() - start
    sock.close()
    if count != expected:
        raise RuntimeError(f"saw {count} of {expected} messages")
    return events / elapsed


def receive_baseline(port: int, events: int) -> float:
    pending = ami_peers.BANNER  # the banner has one EOL: glue it to the Login's reply
    handshake = [True]

    def consume(data: bytes) -> int:
        nonlocal pending
        blocks = (pending + data).split(b"\r\n\r\n")
        pending = blocks.pop()
        for block in blocks:
            dict(
                line.split(": ", 1) for line in block.decode("utf-8").split("\r\n") if ": " in line
            )
        if blocks and handshake[0]:
            handshake[0] = False
            return len(blocks) - 1
        return len(blocks)

    return _recv_all(port, consume, events)


def receive_parser(port: int, events: int) -> float:
    from callcenter.asterisk.protocol import AmiParser

    parser = AmiParser()
    # The banner and the Login's reply are two messages more.
    return _recv_all(port, lambda data: len(parser.feed(data)), events, events + 2)


async def _client_path(port: int, events: int) -> float:
    from callcenter.asterisk.client import AmiClient, AmiConfig

    start = time.perf_counter()
    client = AmiClient(
        AmiConfig(
            port=port,
            username="bench",
            secret="bench",
            ping_interval=3600,
            event_queue_size=events + 10,
        )
    )
    sub = client.subscribe()
    runner = asyncio.create_task(client.run())
    received = 0
    async for _ in sub:
        received += 1
        if received == events:
            break
    elapsed = time.perf_counter() - start
    await client.close()
    await asyncio.gather(runner, return_exceptions=True)
    if received != events:
        raise RuntimeError(f"saw {received} of {events} events")
    return events / elapsed


OUR_RECEIVERS: dict[str, Callable[[int, int], float]] = {
    "baseline": receive_baseline,
    "parser": receive_parser,
    "client": lambda port, events: asyncio.run(_client_path(port, events)),
}


def _receive(
    name: str, port: int, events: int, peer_python: Path | None, before: Path | None
) -> tuple[float, float]:
    """One receiver in a fresh process pinned to the receiver's core."""
    env = dict(os.environ)
    ours, _, at = name.partition("@")
    if ours in OURS:
        command = [sys.executable, __file__, "--receive", ours]
        if at:
            assert before is not None
            env["BENCH_AMI_CODE_ROOT"] = str(before)
    else:
        assert peer_python is not None
        command = [str(peer_python), ami_peers.__file__, "receive", name]
    command += ["--port", str(port), "--events", str(events), "--core", str(RECEIVER_CORE)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.splitlines()[-1])
    return result["rate"], result["cpu_rate"]


# -- correctness: every client on the same cases --------------------------------------------


class _ScriptedStream:
    """Our client's connection for a probe: read() hands out one chunk per read, as a
    socket would; the Login is answered with its own ActionID before the case's chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._reads: asyncio.Queue[bytes] = asyncio.Queue()
        self._reads.put_nowait(ami_peers.BANNER)
        self._chunks = chunks
        self.transport = self

    async def read(self, size: int) -> bytes:
        return await self._reads.get()

    def write(self, data: bytes) -> None:
        for line in data.split(b"\r\n"):
            if line.startswith(b"ActionID: "):
                self._reads.put_nowait(REPLY % line[10:])
        for chunk in self._chunks:
            self._reads.put_nowait(chunk)
        self._chunks = []
        self._reads.put_nowait(b"")  # then the end of the stream

    async def drain(self) -> None:
        pass

    def abort(self) -> None:
        self._reads.put_nowait(b"")


async def _probe_client(chunks: list[bytes], header: str) -> list[tuple[str, list[str]]]:
    from callcenter.asterisk.client import AmiClient, AmiConfig, ConnectionState

    stream = _ScriptedStream(chunks)

    async def connector() -> Any:
        return stream, stream

    client = AmiClient(AmiConfig(username="bench", ping_interval=3600), connector=connector)
    sub = client.subscribe()
    changes = client.connection_changes()
    runner = asyncio.create_task(client.run())
    seen: list[tuple[str, list[str]]] = []
    async for change in changes:
        if change.state is ConnectionState.DISCONNECTED:  # the case's stream has ended
            break
    await client.close()
    await asyncio.gather(runner, return_exceptions=True)
    async for message in sub:
        seen.append((message.name, message.get_all(header)))
    return seen


def probe_ours() -> dict[str, str]:
    # Each case's stream ends, and the client says so at WARNING: expected here.
    logging.getLogger("callcenter.asterisk").setLevel(logging.ERROR)
    results = {}
    for case, (chunks, event, header, expected) in ami_peers.CASES.items():
        seen = asyncio.run(_probe_client(chunks, header))
        results[case] = ami_peers.verdict(seen, event, expected)
    return results


def probe_peer(peer_python: Path, peer: str) -> dict[str, str]:
    command = [str(peer_python), ami_peers.__file__, "probe", peer]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    results: dict[str, str] = json.loads(out.splitlines()[-1])
    return results


# -- the run -------------------------------------------------------------------------------


def _checkout(revision: str) -> Path:
    """A detached worktree of ``revision`` under var/, made anew for each run."""
    path = ROOT / "var" / "bench-ami-before"
    if path.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)])
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision],
        check=True,
        capture_output=True,
    )
    return path


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def _print_rates(title: str, results: dict[str, list[float]]) -> None:
    base = statistics.median(results["baseline"]) if results.get("baseline") else None
    peers = [statistics.median(results[p]) for p in ami_peers.PEERS if results.get(p)]
    fastest_peer = max(peers) if peers else None
    print(title)
    print(
        f"{'path':<14} {'events/s':>10} {'min':>10} {'max':>10} {'vs baseline':>12} "
        f"{'vs fastest peer':>16}"
    )
    for name, rates in results.items():
        rate = statistics.median(rates)
        vs_base = f"{rate / base:.2f}x" if base else "-"
        vs_peer = f"{rate / fastest_peer:.2f}x" if fastest_peer else "-"
        print(
            f"{name:<14} {rate:>10,.0f} {min(rates):>10,.0f} {max(rates):>10,.0f} "
            f"{vs_base:>12} {vs_peer:>16}"
        )


def _print_probes(probes: dict[str, dict[str, str]]) -> None:
    names = list(probes)
    width = max(len(v) for n in names for v in [n, *probes[n].values()]) + 2
    print(f"{'case':<28}" + "".join(f"{n:>{width}}" for n in names))
    for case in ami_peers.CASES:
        print(f"{case:<28}" + "".join(f"{probes[n][case]:>{width}}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--no-probe", action="store_true")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also run our parser and client as of this git revision (a worktree under var/)",
    )
    parser.add_argument("--receive", choices=OURS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:  # a child: one receiver, one line of JSON
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {args.core})
        # Imported before the clock starts, as a running service has them.
        importlib.import_module("callcenter.asterisk.client")
        cpu = time.process_time()
        rate = OUR_RECEIVERS[args.receive](args.port, args.events)
        # The process's CPU seconds, all threads: a figure that waiting does not change.
        cpu = time.process_time() - cpu
        print(json.dumps({"rate": rate, "cpu_rate": args.events / cpu}))
        return
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    before = _checkout(args.before) if args.before else None
    if args.before:
        at = paths.index("client") + 1 if "client" in paths else len(paths)
        paths[at:at] = [f"parser@{args.before}", f"client@{args.before}"]
    wants_peers = not args.no_probe or any(p in ami_peers.PEERS for p in paths)
    peer_python = ami_peers.ensure_peer_venv() if wants_peers else None
    payload = make_stream(args.events)
    print(
        f"{args.events} events, {len(payload) / 1e6:.1f} MB, "
        f"{len(payload) / args.events:.0f} bytes/event, {args.rounds} rounds (median), "
        f"Python {sys.version.split()[0]}; load before: {_loadavg()}"
    )
    sender, port = _start_sender(payload)
    results: dict[str, list[float]] = {name: [] for name in paths}
    cpu_results: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for _ in range(args.rounds):
            for name in paths:
                rate, cpu_rate = _receive(name, port, args.events, peer_python, before)
                results[name].append(rate)
                cpu_results[name].append(cpu_rate)
    finally:
        sender.terminate()
        sender.join()
    print(f"load after: {_loadavg()}")
    _print_rates("events per second, from the connect to the consumer's last event:", results)
    print()
    _print_rates("events per CPU second of the receiving process (all its threads):", cpu_results)
    if not args.no_probe:
        assert peer_python is not None
        probes = {"ours (client)": probe_ours()}
        for peer in ami_peers.PEERS:
            probes[peer] = probe_peer(peer_python, peer)
        print()
        _print_probes(probes)


if __name__ == "__main__":
    main()
