"""A restart of the service between two screen pops, in Chromium (issue 14, point 5 and (h)).

The bus numbers its events from 1 again after a restart, so the second run's pop can carry a
seq the desk already saw in the first run. The desk used to key what it had seen by (type,
seq) and dropped such a pop as a repeat: it never appeared. Every message now carries the
run's ``epoch`` and the desk forgets what it saw when the epoch changes.

Which seq the second pop gets depends on how many events each run publishes first (floor
snapshots come with time), so the test does not leave the repeat to chance: in the first run
it sends the desk a burst of pops for made-up calls, covering a range of seqs that the second
run's pop is sure to fall in, and checks that it did.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from callcenter.events import CallOffered
from tests.browser.conftest import VIEWPORT, free_port, serve, set_queue
from tests.browser.test_agent_desktop import client_row, log_in_on_page, user_id
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Step, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(300)]

# Every frame the page's websocket receives, in order, whoever handles it after.
FRAMES = """
(() => {
  const frames = [];
  window.__frames = frames;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        const m = JSON.parse(event.data);
        const call_id = m.data?.call_id ?? null;
        frames.push({type: m.type, epoch: m.epoch ?? null, seq: m.seq, call_id});
      });
    }
  };
})();
"""
BURST = 200  # below the hub's send queue (256): the burst must not close the desk as too slow
# Mandarin (1), then an agent (0); the agent's phone answers; the caller hangs up a while later.
CALL: list[Step] = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(10.0), Hangup()]


def made_up_pop(agent_id: int, call_id: str) -> CallOffered:
    """A pop for a call that does not exist: no client (nothing audited, nothing opened)."""
    return CallOffered(
        agent_id=agent_id,
        extension="1001",
        call_id=call_id,
        interaction_id=None,
        queue="general",
        client=None,
        caller_number=None,
        language="zh",
        priority=1,
        authenticated=False,
        ivr_path=(),
    )


async def frames(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate("window.__frames")
    return found


async def until(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - polls the ACD's view; wait_for bounds it
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def real_pop_after(page: Page, start: int, timeout: float = 40.0) -> dict[str, Any]:
    """The first pop of a real call (not made up) the page received after frame ``start``."""

    async def poll() -> dict[str, Any]:
        while True:
            for frame in (await frames(page))[start:]:
                if frame["type"] == "call.offered" and not frame["call_id"].startswith("made-up"):
                    return frame
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


async def routable(line: Hotline, agent_id: int) -> None:
    acd = line.runtime.acd
    assert acd is not None
    await until(lambda: acd.serves(agent_id))


async def a_call(line: Hotline) -> KeypadCaller:
    caller = KeypadCaller(line.settings.sip_port, HOTLINE, CALL, caller=line.client.phone)
    await caller.start()
    return caller


class Service:
    """The hotline served on one TCP port, which a restart keeps (the page's origin)."""

    def __init__(self, factory: Callable[..., Any]) -> None:
        self._factory = factory
        self.port = free_port()
        self._served: AsyncGenerator[str, None] | None = None
        self.line: Hotline | None = None

    async def start(self) -> str:
        """Start the service, or start it again on the same database; its base URL."""
        if self.line is not None:
            await self.stop_serving()
        self.line = await self._factory(restart=self.line, http_port=self.port)
        self._served = serve(self.line, self.port)  # type: ignore[assignment]
        assert self._served is not None
        return await anext(self._served)

    async def stop_serving(self) -> None:
        """Stop uvicorn (the hotline factory stops the service itself)."""
        if self._served is not None:
            await self._served.aclose()
            self._served = None


@pytest.fixture
async def service(hotline_factory: Callable[..., Any]) -> AsyncGenerator[Service, None]:
    service = Service(hotline_factory)
    try:
        yield service
    finally:
        await service.stop_serving()


async def test_a_pop_after_a_restart_shows_though_its_seq_repeats_one_the_desk_saw(
    service: Service, browser: Browser, artifacts: Path
) -> None:
    base_url = await service.start()
    line = service.line
    assert line is not None
    await set_queue(line, ring_seconds=15, wrap_up_seconds=2)  # ready again soon after call 1
    client = await client_row(line)
    agent_id = await user_id(line, "agent01")
    nobody = await user_id(line, "agent02")  # never logged in: their pops show nowhere
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script(FRAMES)
    await page.goto(f"{base_url}/")
    pop = page.locator("#pop")
    status = page.locator("#ws-status")
    badge = page.locator("#state-badge")
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=line.phone_secrets,
        behaviour=Answer(after=1.0),
    ) as phone:
        await log_in_on_page(page, "agent01")
        await page.click("#btn-shift-start")
        await expect(badge).to_have_attribute("data-state", "ready")
        await routable(line, agent_id)

        # --- the first run: the burst, then a real call ----------------------------------
        bus_1 = line.runtime.events
        first_burst_seq = bus_1.published + 1
        for n in range(BURST):
            bus_1.publish(made_up_pop(agent_id, f"made-up-{n}"))
        await expect(pop).to_have_attribute("data-call-id", f"made-up-{BURST - 1}")
        caller = await a_call(line)
        await phone.wait_invite(1, timeout=40)
        await expect(page.locator("#pop-name")).to_contain_text(client.name)
        first_pop = await real_pop_after(page, 0)
        await phone.wait_answered(timeout=10)
        assert (await caller.wait()).succeeded
        await expect(badge).to_have_attribute("data-state", "ready", timeout=20_000)

        # --- the restart, on the same database; the page stays open and reconnects -------
        restart_at = len(await frames(page))
        await service.stop_serving()
        await expect(status).not_to_have_attribute("data-status", "open", timeout=15_000)
        await service.start()
        line = service.line
        assert line is not None
        await expect(status).to_have_attribute("data-status", "open", timeout=60_000)
        await set_queue(line, wrap_up_seconds=300)  # the wrap-up stays on screen to be seen
        await routable(line, agent_id)

        # --- the second run: its seqs start at 1 again -----------------------------------
        bus_2 = line.runtime.events
        while bus_2.published < first_burst_seq:  # so that the pop's seq falls in the burst's
            bus_2.publish(made_up_pop(nobody, f"made-up-pad-{bus_2.published}"))
        caller = await a_call(line)
        await phone.wait_invite(2, timeout=40)
        second_pop = await real_pop_after(page, restart_at)
        # The second call's pop is on screen: the desk did not take it for a repeat.
        await expect(pop).to_have_attribute("data-call-id", second_pop["call_id"])
        await expect(page.locator("#pop-name")).to_contain_text(client.name)
        await page.screenshot(path=str(artifacts / "pop-after-restart.png"))
        await phone.wait_answered(timeout=10)
        assert (await caller.wait()).succeeded
        # The new run's state changes reach the desk too: the wrap-up (issue 14).
        await expect(page.locator("#wrapup")).to_be_visible(timeout=15_000)
        await expect(badge).to_have_attribute("data-state", "wrap_up")
    received = await frames(page)
    await context.close()

    before, after = received[:restart_at], received[restart_at:]
    burst = [first_burst_seq, first_burst_seq + BURST - 1]
    seqs = {"burst": burst, "pops": [first_pop, second_pop]}  # for a failure's reader
    (artifacts / "restart-seqs.json").write_text(json.dumps(seqs, indent=1))
    hellos = [f["epoch"] for f in received if f["type"] == "hello"]
    assert hellos[0] == bus_1.epoch
    assert hellos[-1] == bus_2.epoch != bus_1.epoch
    assert {f["epoch"] for f in after} == {bus_2.epoch}
    # The repeat this test is about: the second run's pop has the number of a pop the desk was
    # shown in the first run.
    assert second_pop["call_id"] != first_pop["call_id"]
    seen_before = {(f["type"], f["seq"]) for f in before}
    assert ("call.offered", second_pop["seq"]) in seen_before, (second_pop, first_burst_seq)
    assert errors == []
