"""The desk's "pause recording" button at 1366x768 against the running service and the real
Asterisk (issue 17, point 3): a demo client calls, agent01 answers on a test phone, and on the
desk, in zh-CN then English, the call's panel says it is recording; the button pauses it (the
server's pause row opens), the panel says "recording paused" with the time it has lasted and
when it resumes by itself; the resume button resumes it (the row closes, by the agent).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from callcenter.crm.recording_pauses import ResumedBy
from callcenter.persistence.recording_pauses import pauses_by_recording
from callcenter.persistence.tables import RecordingRow, User
from callcenter.sandbox.instance import AsteriskInstance
from tests.browser.conftest import VIEWPORT, ServedDesk, free_port, serve, set_queue
from tests.browser.test_desk_wrap_up import log_in, until
from tests.integration.test_recording_real_asterisk import recordings_folder
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(300)]

LIMIT = 90  # seconds a pause may last (CALLCENTER_RECORDING_PAUSE_LIMIT_SECONDS)


@pytest.fixture
async def desk(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> AsyncIterator[ServedDesk]:
    port = free_port()
    line: Hotline = await hotline_factory(
        http_port=port, recording_pause_limit_seconds=LIMIT, **recordings_folder(asterisk)
    )
    async for base_url in serve(line, port):
        yield ServedDesk(line, base_url, "sqlite")


async def recording_id(line: Hotline) -> int:
    async with line.db.read() as session:
        found = await session.scalar(select(RecordingRow.id).order_by(RecordingRow.id.desc()))
    assert found is not None
    return found


async def test_the_desk_pauses_the_recording_and_shows_for_how_long_and_until_when(
    desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    line = desk.line
    await set_queue(line, ring_seconds=15, wrap_up_seconds=5)
    async with line.db.read() as session:
        agent = await session.scalar(select(User.id).where(User.username == "agent01"))
    assert agent is not None
    acd = line.runtime.acd
    pauses = line.runtime.recording_pauses
    assert acd is not None
    assert pauses is not None
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/")
    password = line.phone_secrets
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=password,
        behaviour=Answer(1.0),
        audio=tone_packets(1000),
    ):
        await log_in(page, "agent01")
        await page.click("#btn-shift-start")
        await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")
        await until(lambda: acd.serves(agent))

        script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Talk(25.0, tone_packets(440))]
        caller = KeypadCaller(
            line.settings.sip_port, HOTLINE, [*script, Hangup()], caller=line.client.phone
        )
        await caller.start()
        panel = page.locator("[data-testid=recording-panel]")
        status = page.locator("[data-testid=recording-status]")
        await expect(panel).to_be_visible(timeout=40_000)
        await expect(status).to_have_text("正在录音。", timeout=10_000)
        await expect(page.locator("[data-testid=recording-pause]")).to_be_in_viewport(ratio=1)

        # Paused from the desk: the server's pause opens, the panel says since when and until.
        await page.click("[data-testid=recording-pause]")
        await expect(panel).to_have_attribute("data-state", "paused")
        await expect(status).to_have_text(re.compile(r"^录音已暂停 0:0\d · 1:[23]\d 后自动恢复$"))
        await until(lambda: len(pauses.paused_calls()) == 1)
        await expect(status).to_have_attribute("data-seconds", "2", timeout=5_000)
        await page.screenshot(path=str(artifacts / "desk-recording-paused-zh.png"))

        await page.select_option("[data-testid=lang-select]", "en")
        await expect(status).to_have_text(
            re.compile(r"^Recording paused 0:0\d · resumes by itself in 1:[23]\d$")
        )
        await expect(page.locator("[data-testid=recording-resume]")).to_have_text(
            "Resume recording"
        )
        await page.screenshot(path=str(artifacts / "desk-recording-paused-en.png"))

        # Resumed from the desk: recording again, the pause closed by the agent.
        await page.click("[data-testid=recording-resume]")
        await expect(panel).to_have_attribute("data-state", "recording")
        await expect(status).to_have_text("Recording.")
        await expect(page.locator("[data-testid=recording-pause]")).to_be_enabled()
        await page.screenshot(path=str(artifacts / "desk-recording-resumed-en.png"))
        assert pauses.paused_calls() == []
        [pause] = await pauses_by_recording(line.db, await recording_id(line))
        assert pause.resumed_by is ResumedBy.AGENT
        assert pause.paused_by == agent
        assert pause.end_ms is not None
        assert pause.end_ms - pause.start_ms >= 2000
        result = await asyncio.wait_for(caller.wait(), 60)
    assert result.succeeded, result.output
    assert desk.csp_violations() == []
