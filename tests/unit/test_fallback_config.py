"""The dialplan's fallback as rendered from settings (asterisk_conf/, callcenter/sandbox/):
the pickup deadline on every hotline entry, the fallback's modes, Asterisk's own record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callcenter.ivr.fallback_prompts import FALLBACK_TEXTS, fallback_sound_names
from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.instance import AsteriskInstance, cel_file_for
from callcenter.settings import Settings


def render(tmp_path: Path, **settings: object) -> dict[str, str]:
    instance = AsteriskInstance(Settings(sandbox_cache_dir=tmp_path, **settings))  # type: ignore[arg-type]
    return {path.name: path.read_text() for path in instance.render_config()}


def context(conf: str, name: str) -> str:
    found = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", conf, re.M | re.S)
    assert found is not None, name
    return found.group(1)


def steps(section: str, exten: str) -> list[str]:
    """The applications of one extension, in order (``exten =>`` then ``same =>`` lines)."""
    found, inside = [], False
    for line in section.splitlines():
        line = line.strip()
        if line.startswith("exten =>"):
            inside = line.split("=>", 1)[1].split(",", 1)[0].strip() == exten
        if inside and (line.startswith(("exten =>", "same =>"))):
            found.append(
                line.split(",", 2)[2] if line.startswith("exten") else line.split(",", 1)[1]
            )
    return found


def test_every_hotline_entry_arms_the_pickup_deadline_before_async_agi(tmp_path: Path) -> None:
    conf = render(tmp_path, service_pickup_seconds=7)["extensions.conf"]
    carrier = context(conf, "from-carrier")
    for exten in ("_X!", "_+X!", "s"):
        assert steps(carrier, exten) == [
            "Set(TIMEOUT(absolute)=7)",
            "AGI(agi:async)",
            "Goto(service-fallback,s,1)",  # the service let go of the call (ASYNCAGI BREAK)
        ], exten
    assert steps(carrier, "T") == ["Goto(service-fallback,s,1)"]  # the deadline fired
    phones = context(conf, "from-phones")
    assert steps(phones, "_X!")[:2] == ["Set(TIMEOUT(absolute)=7)", "AGI(agi:async)"]
    assert steps(phones, "T")[0].startswith("Congestion")
    assert "waits for it" not in conf


def test_the_fallback_marks_each_call_in_asterisks_own_record(tmp_path: Path) -> None:
    files = render(tmp_path)
    fallback = context(files["extensions.conf"], "service-fallback")
    assert steps(fallback, "s") == ["CELGenUserEvent(CC_FALLBACK,apology)", "Goto(apology,1)"]
    apology = steps(fallback, "apology")
    assert apology[0] == "Answer()"
    assert "CELGenUserEvent(CC_FALLBACK_CALLBACK,zh)" in apology
    assert "CELGenUserEvent(CC_FALLBACK_CALLBACK,en)" in apology
    played = set(re.findall(r"/prompts/fallback/([a-z]+-[a-z]+)", "\n".join(apology)))
    assert played == set(fallback_sound_names())
    assert set(FALLBACK_TEXTS) == {"apology", "offer", "callback", "goodbye"}
    cel = files["cel.conf"]
    assert re.search(r"^enable = yes$", cel, re.M)
    events = re.search(r"^events = (.+)$", cel, re.M)
    assert events is not None
    assert {"CHAN_START", "HANGUP", "CHAN_END", "BRIDGE_ENTER", "USER_DEFINED"} <= set(
        events.group(1).split(",")
    )
    modules = files["modules.conf"]
    for module in ("cel_custom.so", "res_cdrel_custom.so", "app_celgenuserevent.so"):
        assert f"load => {module}" in modules
    assert "app_queue" not in modules  # loaded only for the queue mode


def test_the_queue_mode_rings_the_agents_phones_from_asterisk(tmp_path: Path) -> None:
    files = render(
        tmp_path,
        fallback_mode="queue",
        agent_extensions="1001,1002",
        fallback_queue_wait_seconds=90,
    )
    fallback = context(files["extensions.conf"], "service-fallback")
    assert steps(fallback, "queue") == [
        "Answer()",
        "Queue(cc-fallback,,,,90)",
        "Goto(apology,1)",
    ]
    assert "load => app_queue.so" in files["modules.conf"]
    queue = context(files["queues.conf"], "cc-fallback")
    assert re.findall(r"^member => (.+)$", queue, re.M) == ["PJSIP/1001", "PJSIP/1002"]


@pytest.mark.parametrize(
    ("number", "trunk", "dial"),
    [
        ("1901", "", "PJSIP/1901"),
        ("+862155556666", "198.51.100.9:5060", "PJSIP/carrier/sip:+862155556666@198.51.100.9:5060"),
    ],
)
def test_the_transfer_mode_dials_an_extension_or_the_trunk(
    tmp_path: Path, number: str, trunk: str, dial: str
) -> None:
    files = render(
        tmp_path,
        fallback_mode="transfer",
        fallback_transfer_number=number,
        outbound_trunk=trunk,
    )
    fallback = context(files["extensions.conf"], "service-fallback")
    assert steps(fallback, "transfer") == [f"Dial({dial},60)", "Goto(apology,1)"]


def test_a_transfer_number_outside_without_a_trunk_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="CALLCENTER_OUTBOUND_TRUNK"):
        render(tmp_path, fallback_mode="transfer", fallback_transfer_number="+862155556666")


def test_the_transfer_mode_needs_its_number() -> None:
    with pytest.raises(ValueError, match="fallback_transfer_number"):
        Settings(fallback_mode="transfer")


def test_the_service_reads_the_record_where_asterisk_writes_it(tmp_path: Path) -> None:
    settings = Settings(sandbox_cache_dir=tmp_path, sandbox_instance="abc")
    instance = AsteriskInstance(settings)
    cel_custom = render(tmp_path, sandbox_instance="abc")["cel_custom.conf"]
    [name] = re.findall(r"^\[(.+)\]$", cel_custom, re.M)
    # A bare file name lands in the instance's log folder, cel-custom/.
    assert cel_file_for(settings) == instance.dir / "log" / "cel-custom" / name
    elsewhere = Path("/srv/asterisk-log/cel-custom/calls.csv")
    assert cel_file_for(settings.model_copy(update={"cel_file": elsewhere})) == elsewhere
