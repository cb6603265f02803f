"""Benchmark: the desk's browser phone (issue 19, Measure): "Pop before the browser's ring in
at least 99% of 200 calls; from the agent's answer click to two-way audio, p95."

Real parts only: a sandboxed Asterisk 22 (its WSS listener, DTLS-SRTP, ICE), the service from
``create_app`` served by uvicorn on a loopback port on a seeded SQLite database, Debian's
Chromium (headless, fake media devices, trusting the sandbox's certificate by its key) with
the desk logged in as agent01 and its browser phone registered as ``1001-web``, and sipp
callers from demo clients' numbers, one after another, through the IVR (Mandarin, then an
agent) to the general queue.

Per call, all on the page's clock (``performance.now()``, taken by a script that runs before
the page's own, tests/browser/test_desk_softphone.py's way):

* the pop's arrival: the CTI websocket's ``call.offered`` frame read by the page, and the pop
  card shown (the DOM); the ring's: the SIP INVITE read on the phone's WSS socket, and the
  phone card ringing (the DOM). Lead = ring - pop (positive: the pop came first);
* the answer: the click on the card's "Answer" (made in the page, so its time is the page's),
  then the first moment the call's RTCPeerConnection statistics count audio packets both sent
  and received (polled every 5 ms): answer-to-two-way-audio.

The agent then hangs up from the call panel, the short wrap-up (0.5 s) ends by itself and the
next caller dials. Baseline in the same run (``--baseline``, before the browser's calls): the
same kind of calls to agent02 on a UDP desk phone (tests/support/agent_phone.py) with its desk
as a websocket client in another process (scripts/bench_pop_ring.py's desks), pop read against
INVITE read in that process: what the pop's lead is without a browser.

Usage (root): sudo .venv/bin/python scripts/bench_softphone.py [--calls 200] [--baseline 50]
[--instance bench --ami-port 35038 --sip-port 35060 --rtp-start 32000]. Report the printed
table in docs/benchmarks.md ("Browser softphone (issue 19)").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.async_api import Browser, Page, async_playwright

from callcenter.persistence.seed import seed_demo
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.secretbox import box_for
from callcenter.settings import Settings
from scripts.bench_acd import short_queue
from scripts.bench_ivr_dtmf import AS_OF, bench_settings, demo_phones, percentile
from scripts.bench_pop import free_port, served
from scripts.bench_pop_ring import start_desks
from tests.support.dtmf import ExpectHangup, KeypadCaller, Keys, Wait
from tests.support.logins import DEMO_PASSWORD, log_in
from tests.support.phone_secrets import stored_phone_secrets

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
CHROMIUM = os.environ.get("CALLCENTER_TEST_CHROMIUM", "/usr/bin/chromium")
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
HOTLINE = "95555"
IVR_SCRIPT = [Wait(1.0), Keys("1"), Wait(1.5), Keys("0")]  # Mandarin, then an agent

# Runs in the page before its scripts: keeps the page's RTCPeerConnections, and notes on the
# page's clock when the pop and the INVITE reached the page (their websockets' frames, read
# before the page's own listeners) and when the pop card and the ringing phone showed.
WATCH = """
(() => {
  const marks = {offers: [], invites: [], pops: [], rings: []};
  window.__bench = marks;
  const pcs = [];
  window.__pcs = pcs;
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) { super(...args); pcs.push(this); }
  };
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const at = performance.now();
        if (typeof event.data !== "string") return;
        if (event.data.startsWith("INVITE ")) window.__bench.invites.push(at);
        else if (event.data.includes('"call.offered"')) window.__bench.offers.push(at);
      });
    }
  };
  let pop = null;
  let call = null;
  new MutationObserver(() => {
    const card = document.getElementById("pop");
    const shown = card && !card.hidden ? card.dataset.callId : null;
    if (shown && shown !== pop) window.__bench.pops.push(performance.now());
    pop = shown;
    const state = document.getElementById("softphone")?.dataset.call ?? null;
    if (state === "ringing" && call !== "ringing") window.__bench.rings.push(performance.now());
    call = state;
  }).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""
RESET = "() => { for (const list of Object.values(window.__bench)) list.length = 0; }"
# The agent's click on "Answer", then the first moment the call's statistics count audio
# packets sent and received (null: not within 15 s).
ANSWER = """
async () => {
  const clicked = performance.now();
  document.querySelector("[data-testid=softphone-answer]").click();
  while (performance.now() - clicked < 15000) {
    const pc = window.__pcs.at(-1);
    if (pc) {
      let sent = 0, received = 0;
      (await pc.getStats()).forEach((r) => {
        if (r.kind !== "audio") return;
        if (r.type === "outbound-rtp") sent += r.packetsSent ?? 0;
        if (r.type === "inbound-rtp") received += r.packetsReceived ?? 0;
      });
      if (sent > 0 && received > 0) return {clicked, flowing: performance.now()};
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return {clicked, flowing: null};
}
"""


@dataclass(frozen=True)
class CallTimes:
    """One call on the page's clock (ms); None where it did not happen."""

    offer: float | None  # the call.offered frame read
    invite: float | None  # the INVITE read on the phone's socket
    pop: float | None  # the pop card shown
    ring: float | None  # the phone card ringing
    clicked: float | None
    flowing: float | None  # audio packets counted both ways


