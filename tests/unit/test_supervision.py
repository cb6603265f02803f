"""Monitoring (callcenter/pbx/supervision.py) with a recording AMI fake and a channel view fed
with AMI events: what is checked before the Originate, and what the Originate asks for."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from callcenter.asterisk.errors import AmiConnectionLost
from callcenter.asterisk.protocol import HeaderValue, Message
from callcenter.pbx import supervision as supervision_module
from callcenter.pbx.call_states import CallStatus, ControlState, NoLiveCall, PbxUnavailable
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.supervision import (
    AgentNotOnCall,
    CannotMonitorSelf,
    MonitorMode,
    NoSupervisorPhone,
    NotMonitoring,
    Supervision,
)

SUPERVISOR, AGENT = 50, 7


class RecordingAmi:
    def __init__(self) -> None:
        self.actions: list[tuple[str, dict[str, Any]]] = []
        self.fail: Exception | None = None

    async def action(self, name: str, fields: Mapping[str, HeaderValue] | None = None) -> Message:
        if self.fail is not None:
            raise self.fail
        self.actions.append((name, dict(fields or {})))
        return Message([("Response", "Success")])


class Backend:
    def __init__(self) -> None:
        self.extensions = {AGENT: "1001", SUPERVISOR: "1901"}
        self.audit: list[tuple[Any, ...]] = []

    async def agent_extension(self, agent_id: int) -> str | None:
        return self.extensions.get(agent_id)

    async def own_extension(self, user_id: int) -> str | None:
        return self.extensions.get(user_id)

    async def monitored(
        self, supervisor_id: int, agent_id: int, mode: str, interaction_id: int | None
    ) -> None:
        self.audit.append(("monitored", supervisor_id, agent_id, mode, interaction_id))

    async def monitor_ended(self, supervisor_id: int, agent_id: int) -> None:
        self.audit.append(("ended", supervisor_id, agent_id))


class Calls:
    def __init__(self, interaction_id: int | None) -> None:
        self.interaction_id = interaction_id

    def status(self, agent_id: int) -> CallStatus:
        if self.interaction_id is None:
            raise NoLiveCall("no controlled call")
        return CallStatus(ControlState.TALKING, "c-1", self.interaction_id, 0, None)


def channel(uniqueid: str, name: str, state: str = "Up") -> Message:
    return Message(
        [
            ("Event", "Newchannel"),
            ("Uniqueid", uniqueid),
            ("Channel", name),
            ("ChannelStateDesc", state),
        ]
    )


class Now:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tracker() -> ChannelTracker:
    tracker = ChannelTracker()
    tracker.apply(channel("a-1", "PJSIP/carrier-00000001"))
    tracker.apply(channel("a-2", "PJSIP/1001-00000002"))
    return tracker


def service(tracker: ChannelTracker, ami: RecordingAmi, backend: Backend, **kw: Any) -> Supervision:
    return Supervision(ami, tracker, backend, Calls(42), **kw)


@pytest.mark.parametrize("mode", list(MonitorMode))
async def test_monitor_rings_the_supervisors_phone_into_chanspy_on_the_agents_leg(
    tracker: ChannelTracker, mode: MonitorMode
) -> None:
    ami, backend = RecordingAmi(), Backend()
    monitoring = await service(tracker, ami, backend).monitor(SUPERVISOR, AGENT, mode)
    [(name, fields)] = ami.actions
    assert name == "Originate"
    assert fields["Channel"] == "PJSIP/1901"
    assert (fields["Context"], fields["Exten"], fields["Priority"]) == ("supervise", mode, "1")
    assert fields["Variable"] == "CC_SPY=PJSIP/1001-00000002"
    assert fields["ChannelId"] == monitoring.call_id
    assert fields["Async"] == "true"
    assert monitoring.interaction_id == 42
    assert backend.audit == [("monitored", SUPERVISOR, AGENT, mode.value, 42)]


async def test_a_ringing_agent_phone_is_not_a_call(tracker: ChannelTracker) -> None:
    tracker.channels.clear()
    tracker.apply(channel("a-3", "PJSIP/1001-00000003", state="Ringing"))
    ami, backend = RecordingAmi(), Backend()
    with pytest.raises(AgentNotOnCall):
        await service(tracker, ami, backend).monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    assert ami.actions == []
    assert backend.audit == []


async def test_checks_come_before_any_call(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    supervision = service(tracker, ami, backend)
    with pytest.raises(CannotMonitorSelf):
        await supervision.monitor(AGENT, AGENT, MonitorMode.LISTEN)
    del backend.extensions[SUPERVISOR]
    with pytest.raises(NoSupervisorPhone):
        await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    del backend.extensions[AGENT]
    with pytest.raises(AgentNotOnCall):
        await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    assert ami.actions == []
    assert backend.audit == []


async def test_a_call_not_under_call_control_has_no_interaction(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    supervision = Supervision(ami, tracker, backend, Calls(None))
    monitoring = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    assert monitoring.interaction_id is None


async def test_a_pbx_that_refuses_is_named_and_nothing_is_audited(
    tracker: ChannelTracker,
) -> None:
    ami, backend = RecordingAmi(), Backend()
    ami.fail = AmiConnectionLost("gone")
    with pytest.raises(PbxUnavailable):
        await service(tracker, ami, backend).monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    assert backend.audit == []


async def test_stop_hangs_up_the_supervisors_channel(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    supervision = service(tracker, ami, backend)
    monitoring = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.WHISPER)
    tracker.apply(channel(monitoring.call_id, "PJSIP/1901-00000009"))
    await supervision.stop(SUPERVISOR)
    assert ami.actions[-1] == ("Hangup", {"Channel": "PJSIP/1901-00000009"})
    assert backend.audit[-1] == ("ended", SUPERVISOR, AGENT)
    assert supervision.current(SUPERVISOR) is None
    with pytest.raises(NotMonitoring):
        await supervision.stop(SUPERVISOR)


async def test_a_new_monitoring_replaces_the_running_one(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    supervision = service(tracker, ami, backend)
    first = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    tracker.apply(channel(first.call_id, "PJSIP/1901-00000009"))
    second = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.BARGE)
    assert [name for name, _ in ami.actions] == ["Originate", "Hangup", "Originate"]
    assert supervision.current(SUPERVISOR) == second


async def test_a_hung_up_or_never_answered_monitoring_ends(tracker: ChannelTracker) -> None:
    ami, backend, now = RecordingAmi(), Backend(), Now()
    supervision = service(tracker, ami, backend, clock=now)
    first = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    assert supervision.current(SUPERVISOR) == first  # queued, its channel not seen yet
    tracker.apply(channel(first.call_id, "PJSIP/1901-00000009"))
    assert supervision.current(SUPERVISOR) == first
    tracker.apply(Message([("Event", "Hangup"), ("Uniqueid", first.call_id)]))
    assert supervision.current(SUPERVISOR) is None
    await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    now.t += 60  # never seen: the Originate failed
    assert supervision.current(SUPERVISOR) is None


async def test_stopping_a_monitoring_still_ringing_hangs_up_its_channel_once_it_appears(
    tracker: ChannelTracker,
) -> None:
    ami, backend = RecordingAmi(), Backend()
    supervision = service(tracker, ami, backend)
    monitoring = await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)

    async def phone_rings() -> None:  # the queued Originate's channel, a moment later
        await asyncio.sleep(0.1)
        tracker.apply(channel(monitoring.call_id, "PJSIP/1901-0000000a", state="Ringing"))

    ringing = asyncio.create_task(phone_rings())
    await supervision.stop(SUPERVISOR)
    await ringing
    assert ami.actions[-1] == ("Hangup", {"Channel": "PJSIP/1901-0000000a"})
    assert backend.audit[-1] == ("ended", SUPERVISOR, AGENT)
    assert supervision.current(SUPERVISOR) is None


async def test_stopping_a_monitoring_whose_channel_never_appears_gives_up(
    tracker: ChannelTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervision_module, "START_WAIT", 0.1)
    ami, backend = RecordingAmi(), Backend()
    supervision = service(tracker, ami, backend)
    await supervision.monitor(SUPERVISOR, AGENT, MonitorMode.LISTEN)
    await asyncio.wait_for(supervision.stop(SUPERVISOR), 2.0)
    assert [name for name, _ in ami.actions] == ["Originate"]  # nothing to hang up
    assert backend.audit[-1] == ("ended", SUPERVISOR, AGENT)
    assert supervision.current(SUPERVISOR) is None
