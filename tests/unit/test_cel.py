"""Asterisk's channel event record read back (callcenter/pbx/cel.py), from lines Asterisk 22
wrote for real calls (tests/fixtures/cel/README.md)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from callcenter.pbx.cel import (
    CEL_FIELDS,
    CelFeed,
    CelFileTail,
    CelLineInvalid,
    HotlineCalls,
    hotline_calls,
    parse_cel_line,
    read_cel_file,
)
from callcenter.settings import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "cel"
APOLOGY = FIXTURES / "apology_callback.csv"
QUEUE = FIXTURES / "queue_answered.csv"
TRANSFER = FIXTURES / "transfer_answered.csv"


def at(epoch: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC)


def test_the_record_format_is_the_one_asterisk_is_told_to_write() -> None:
    conf = (PROJECT_ROOT / "asterisk_conf" / "cel_custom.conf").read_text()
    fields = re.search(r"^fields = (.+)$", conf, re.M)
    assert fields is not None
    assert tuple(f.strip().lower() for f in fields.group(1).split(",")) == CEL_FIELDS


def test_a_line_is_parsed_with_its_quotes_and_json() -> None:
    line = APOLOGY.read_text().splitlines()[3]
    event = parse_cel_line(line)
    assert event.kind == "USER_DEFINED"
    assert event.user_kind == "CC_FALLBACK_CALLBACK"
    assert event.user_text == "zh"
    assert event.at == at("1796604340.446233")
    assert event.at.tzinfo is dt.UTC
    assert (event.uniqueid, event.linkedid) == ("fbdev-1796604334.0", "fbdev-1796604334.0")
    assert event.channel == "PJSIP/carrier-00000000"
    assert (event.context, event.exten, event.caller) == (
        "service-fallback",
        "apology",
        "+8613911112222",
    )


@pytest.mark.parametrize(
    "line",
    [
        "",
        '"CHAN_START","1796604334.297119"',
        '"CHAN_START","yesterday","","u","u","c","x","1","2","",""',
        '"","1796604334.297119","","u","u","c","x","1","2","",""',
    ],
)
def test_a_line_that_is_no_record_is_refused(line: str) -> None:
    with pytest.raises(CelLineInvalid):
        parse_cel_line(line)


def test_a_user_event_without_json_has_no_text() -> None:
    line = '"USER_DEFINED","1.0","CC_FALLBACK","u","u","c","x","s","1","","not json"'
    assert parse_cel_line(line).user_text == ""


def test_bytes_split_at_every_offset_give_the_same_events() -> None:
    data = QUEUE.read_bytes()
    whole = CelFeed().feed(data)
    assert len(whole) == len(data.splitlines())
    for cut in range(1, len(data)):
        feed = CelFeed()
        assert feed.feed(data[:cut]) + feed.feed(data[cut:]) == whole, cut
        assert feed.invalid_lines == 0


def test_lines_that_are_not_records_are_counted_and_skipped() -> None:
    feed = CelFeed()
    events = feed.feed(b"garbage\n" + APOLOGY.read_bytes())
    assert len(events) == 6
    assert feed.invalid_lines == 1


def test_a_call_the_apology_took_with_a_call_back_asked() -> None:
    [call] = hotline_calls(read_cel_file(APOLOGY))
    assert call.call_id == call.asterisk_linkedid == "fbdev-1796604334.0"
    assert (call.caller, call.called) == ("+8613911112222", "95555")
    assert call.started_at == at("1796604334.297119")
    assert call.fallback == "apology"
    # The pickup deadline (5 s) passed between the call's start and the fallback.
    assert call.fallback_at == at("1796604339.299541")
    assert (call.callback_language, call.callback_at) == ("zh", at("1796604340.446233"))
    assert call.connected_at is None  # an apology connects the caller to nobody
    assert call.ended_at == at("1796604348.845440")


@pytest.mark.parametrize("record", [QUEUE, TRANSFER])
def test_a_fallback_that_put_the_caller_through_to_a_phone(record: Path) -> None:
    events = read_cel_file(record)
    # The phone's leg is a channel of the same call (linked), not a hotline call of its own.
    assert len({e.uniqueid for e in events}) == 2
    [call] = hotline_calls(events)
    assert call.fallback == record.stem.split("_")[0]
    bridged = [e for e in events if e.kind == "BRIDGE_ENTER" and e.uniqueid == call.call_id]
    assert call.connected_at == bridged[0].at
    assert call.callback_language is None
    assert call.ended


def test_a_channel_dialled_out_on_the_trunk_is_not_a_hotline_call() -> None:
    # The transfer dialled the carrier: its channel starts in the trunk's context too.
    line = (
        '"CHAN_START","1796604773.832799","","pbx-2.1","pbx-2.0","PJSIP/carrier-00000009",'
        '"from-carrier","s","","",""'
    )
    calls = HotlineCalls()
    calls.add(parse_cel_line(line))
    assert calls.calls == []


def test_calls_are_taken_once_they_ended_before_the_settle_time() -> None:
    events = read_cel_file(APOLOGY)
    calls = HotlineCalls()
    calls.extend(events[:-2])  # up to the callback: not ended yet
    assert calls.take_ended(at("1796605000")) == []
    calls.extend(events[-2:])
    ended_at = at("1796604348.845440")
    assert calls.take_ended(ended_at) == []  # ended, but not before
    [taken] = calls.take_ended(ended_at + dt.timedelta(seconds=1))
    assert calls.calls == []  # forgotten once taken
    calls.put_back([taken])
    assert calls.calls == [taken]


def test_the_tail_reads_what_was_appended_and_starts_over_after_a_rotation(
    tmp_path: Path,
) -> None:
    record = tmp_path / "calls.csv"
    tail = CelFileTail(record)
    assert tail.read_new() == []  # no file yet: Asterisk has written nothing
    lines = APOLOGY.read_bytes().splitlines(keepends=True)
    record.write_bytes(b"".join(lines[:2]) + lines[2][:10])  # a line half written
    assert [e.kind for e in tail.read_new()] == ["CHAN_START", "USER_DEFINED"]
    with record.open("ab") as out:
        out.write(lines[2][10:] + lines[3])
    assert [e.kind for e in tail.read_new()] == ["ANSWER", "USER_DEFINED"]
    assert tail.read_new() == []
    # Rotated: moved away, a new file begins.
    record.rename(tmp_path / "calls.csv.1")
    record.write_bytes(b"".join(lines[4:]))
    assert [e.kind for e in tail.read_new()] == ["HANGUP", "CHAN_END"]
    # Truncated in place: read again from the start.
    record.write_bytes(lines[0])
    assert [e.kind for e in tail.read_new()] == ["CHAN_START"]
