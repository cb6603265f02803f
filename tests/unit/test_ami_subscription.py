"""The subscription's bounded buffer: a batch handed over at once is seen as one offer each."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from callcenter.asterisk.errors import AmiEventsLost
from callcenter.asterisk.subscription import Subscription


def _drain(sub: Subscription[int]) -> list[int | str]:
    """What a consumer reads now: items, and 'lost N' where it is told of a gap."""
    seen: list[int | str] = []
    while True:
        try:
            item = sub.get_nowait()
        except AmiEventsLost as lost:
            seen.append(f"lost {lost.lost}")
            continue
        if item is None:
            return seen
        seen.append(item)


def _pair(maxsize: int, odd_only: bool) -> tuple[Subscription[int], Subscription[int]]:
    def accept(item: int) -> bool:
        return item % 2 == 1

    def make() -> Subscription[int]:
        return Subscription(maxsize, lambda sub: None, accept if odd_only else None)

    return make(), make()


@given(
    maxsize=st.integers(1, 8),
    odd_only=st.booleans(),
    # Batches of items; between batches the consumer may read what is buffered.
    batches=st.lists(st.tuples(st.lists(st.integers(0, 99), max_size=20), st.booleans())),
)
def test_offer_many_is_seen_as_one_offer_per_item_drops_included(
    maxsize: int, odd_only: bool, batches: list[tuple[list[int], bool]]
) -> None:
    one_by_one, batched = _pair(maxsize, odd_only)
    seen_one: list[int | str] = []
    seen_batched: list[int | str] = []

    for items, read_after in batches:
        for item in items:
            one_by_one.offer(item)
        batched.offer_many(items)
        if read_after:
            seen_one += _drain(one_by_one)
            seen_batched += _drain(batched)

    assert seen_batched + _drain(batched) == seen_one + _drain(one_by_one)
    assert batched.dropped_total == one_by_one.dropped_total


async def test_offer_many_wakes_a_waiting_consumer_once_with_the_whole_batch() -> None:
    sub: Subscription[int] = Subscription(10, lambda s: None)
    import asyncio

    waiting = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)  # the consumer now waits on an empty buffer
    sub.offer_many([1, 2, 3])

    assert await waiting == 1
    assert [sub.get_nowait(), sub.get_nowait(), sub.get_nowait()] == [2, 3, None]


def test_a_closed_subscription_takes_no_batch() -> None:
    sub: Subscription[int] = Subscription(10, lambda s: None)
    sub.close()

    sub.offer_many([1, 2])

    assert len(sub) == 0