def spki_pin(certificate: Path) -> str:
    """The certificate's public key as Chromium pins it (base64 of its SPKI's SHA-256)."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def settings_for(args: argparse.Namespace, db_file: Path) -> Settings:
    base = bench_settings(db_file)
    return base.model_copy(
        update={
            "sandbox_instance": args.instance,
            "ami_port": args.ami_port,
            "sip_port": args.sip_port,
            "sip_wss_port": args.sip_port + 29,  # as the tests place it: beside the SIP port
            "rtp_start": args.rtp_start,
            "rtp_end": args.rtp_start + 999,
            "http_port": free_port(),
        }
    )


@contextlib.asynccontextmanager
async def chromium(settings: Settings) -> AsyncIterator[Browser]:
    cert, _ = settings.effective_sip_tls_files
    flags = [f"--ignore-certificate-errors-spki-list={spki_pin(cert)}", *FAKE_MEDIA]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


# What the page shows when a call did not go as planned: said with the failure.
PAGE_STATE = """
() => ({
  agent: document.getElementById("state-badge")?.dataset.state,
  badge: document.getElementById("state-badge")?.textContent,
  phone: document.getElementById("softphone-status")?.dataset.state,
  call: document.getElementById("softphone")?.dataset.call,
  panel: document.getElementById("call-status")?.dataset.state,
  pop: document.getElementById("pop")?.dataset.phase,
})
"""


async def ready_again(page: Page) -> None:
    """After a failed call: the page reloaded, its phone registered again, the agent ready (a
    reload unregisters the phone for a moment, which takes a ready agent out of ready)."""
    await page.reload()
    phone = "[data-testid=softphone-status][data-state=registered]"
    await page.wait_for_selector(phone, timeout=20_000)
    await page.wait_for_selector("#ws-status[data-status=open]", timeout=10_000)
    for _ in range(3):
        state = await page.get_attribute("#state-badge", "data-state")
        if state == "ready":
            return
        button = "#btn-shift-start" if state == "logged_out" else "#btn-ready"
        if await page.is_visible(button):
            await page.click(button)
        await asyncio.sleep(1.0)
    await page.wait_for_selector("#state-badge[data-state=ready]", timeout=10_000)


async def open_desk(browser: Browser, base_url: str) -> Page:
    """agent01's desk, logged in, its browser phone registered, the shift started."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="en")
    page = await context.new_page()
    await page.add_init_script(WATCH)
    await page.goto(f"{base_url}/desk/")
    await page.fill("#login-username", "agent01")
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    phone = "[data-testid=softphone-status][data-state=registered]"
    await page.wait_for_selector(phone, timeout=20_000)
    await page.wait_for_selector("#ws-status[data-status=open]", timeout=10_000)
    await page.click("#btn-shift-start")
    await page.wait_for_selector("#state-badge[data-state=ready]", timeout=10_000)
    return page


async def browser_call(page: Page, settings: Settings, number: str) -> CallTimes:
    """One caller through the IVR to the browser: answered, timed, hung up from the desk."""
    await page.evaluate(RESET)
    script = [*IVR_SCRIPT, ExpectHangup(60)]
    caller = KeypadCaller(settings.sip_port, HOTLINE, script, caller=number)
    await caller.start()
    try:
        await page.wait_for_selector("#softphone[data-call=ringing]", timeout=40_000)
        answer = await page.evaluate(ANSWER)
        await page.wait_for_selector("#call-status[data-state=talking]", timeout=15_000)
        await page.click("#btn-hangup")
        await caller.wait(60)
        await page.wait_for_selector("#softphone[data-call=none]", timeout=15_000)
        await page.wait_for_selector("#state-badge[data-state=ready]", timeout=20_000)
    except BaseException:
        await caller.kill()  # a caller left in the IVR would ring the next call
        raise
    marks = await page.evaluate("window.__bench")

    def first(name: str) -> float | None:
        found: list[float] = marks[name]
        return found[0] if found else None

    return CallTimes(
        first("offers"),
        first("invites"),
        first("pops"),
        first("rings"),
        answer["clicked"],
        answer["flowing"],
    )


