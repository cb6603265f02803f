"""Monitoring with the supervisor's phone not registered (issue 16): refused at once with
``supervisor-phone-not-registered``, naming the extension, and nothing rings; a registered
phone rings as before, and "cannot tell" (the link is down) is left to the Originate."""

from __future__ import annotations

import pytest

from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.supervision import MonitorMode, SupervisorPhoneNotRegistered
from tests.fakes.phones import FakePhones
from tests.unit.test_supervision import (
    AGENT,
    SUPERVISOR,
    Backend,
    RecordingAmi,
    channel,
    service,
)


@pytest.fixture
def tracker() -> ChannelTracker:
    tracker = ChannelTracker()
    tracker.apply(channel("a-1", "PJSIP/carrier-00000001"))
    tracker.apply(channel("a-2", "PJSIP/1001-00000002"))
    return tracker


@pytest.mark.parametrize("mode", list(MonitorMode))
async def test_an_unregistered_supervisor_phone_is_refused_and_nothing_rings(
    tracker: ChannelTracker, mode: MonitorMode
) -> None:
    ami, backend = RecordingAmi(), Backend()
    phones = FakePhones("1001")  # the agent's phone, not the supervisor's 1901
    with pytest.raises(SupervisorPhoneNotRegistered) as refused:
        await service(tracker, ami, backend, phones=phones).monitor(SUPERVISOR, AGENT, mode)
    assert refused.value.error_id == "supervisor-phone-not-registered"
    assert refused.value.detail == {"extension": "1901"}
    assert "1901" in refused.value.message
    assert ami.actions == []
    assert backend.audit == []


async def test_a_registered_supervisor_phone_rings(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    phones = FakePhones("1001", "1901")
    await service(tracker, ami, backend, phones=phones).monitor(
        SUPERVISOR, AGENT, MonitorMode.LISTEN
    )
    assert [name for name, _ in ami.actions] == ["Originate"]


async def test_cannot_tell_leaves_it_to_the_originate(tracker: ChannelTracker) -> None:
    ami, backend = RecordingAmi(), Backend()
    phones = FakePhones()
    phones.known = False
    await service(tracker, ami, backend, phones=phones).monitor(
        SUPERVISOR, AGENT, MonitorMode.LISTEN
    )
    assert [name for name, _ in ami.actions] == ["Originate"]
