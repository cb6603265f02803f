"""The end of a call that ended while no service ran: read from Asterisk's record (CEL), and
the adoption's choice between that end and the time it found the channel gone (issue 16)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path
from types import SimpleNamespace

from callcenter.acd.model import AgentState
from callcenter.acd.ports import OpenCall
from callcenter.pbx.adoption import CallAdoption, EndSource
from callcenter.pbx.cel import channel_ends, parse_cel_line, read_cel_file, read_channel_ends
from tests.unit.test_acd_service import GENERAL, T0, agent, center
from tests.unit.test_cel import QUEUE

CALLER = "fbdev-1796604757.0"  # the caller's channel in the queue fixture
AGENT_LEG = "fbdev-1796604762.1"


def at(epoch: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC)


def test_a_channels_end_is_its_hang_up_in_the_record() -> None:
    ends = channel_ends(read_cel_file(QUEUE), [CALLER, AGENT_LEG, "never-there"])
    assert ends == {CALLER: at("1796604764.878496"), AGENT_LEG: at("1796604764.876887")}


def test_a_channel_whose_hang_up_was_not_recorded_ends_at_its_chan_end() -> None:
    line = (
        '"CHAN_END","1796604770.5","","u-1","u-1","PJSIP/carrier-00000009","from-carrier",'
        '"95555","+8613911112222","",""'
    )
    assert channel_ends([parse_cel_line(line)], ["u-1"]) == {"u-1": at("1796604770.5")}


def test_reading_the_file_for_some_channels_finds_theirs_and_skips_what_is_no_record(
    tmp_path: Path,
) -> None:
    record = tmp_path / "calls.csv"
    record.write_bytes(QUEUE.read_bytes() + b'"HANGUP","not a time"\n"HANGUP",half a line')
    assert read_channel_ends(record, [CALLER]) == {CALLER: at("1796604764.878496")}
    assert read_channel_ends(record, []) == {}
    assert read_channel_ends(tmp_path / "rotated-away.csv", [CALLER]) == {}


@dataclasses.dataclass
class FakeEnds:
    """Asterisk's record as a dict, and the ends the adoption writes."""

    recorded: dict[str, dt.datetime]
    closed: list[tuple[int, dt.datetime, EndSource]] = dataclasses.field(default_factory=list)
    unreadable: bool = False

    async def channel_ends(self, call_ids: Collection[str]) -> Mapping[str, dt.datetime]:
        if self.unreadable:
            raise PermissionError("calls.csv")
        return {i: self.recorded[i] for i in call_ids if i in self.recorded}

    async def close(self, interaction_id: int, at: dt.datetime, source: EndSource) -> bool:
        self.closed.append((interaction_id, at, source))
        return True


def no_channels() -> SimpleNamespace:
    resynced = asyncio.Event()
    resynced.set()
    return SimpleNamespace(resynced=resynced, tracker=SimpleNamespace(channels={}))


HUNG_UP = T0 - dt.timedelta(minutes=3)


async def test_calls_gone_at_a_restart_end_when_asterisk_recorded_else_when_found_gone() -> None:
    recorded = OpenCall(61, "gone-1", 1, "general", answered=True)
    unrecorded = OpenCall(62, "gone-2", None, "general", answered=False)
    ends = FakeEnds({"gone-1": HUNG_UP})
    async with center([GENERAL], [agent(1)], open=[recorded, unrecorded]) as c:
        c.store.statuses[1] = dataclasses.replace(
            c.store.statuses[1], state=AgentState.ON_CALL, interaction_id=61
        )
        adoption = CallAdoption(no_channels(), legs=None, acd=c.acd, ends=ends)  # type: ignore[arg-type]

        await asyncio.wait_for(adoption.run(T0), 5)

        assert sorted(ends.closed) == [
            (61, HUNG_UP, EndSource.ASTERISK),
            (62, T0, EndSource.RESTART),  # the ACD's wall clock: the time it was found gone
        ]
        assert c.store.state(1) is AgentState.WRAP_UP  # the agent moves on as after any call


async def test_an_unreadable_record_still_ends_the_calls_gone_as_found() -> None:
    gone = OpenCall(63, "gone-3", None, "general", answered=False)
    ends = FakeEnds({"gone-3": HUNG_UP}, unreadable=True)
    async with center([GENERAL], [agent(1)], open=[gone]) as c:
        adoption = CallAdoption(no_channels(), legs=None, acd=c.acd, ends=ends)  # type: ignore[arg-type]

        await asyncio.wait_for(adoption.run(T0), 5)

        assert ends.closed == [(63, T0, EndSource.RESTART)]
        assert c.store.phases_of(63) == ["ended"]


async def test_a_record_no_call_produces_is_left_to_the_anomaly_close() -> None:
    impossible = OpenCall(64, "gone-4", None, "general", True, anomaly="wrapped up, never ended")
    ends = FakeEnds({"gone-4": HUNG_UP})
    async with center([GENERAL], [agent(1)], open=[impossible]) as c:
        adoption = CallAdoption(no_channels(), legs=None, acd=c.acd, ends=ends)  # type: ignore[arg-type]

        await asyncio.wait_for(adoption.run(T0), 5)

        assert ends.closed == []
        assert [iid for iid, _ in c.store.anomalies] == [64]
