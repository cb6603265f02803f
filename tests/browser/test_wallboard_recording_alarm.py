"""The recording alarm on the wallboard, in Chromium at 1366x768 against the running service
and the real Asterisk (issue 17, point 7).

The recordings go to a 64 KiB tmpfs mounted in Asterisk's namespace (as in
tests/integration/test_recording_faults_real_asterisk.py). A supervisor's wallboard is open;
the disk is filled: a red bar says, in Chinese, that the recording disk is full and since when;
a caller then talks to agent01 (the call goes on to its end) and the bar counts that call; in
English it says the same; once the space is freed the bar goes. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from callcenter.sandbox.instance import AsteriskInstance
from tests.browser.conftest import ServedDesk, free_port, serve
from tests.browser.test_wallboard import open_wallboard
from tests.integration.test_acd_real_asterisk import short_queue
from tests.integration.test_recording_faults_real_asterisk import (
    assert_the_call_went_on,
    small_disk,
    talk_to_agent,
)
from tests.integration.test_recording_real_asterisk import finished_recording
from tests.support.hotline import Hotline

WALLBOARD = Path(__file__).resolve().parents[2] / "agent_ui" / "wallboard"
pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]


def words(language: str, key: str) -> str:
    text: str = json.loads((WALLBOARD / "i18n" / f"{language}.json").read_text("utf-8"))[key]
    return text


def head(language: str, key: str) -> str:
    """The words of ``key`` before its first placeholder."""
    return words(language, key).split("{", 1)[0]


async def test_the_wallboard_shows_the_recording_alarm_and_the_calls_it_affects(
    hotline_factory: Any, asterisk: AsteriskInstance, browser: Browser, artifacts: Path
) -> None:
    with small_disk(asterisk) as disk:
        port = free_port()
        line: Hotline = await hotline_factory(
            http_port=port,
            recordings_dir=disk.seen_by_service,
            recordings_dir_in_asterisk=disk.in_asterisk,
            recordings_check_seconds=0.3,
            recordings_min_free_bytes=8192,
        )
        await short_queue(line)
        async for base_url in serve(line, port):
            desk = ServedDesk(line, base_url, "sqlite")
            page = await open_wallboard(desk, browser, "supervisor01")
            bar = page.locator("[data-testid=wb-recording-alarm]")
            await expect(bar).to_be_hidden()

            disk.fill()
            await expect(bar).to_be_visible(timeout=5000)
            await expect(bar).to_have_attribute("data-reason", "disk-full")
            await expect(bar).to_contain_text(head("zh-CN", "wb.rec_alarm_disk_full"))
            await expect(bar).to_contain_text("0 通电话")

            succeeded, output, call = await talk_to_agent(line)
            assert_the_call_went_on(succeeded, output, call)
            row = await finished_recording(line)
            assert row.failure_reason == "disk-full"
            await expect(bar).to_contain_text("1 通电话", timeout=5000)
            await page.screenshot(path=str(artifacts / "wallboard-recording-alarm-zh-CN.png"))

            await page.locator(".lang-select").select_option("en")
            await expect(bar).to_contain_text(head("en", "wb.rec_alarm_disk_full"))
            await expect(bar).to_contain_text("(calls affected so far: 1)")
            await page.screenshot(path=str(artifacts / "wallboard-recording-alarm-en.png"))

            disk.free()
            await expect(bar).to_be_hidden(timeout=5000)
            assert desk.csp_violations() == []
            assert not [m for m in desk.console if m.startswith("pageerror")], desk.console
            await page.context.close()
        await line.stop()