async def baseline(
    args: argparse.Namespace, settings: Settings, http: httpx.AsyncClient, numbers: list[str]
) -> list[float]:
    """agent02 on a UDP desk phone, its desk a websocket client in another process: the pop's
    lead over the INVITE (ms) per call, without a browser."""
    token = (await log_in(http, "agent02"))["Authorization"]
    config = {
        "http_port": settings.http_port,
        "sip_port": settings.sip_port,
        "password": await stored_phone_secrets(settings),
        "watcher": "",
        "extensions": ["1002"],
        "tokens": [token.removeprefix("Bearer ")],
    }
    desks = await start_desks(config)
    assert desks.stdin is not None
    assert desks.stdout is not None
    headers = {"Authorization": token}
    (await http.post("/api/agents/me/login", headers=headers)).raise_for_status()
    for number in numbers:
        # The desk phone answers after 0.2 s and hangs up 1 s later.
        caller = KeypadCaller(
            settings.sip_port, HOTLINE, [*IVR_SCRIPT, ExpectHangup(30)], caller=number
        )
        await caller.start()
        await caller.wait(60)
        await asyncio.sleep(1.0)  # the 0.5 s wrap-up, and agent02 ready again
    (await http.post("/api/agents/me/logout", headers=headers)).raise_for_status()
    desks.stdin.write(b"done\n")
    await desks.stdin.drain()
    seen = json.loads(await asyncio.wait_for(desks.stdout.readline(), 120))
    await desks.wait()
    pops, invites = seen["pops"].get("1002", []), seen["invites"].get("1002", [])
    return [(i - p) * 1000 for p, i in zip(pops, invites, strict=False)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db_file = BENCH_DIR / "softphone.db"
    db_file.unlink(missing_ok=True)
    settings = settings_for(args, db_file)
    print(f"seeding {args.clients} demo clients ...", flush=True)
    await seed_demo(
        settings.effective_database_url,
        clients=args.clients,
        as_of=AS_OF,
        demo_password=DEMO_PASSWORD,
        demo_mfa=box_for(settings),
    )
    await short_queue(settings.effective_database_url)  # ring 10 s, wrap-up 0.5 s
    numbers = await demo_phones(settings.effective_database_url, args.calls + args.baseline)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    calls: list[CallTimes] = []
    failed: list[str] = []
    base_url = f"http://127.0.0.1:{settings.http_port}"
    try:
        async with (
            served(settings, settings.http_port, ivr=True),
            httpx.AsyncClient(base_url=base_url) as http,
            chromium(settings) as browser,
        ):
            margins = await baseline(args, settings, http, numbers[: args.baseline])
            print(f"baseline: {len(margins)} calls to a UDP phone", flush=True)
            page = await open_desk(browser, base_url)
            started = time.perf_counter()
            for n, number in enumerate(numbers[args.baseline :], 1):
                try:
                    calls.append(await browser_call(page, settings, number))
                except Exception as exc:  # counted and said; the run goes on
                    shown = await page.evaluate(PAGE_STATE)
                    why = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    failed.append(f"call {n} from {number}: {why}; the page: {shown}")
                    print(failed[-1], flush=True)
                    await page.screenshot(path=str(BENCH_DIR / f"softphone-failed-{n}.png"))
                    await ready_again(page)
                    if len(failed) > args.max_failures:
                        print("too many failures: stopping", flush=True)
                        break
                if n % 20 == 0:
                    print(f"{n} calls, {time.perf_counter() - started:.0f} s", flush=True)
            seconds = time.perf_counter() - started
    finally:
        instance.down()
    return {"calls": calls, "failed": failed, "seconds": seconds, "baseline": margins}


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<38}{'-':>8}"
    cells = [
        f"{v:8.1f}"
        for v in (
            min(values),
            statistics.median(values),
            percentile(values, 95),
            percentile(values, 99),
            max(values),
        )
    ]
    return f"{name:<38}{len(values):>5}" + "".join(cells)


def report(result: dict[str, Any]) -> None:
    calls: list[CallTimes] = result["calls"]
    wire = [c.invite - c.offer for c in calls if c.invite is not None and c.offer is not None]
    shown = [c.ring - c.pop for c in calls if c.ring is not None and c.pop is not None]
    audio = [c.flowing - c.clicked for c in calls if c.flowing is not None and c.clicked]
    base: list[float] = result["baseline"]
    total = len(calls) + len(result["failed"])
    print(
        f"\n{total} calls to the browser, {len(result['failed'])} failed, {result['seconds']:.0f} s"
    )
    for name, values in (("pop before ring (frames read)", wire), ("... (shown)", shown)):
        ahead = sum(1 for v in values if v > 0)
        share = 100 * ahead / total if total else 0.0
        print(f"{name:<38}{ahead}/{total} = {share:.1f} %")
    if base:
        ahead = sum(1 for v in base if v > 0)
        share = 100 * ahead / len(base)
        print(f"{'baseline: pop before INVITE (UDP)':<38}{ahead}/{len(base)} = {share:.1f} %")
    print(f"\n{'ms':<38}{'n':>5}{'min':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    print(line("lead: INVITE read - pop read", wire))
    print(line("lead: ring shown - pop shown", shown))
    print(line("baseline lead: INVITE - pop (UDP)", base))
    print(line("answer click -> RTP both ways", audio))
    for failure in result["failed"]:
        print(failure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=50, help="calls to a UDP phone first")
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--max-failures", type=int, default=10)
    parser.add_argument("--instance", default="bench")
    parser.add_argument("--ami-port", type=int, default=35038)
    parser.add_argument("--sip-port", type=int, default=35060)
    parser.add_argument("--rtp-start", type=int, default=32000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args))
    report(result)
    out = BENCH_DIR / "softphone.json"
    calls = [c.__dict__ for c in result["calls"]]
    out.write_text(json.dumps({**result, "calls": calls}, indent=1))
    print(f"\nper call: {out}")


if __name__ == "__main__":
    main()
