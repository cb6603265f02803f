"""The load benchmark (scripts/bench_load.py) at a tiny size, as a smoke test: two levels of
a few callers on the real Asterisk, the service in its own process, agents' phones answering.
It must report each level's figures with no failed call, and say where the knee is.

Not a benchmark: the figures are not judged here, only that the script measures and
decides. It runs on an Asterisk instance of its own (the session's instance name with
``-load``, its ports one above the session's), so it never stops the suite's instance.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from callcenter.settings import PROJECT_ROOT

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


def own_instance_env() -> dict[str, str]:
    env = os.environ.get
    rtp = int(env("CALLCENTER_TEST_RTP_START", "12000"))
    sip = int(env("CALLCENTER_TEST_SIP_PORT", "15060"))
    wss = int(env("CALLCENTER_TEST_WSS_PORT", str(sip + 29)))
    return {
        "CALLCENTER_TEST_INSTANCE": f"{env('CALLCENTER_TEST_INSTANCE', 'pytest')}-load",
        "CALLCENTER_TEST_AMI_PORT": str(int(env("CALLCENTER_TEST_AMI_PORT", "15038")) + 1),
        "CALLCENTER_TEST_SIP_PORT": str(sip + 1),
        # The session's instance holds its WSS port and the plain HTTP one after it
        # (sandbox/instance.py): this one's pair comes after those two.
        "CALLCENTER_TEST_WSS_PORT": str(wss + 2),
        # The upper half of the session's RTP range: a few calls need a few ports.
        "CALLCENTER_TEST_RTP_START": str(rtp + 500),
        "CALLCENTER_TEST_RTP_END": str(rtp + 999),
    }


async def test_the_load_script_reports_each_level_and_finds_the_knee(tmp_path: Path) -> None:
    client = int(os.environ.get("CALLCENTER_TEST_CLIENT_PORT", "25470")) + 1
    out = tmp_path / "load"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_ROOT / "scripts" / "bench_load.py"),
        *("--levels", "2,4", "--settle", "5", "--hold", "4", "--talk", "2"),
        *("--listen", "1", "--patience", "6", "--agents", "2", "--clients", "100"),
        *("--http-port", str(client), "--out", str(out)),
        env={**os.environ, **own_instance_env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    output = (await asyncio.wait_for(proc.communicate(), 110))[0].decode(errors="replace")
    assert proc.returncode == 0, output

    result = json.loads(out.with_suffix(".json").read_text())
    levels = result["levels"]
    assert [level["target"] for level in levels] == [2, 4], output
    for level in levels:
        assert level["failed"] == 0, output
        assert level["concurrent_max"] >= 1, output
        assert level["service_rss_peak_mb"] >= level["service_rss_mb"] > 0, output
        assert level["service_cpu"] > 0, output
        assert level["asterisk_cpu"] > 0, output
        assert level["ami_events_per_second"] > 0, output
    # Keys were heard and answered with prompts on Asterisk's clock, in the run as a whole.
    assert sum(level["key_to_prompt"]["n"] for level in levels) > 0, output
    knee = result["knee"]
    assert knee["reason"], output
    if knee["level"] is None:
        assert knee["reason"] == "no knee up to 4 concurrent calls", output
    assert f"knee: {knee['reason']}" in output
    assert "<svg" in out.with_suffix(".svg").read_text()
    assert result["memory_by_phase"][0]["phase"].startswith("agents")
