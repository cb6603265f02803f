"""scripts/phone.py against the real Asterisk, run as a newcomer runs it (its own process):
it registers (Asterisk's device state says so), shows the caller as the phone's screen does,
answers, streams its tone (Echo sends it back, so RTP comes in), hangs up after ``--talk``
and unregisters."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from callcenter.asterisk.client import open_ami
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.ami import config_for

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = "1003"
CALLER_NAME = "Li Wei 李伟"
CALLER_NUMBER = "+8613800138000"


async def device_state(settings: Settings, extension: str) -> str:
    async with open_ami(config_for(settings)) as ami:
        listed = await ami.action_list("DeviceStateList")
    states = {e.get("Device"): e.get("State") for e in listed.events}
    return states.get(f"PJSIP/{extension}") or ""


async def test_the_phone_script_registers_answers_with_audio_and_unregisters(
    asterisk: AsteriskInstance, asterisk_settings: Settings, sandbox_phones: dict[str, str]
) -> None:
    env = {
        **os.environ,
        "CALLCENTER_SIP_PORT": str(asterisk_settings.sip_port),
        "CALLCENTER_SIP_BIND": asterisk_settings.sip_bind,
    }
    # The person's own secret, as the desk shows it (GET /api/me/phone).
    env["CALLCENTER_PHONE_PASSWORD"] = sandbox_phones[EXTENSION]
    script = ROOT / "scripts" / "phone.py"
    args = ["--answer-after", "0.5", "--talk", "2", "--calls", "1"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        EXTENSION,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    stdout = process.stdout
    assert stdout is not None
    lines: list[str] = []

    async def line() -> str:
        text = (await asyncio.wait_for(stdout.readline(), 20)).decode().rstrip("\n")
        lines.append(text)
        return text

    try:
        assert (await line()).startswith(f"registered as {EXTENSION} ")
        assert await device_state(asterisk_settings, EXTENSION) == "NOT_INUSE"
        async with open_ami(config_for(asterisk_settings)) as ami:
            await ami.action(
                "Originate",
                {
                    "Channel": f"PJSIP/{EXTENSION}",
                    "Application": "Echo",
                    "Data": "",
                    "CallerID": f'"{CALLER_NAME}" <{CALLER_NUMBER}>',
                    "Timeout": "10000",
                    "Async": "true",
                },
            )
            assert await line() == f'ringing: "{CALLER_NAME}" <{CALLER_NUMBER}>'
            assert await line() == "answered: sending a 440 Hz tone"
            ended = await line()
        found = re.fullmatch(
            r"ended after (\d+\.\d) s: this phone hung up; RTP sent (\d+) packets, "
            r"received (\d+)",
            ended,
        )
        assert found, ended
        assert 1.5 <= float(found[1]) <= 4.0
        assert int(found[2]) >= 75  # 2 s of 20 ms packets
        assert int(found[3]) >= 50  # Echo sent them back
        assert await line() == "now wrap up the call on the desk"
        assert await line() == f"unregistered {EXTENSION}"
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await device_state(asterisk_settings, EXTENSION) == "UNAVAILABLE", lines
