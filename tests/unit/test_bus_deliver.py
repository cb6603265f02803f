"""The bus with envelopes of other instances (EventBus.deliver, issue 21): offered as their
origin numbered them, in the order they arrive among this bus's own; and the table of the
desks other instances have open (callcenter/broker/desks.py)."""

from __future__ import annotations

import pytest

from callcenter.broker import RemoteDesks
from callcenter.events import EventBus
from tests.support.cti_desk import offered
from tests.support.events import bus_event


async def test_a_delivered_envelope_keeps_its_origins_numbers_and_moves_no_counter() -> None:
    owner, standby = EventBus(), EventBus()
    for _ in range(41):
        owner.publish(bus_event("agent.state", agent_id=7, state="ready"))
    remote = owner.publish(bus_event("agent.state", agent_id=7, state="reserved"))
    with standby.subscribe() as sub:
        standby.deliver(remote)
        local = standby.publish(bus_event("agent.state", agent_id=8, state="ready"))
        got = [sub._items.popleft()[1] for _ in range(2)]
    assert [(e.epoch, e.seq) for e in got] == [(owner.epoch, 42), (standby.epoch, 1)]
    assert (local.seq, standby.published, standby.delivered) == (1, 1, 1)
    assert standby.is_local(local)
    assert not standby.is_local(remote)


def test_a_bus_refuses_to_deliver_its_own_envelope() -> None:
    bus = EventBus()
    mine = bus.publish(bus_event("agent.state", agent_id=7, state="ready"))
    with pytest.raises(ValueError, match="publish"):
        bus.deliver(mine)


async def test_kept_pops_and_other_events_come_out_in_arrival_order_whatever_their_seqs() -> None:
    owner, standby = EventBus(), EventBus()
    for _ in range(100):  # the owner's seqs are far above the standby's
        owner.publish(bus_event("agent.state", agent_id=7, state="ready"))
    pop = owner.publish(offered(7, "c1"))
    sub = standby.subscribe(keep=lambda e: e.topic == "call.offered")
    before = standby.publish(bus_event("agent.state", agent_id=8, state="ready"))
    standby.deliver(pop)
    after = standby.publish(bus_event("agent.state", agent_id=8, state="not_ready"))
    got = [await sub.get() for _ in range(3)]
    assert [(e.epoch, e.seq) for e in got] == [
        (standby.epoch, before.seq),
        (owner.epoch, pop.seq),
        (standby.epoch, after.seq),
    ]


def test_desks_elsewhere_are_forgotten_after_three_missed_words() -> None:
    now = [0.0]
    desks = RemoteDesks(lambda offer: None, clock=lambda: now[0])
    desks.heard("b", [7, 9], period=2.0)
    assert desks.open_elsewhere(7)
    assert not desks.open_elsewhere(8)
    now[0] = 5.9
    assert desks.open_elsewhere(9)
    now[0] = 6.1  # no word for more than three periods: instance b is gone
    assert not desks.open_elsewhere(7)
    assert desks.instances == 0
