"""No "ready" without a registered phone (callcenter/acd/phones.py), in memory: the refusal of
the agent's ready and login, and the system taking a ready agent whose phone goes out of
ready (reason ``no_phone``), but nobody on a call, and nobody on a guess."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from callcenter.acd.agent_states import AgentStates
from callcenter.acd.agents import AgentStatus
from callcenter.acd.model import AgentProfile, AgentState
from callcenter.acd.phones import (
    NO_PHONE,
    PhoneCheck,
    PhoneNotRegistered,
    PhoneStateUnknown,
    PhoneWatch,
)
from callcenter.events import AgentStateChanged, EventBus
from tests.fakes.acd import T0, FakeAcdStore, settle
from tests.fakes.phones import FakePhones

S = AgentState


class StoredPhones:
    """The AgentPhones store over the fake ACD store's agents."""

    def __init__(self, store: FakeAcdStore) -> None:
        self.store = store

    async def extension_of(self, agent_id: int) -> str | None:
        return self.store.profiles[agent_id].extension or None

    async def ready_agents(self) -> list[tuple[int, str | None]]:
        return [
            (agent_id, self.store.profiles[agent_id].extension)
            for agent_id, status in self.store.statuses.items()
            if status.state is S.READY
        ]


@dataclass
class Floor:
    store: FakeAcdStore
    phones: FakePhones
    states: AgentStates
    events: EventBus
    watch: PhoneWatch
    published: list[AgentStateChanged]


@pytest.fixture
async def floor() -> AsyncIterator[Floor]:
    store = FakeAcdStore(queues=[])
    for agent_id in (1, 2, 3):
        store.add_agent(AgentProfile(agent_id, str(1000 + agent_id)), S.NOT_READY)
    phones = FakePhones("1001", "1002", "1003")
    events = EventBus()
    check = PhoneCheck(phones, StoredPhones(store))
    states = AgentStates(store, events, clock=lambda: T0, phones=check)
    watch = PhoneWatch(check, states, events)
    published: list[AgentStateChanged] = []
    with events.subscribe(lambda e: isinstance(e.payload, AgentStateChanged)) as seen:

        async def record() -> None:
            while True:
                envelope = await seen.get()
                assert isinstance(envelope.payload, AgentStateChanged)
                published.append(envelope.payload)

        async with asyncio.TaskGroup() as tasks:
            runs = [tasks.create_task(watch.run()), tasks.create_task(record())]
            await settle()
            yield Floor(store, phones, states, events, watch, published)
            for run in runs:
                run.cancel()


async def test_ready_is_refused_naming_the_phone_that_is_not_registered(floor: Floor) -> None:
    floor.phones.registered_now.discard("1001")
    with pytest.raises(PhoneNotRegistered) as refused:
        await floor.states.set_own(1, "ready", None)
    assert refused.value.detail == {"extension": "1001"}
    assert "1001" in refused.value.message
    assert floor.store.state(1) is S.NOT_READY

    floor.phones.register("1001")
    assert (await floor.states.set_own(1, "ready", None)).status.state is S.READY


async def test_ready_is_refused_while_the_pbx_cannot_be_asked(floor: Floor) -> None:
    floor.phones.known = False
    with pytest.raises(PhoneStateUnknown):
        await floor.states.set_own(1, "ready", None)
    assert floor.store.state(1) is S.NOT_READY


async def test_a_ready_agent_whose_phone_goes_is_set_not_ready_no_phone(floor: Floor) -> None:
    await floor.states.set_own(1, "ready", None)
    await floor.states.set_own(2, "ready", None)
    await settle()
    floor.published.clear()

    floor.phones.unregister("1001")
    await settle()

    assert floor.store.state(1) is S.NOT_READY
    assert floor.store.statuses[1].reason == NO_PHONE
    assert floor.store.state(2) is S.READY  # their phone is still there
    assert floor.published == [
        AgentStateChanged(agent_id=1, state=S.NOT_READY, reason=NO_PHONE, origin="acd")
    ]
    assert floor.watch.taken_out == 1


async def test_an_agent_on_a_break_or_on_a_call_keeps_their_state(floor: Floor) -> None:
    floor.store.statuses[2] = AgentStatus(2, S.ON_CALL, T0)
    floor.phones.unregister("1001")  # agent 1 is on a break
    floor.phones.unregister("1002")  # agent 2 is on a call
    await settle()
    assert (floor.store.state(1), floor.store.statuses[1].reason) == (S.NOT_READY, None)
    assert floor.store.state(2) is S.ON_CALL
    assert floor.watch.taken_out == 0


async def test_an_agent_made_ready_by_the_acd_without_a_phone_is_taken_out(
    floor: Floor,
) -> None:
    # The phone went during the call: wrap-up ends by its timer into ready (the ACD's own
    # change, which asks nobody), and the announcement of that ready brings the check.
    floor.phones.unregister("1003")
    floor.store.statuses[3] = AgentStatus(3, S.READY, T0)
    floor.states.announce(3, floor.store.statuses[3], origin="acd")
    await settle()
    assert (floor.store.state(3), floor.store.statuses[3].reason) == (S.NOT_READY, NO_PHONE)


async def test_nobody_is_taken_out_while_the_pbx_cannot_be_asked(floor: Floor) -> None:
    await floor.states.set_own(1, "ready", None)
    floor.phones.known = False  # the link is down: the phone may be there or not
    floor.phones.unregister("1001")
    await settle()
    assert floor.store.state(1) is S.READY
