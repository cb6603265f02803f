"""When the service is down, Asterisk does not leave a caller waiting for nobody: the real
dialplan's pickup deadline and fallback (asterisk_conf/extensions.conf), Asterisk's own record
of the call (CEL), and the service counting the call once it is back.

Each test reads only the calls it placed from the session's record: the sandbox Asterisk (and
its record) serves the whole test session.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callcenter.asterisk.client import AmiClient
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.pbx.cel import HotlineCall, hotline_calls, read_cel_file
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import PICKUP_COMMAND, AgiCall, PbxLink
from callcenter.pbx.unseen_calls import FALLBACK_QUEUE
from callcenter.persistence.callstats import load_call_report
from callcenter.persistence.cel_import import import_calls
from callcenter.persistence.reconcile import reconcile_range
from callcenter.persistence.tables import CallbackRequest, Interaction
from callcenter.sandbox.instance import AsteriskInstance, cel_file_for
from callcenter.settings import Settings
from tests.support.ami import config_for
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import HOTLINE, UNKNOWN_CALLER, Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def ended_calls(
    settings: Settings, since: float, count: int, timeout: float = 15.0
) -> list[HotlineCall]:
    """The hotline calls in Asterisk's record that started at or after ``since`` (epoch
    seconds), once ``count`` of them have ended (the record is written as events happen)."""
    path = cel_file_for(settings)
    began = dt.datetime.fromtimestamp(since, dt.UTC)
    deadline = time.monotonic() + timeout
    while True:
        calls = [c for c in hotline_calls(read_cel_file(path)) if c.started_at >= began]
        if sum(c.ended for c in calls) >= count:
            return calls
        assert time.monotonic() < deadline, f"{len(calls)} calls in {path}, not {count} ended"
        await asyncio.sleep(0.1)


async def test_a_call_while_the_service_is_down_gets_the_fallback_and_is_counted_after(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    hotline_factory: Callable[..., Any],
) -> None:
    deadline = asterisk_settings.service_pickup_seconds
    since = time.time()
    # Asterisk is up, the service is not. The caller presses 1 during the apology (a call
    # back in Mandarin), then hangs up.
    caller = KeypadCaller(
        asterisk_settings.sip_port,
        HOTLINE,
        [Wait(1.0), Keys("1"), Wait(1.0), Hangup()],
        caller=UNKNOWN_CALLER,
    )
    await caller.start()
    result = await caller.wait(timeout=deadline + 30)
    assert result.succeeded, result.output
    assert result.log.answered_at is not None
    answered_after = result.log.answered_at - since
    assert deadline <= answered_after < deadline + 2.0, answered_after

    [call] = await ended_calls(asterisk_settings, since, 1)
    assert call.fallback == "apology"
    assert call.fallback_at is not None
    # Asterisk's own clock: the fallback took the call when the deadline ran out.
    taken_after = (call.fallback_at - call.started_at).total_seconds()
    assert deadline - 0.05 <= taken_after < deadline + 0.5, taken_after
    assert call.callback_language == "zh"
    assert call.connected_at is None

    # The service comes back and imports what it missed.
    hotline: Hotline = await hotline_factory()
    assert hotline.runtime.link.calls_handled == 0
    report = await import_calls(hotline.db, [call])
    assert (report.created, report.callbacks) == (1, 1)
    async with hotline.db.read() as session:
        row = await session.scalar(select(Interaction).where(Interaction.call_id == call.call_id))
        assert row is not None
        recorded = (row.queue, row.caller_number, row.ended_at)
        callback = await session.scalar(
            select(CallbackRequest).where(CallbackRequest.interaction_id == row.id)
        )
        assert callback is not None
        asked = (callback.number, callback.language)
    assert recorded == (FALLBACK_QUEUE, UNKNOWN_CALLER, call.ended_at)
    assert asked == (UNKNOWN_CALLER, "zh")

    zone = ZoneInfo(hotline.settings.business_timezone)
    day = call.started_at.astimezone(zone).date()
    async with hotline.db.read() as session:
        day_report = await load_call_report(
            session,
            ReportRange.of(day, day, hotline.settings.business_timezone),
            IntervalKind.DAY,
            dt.datetime.now(dt.UTC),
        )
    [fallback_row] = [row for row in day_report.queues if row.queue == FALLBACK_QUEUE]
    assert (fallback_row.figures.offered, fallback_row.figures.to_ivr) == (1, 1)

    events = [e for e in read_cel_file(cel_file_for(asterisk_settings)) if e.at >= call.started_at]
    window_end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    reconciled = await reconcile_range(hotline.db, events, call.started_at, window_end)
    assert reconciled.ok, reconciled.findings
    assert reconciled.calls == 1


async def test_a_call_the_service_takes_outlives_the_deadline(
    asterisk_settings: Settings, hotline_factory: Callable[..., Any]
) -> None:
    hotline: Hotline = await hotline_factory()
    deadline = asterisk_settings.service_pickup_seconds
    since = time.time()
    # The caller listens to the language menu past the deadline, then hangs up.
    result, interaction = await hotline.call(
        [Wait(deadline + 2.0), Hangup()], caller=UNKNOWN_CALLER
    )
    assert result.succeeded, result.output
    assert result.log.caller_hung_up  # nobody cut the call short

    [call] = await ended_calls(asterisk_settings, since, 1)
    assert call.fallback is None  # the fallback never took it
    assert hotline.agi_commands()[0] == PICKUP_COMMAND  # the service's first command
    assert interaction.call_id == call.call_id
    assert interaction.ivr_outcome == "abandoned_in_ivr"
    assert call.ended_at is not None
    assert (call.ended_at - call.started_at).total_seconds() > deadline + 1.5

    events = [e for e in read_cel_file(cel_file_for(asterisk_settings)) if e.at >= call.started_at]
    window_end = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    reconciled = await reconcile_range(hotline.db, events, call.started_at, window_end)
    assert reconciled.ok, reconciled.findings
    assert (await import_calls(hotline.db, [call])).changed is False


@pytest.fixture
async def failing_service(asterisk_settings: Settings) -> AsyncIterator[PbxLink]:
    """A service whose call handler fails on every call, with the real link in front of it."""

    async def broken(call: AgiCall) -> None:
        raise RuntimeError("a bug in the handler")

    client = AmiClient(config_for(asterisk_settings))
    link = PbxLink(client, ChannelTracker(), broken)
    runner = asyncio.create_task(client.run())
    linker = asyncio.create_task(link.run())
    try:
        await client.wait_connected(10)
        await asyncio.wait_for(link.resynced.wait(), 10)
        yield link
    finally:
        await client.close()
        await asyncio.gather(runner, linker, return_exceptions=True)


async def test_a_call_whose_handler_fails_goes_to_the_fallback_at_once(
    asterisk_settings: Settings, failing_service: PbxLink
) -> None:
    since = time.time()
    caller = KeypadCaller(
        asterisk_settings.sip_port, HOTLINE, [Wait(1.0), Hangup()], caller=UNKNOWN_CALLER
    )
    await caller.start()
    result = await caller.wait(timeout=30)
    assert result.succeeded, result.output
    assert result.log.answered_at is not None
    # ASYNCAGI BREAK: the dialplan's next step is the fallback, well before the deadline.
    assert result.log.answered_at - since < asterisk_settings.service_pickup_seconds - 1
    assert failing_service.calls_handled == 1

    [call] = await ended_calls(asterisk_settings, since, 1)
    assert call.fallback == "apology"
