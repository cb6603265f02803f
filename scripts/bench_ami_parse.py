"""Benchmark: AMI events per second through a loopback socket, on one core.

A sender process streams a recorded-style mix of realistic Asterisk 22 events (channel life
cycle, Async AGI, DTMF, bridges, VarSet with repeated ChanVariable headers, Chinese caller
names) over TCP on 127.0.0.1. The receiver (this process, one core) measures, in the same run:

* ``baseline``: the plainest correct-enough parse, split on the blank line, decode, split
  lines into a dict (no incremental buffering, no repeated headers, no garbage handling);
* ``parser``: our incremental AmiParser (what the reader task runs);
* ``client``: the full path of a real AmiClient: reader task, parser, dispatch, a bounded
  subscription, and a consumer task reading every event.

Usage: .venv/bin/python scripts/bench_ami_parse.py [--events 300000] [--rounds 3]
Report the printed table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.asterisk.client import AmiClient, AmiConfig
from callcenter.asterisk.protocol import AmiParser

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


def _sender(port: int, payload: bytes, ready: object, login: bool) -> None:
    server = socket.create_server(("127.0.0.1", port))
    ready.set()  # type: ignore[attr-defined]
    conn, _ = server.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    if login:
        conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        action_id = request.split(b"ActionID: ")[1].split(b"\r\n")[0]
        conn.sendall(
            b"Response: Success\r\nActionID: "
            + action_id
            + b"\r\nMessage: Authentication accepted\r\n\r\n"
        )
    view = memoryview(payload)
    for offset in range(0, len(payload), 65536):
        conn.sendall(view[offset : offset + 65536])
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    server.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_sender(payload: bytes, login: bool) -> tuple[multiprocessing.Process, int]:
    port = _free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_sender, args=(port, payload, ready, login))
    proc.start()
    ready.wait(10)
    return proc, port


def _recv_all(port: int, consume: Callable[[bytes], int]) -> tuple[int, float]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    count = 0
    start = time.perf_counter()
    while data := sock.recv(65536):
        count += consume(data)
    elapsed = time.perf_counter() - start
    sock.close()
    return count, elapsed


def run_baseline(payload: bytes, expected: int) -> float:
    proc, port = _start_sender(payload, login=False)
    pending = b""

    def consume(data: bytes) -> int:
        nonlocal pending
        blocks = (pending + data).split(b"\r\n\r\n")
        pending = blocks.pop()
        for block in blocks:
            dict(
                line.split(": ", 1) for line in block.decode("utf-8").split("\r\n") if ": " in line
            )
        return len(blocks)

    count, elapsed = _recv_all(port, consume)
    proc.join()
    assert count == expected, (count, expected)
    return count / elapsed


def run_parser(payload: bytes, expected: int) -> float:
    proc, port = _start_sender(payload, login=False)
    parser = AmiParser(expect_banner=False)
    count, elapsed = _recv_all(port, lambda data: len(parser.feed(data)))
    proc.join()
    assert count == expected, (count, expected)
    return count / elapsed


async def _client_path(port: int, expected: int) -> float:
    client = AmiClient(
        AmiConfig(
            port=port,
            username="bench",
            secret="bench",
            ping_interval=3600,
            event_queue_size=expected + 10,
        )
    )
    runner = asyncio.create_task(client.run())
    sub = client.subscribe()
    received = 0
    await client.wait_connected(10)
    start = time.perf_counter()
    async for _ in sub:
        received += 1
        if received == expected:
            break
    elapsed = time.perf_counter() - start
    await client.close()
    await asyncio.gather(runner, return_exceptions=True)
    return received / elapsed


def run_client(payload: bytes, expected: int) -> float:
    proc, port = _start_sender(payload, login=True)
    rate = asyncio.run(_client_path(port, expected))
    proc.join()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # the receiver on one core; the sender may use the other
    payload = make_stream(args.events)
    print(
        f"{args.events} events, {len(payload) / 1e6:.1f} MB, "
        f"{len(payload) / args.events:.0f} bytes/event, {args.rounds} rounds (median)"
    )
    results: dict[str, list[float]] = {"baseline": [], "parser": [], "client": []}
    for _ in range(args.rounds):
        results["baseline"].append(run_baseline(payload, args.events))
        results["parser"].append(run_parser(payload, args.events))
        results["client"].append(run_client(payload, args.events))
    base = statistics.median(results["baseline"])
    print(f"{'path':<10} {'events/s':>12} {'vs baseline':>12}")
    for name, rates in results.items():
        rate = statistics.median(rates)
        print(f"{name:<10} {rate:>12,.0f} {rate / base:>11.2f}x")


if __name__ == "__main__":
    main()
