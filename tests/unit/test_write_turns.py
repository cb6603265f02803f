"""SQLite writers take turns in process: first come, first served, urgent writers (the ACD
reserving an agent before the phone rings) ahead of ordinary ones, and a writer cancelled
while waiting never blocks the others."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.persistence.db import WriteTurns

WAIT = 5.0  # a safety net, never a timing assertion


async def _writer(turns: WriteTurns, name: str, order: list[str], urgent: bool = False) -> None:
    async with turns.turn(urgent):
        order.append(name)
        await asyncio.sleep(0)


async def test_urgent_writers_go_before_ordinary_ones_each_in_order() -> None:
    turns = WriteTurns(asyncio.get_running_loop())
    order: list[str] = []
    async with turns.turn():  # someone is writing while the others come
        tasks = [
            asyncio.create_task(_writer(turns, "a", order)),
            asyncio.create_task(_writer(turns, "b", order)),
            asyncio.create_task(_writer(turns, "urgent-1", order, urgent=True)),
            asyncio.create_task(_writer(turns, "urgent-2", order, urgent=True)),
        ]
        await asyncio.sleep(0.01)
        assert order == []  # nobody writes while the turn is held
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert order == ["urgent-1", "urgent-2", "a", "b"]


async def test_a_writer_cancelled_while_waiting_does_not_block_the_rest() -> None:
    turns = WriteTurns(asyncio.get_running_loop())
    order: list[str] = []
    async with turns.turn():
        gone = asyncio.create_task(_writer(turns, "gone", order))
        after = asyncio.create_task(_writer(turns, "after", order))
        await asyncio.sleep(0.01)
        gone.cancel()
    await asyncio.wait_for(after, WAIT)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert order == ["after"]
    async with asyncio.timeout(WAIT), turns.turn():  # and the lock is free again
        order.append("last")
    assert order == ["after", "last"]


async def test_a_failing_writer_passes_its_turn_on() -> None:
    turns = WriteTurns(asyncio.get_running_loop())
    with pytest.raises(RuntimeError):
        async with turns.turn():
            raise RuntimeError("the transaction failed")
    async with asyncio.timeout(WAIT), turns.turn():
        pass
