"""The playback rules without IO: which range a Range header asks for, who may play or
download, and that a playback needs its reason."""

from __future__ import annotations

import pytest

from callcenter.crm.recording_access import (
    AgentPlaybackOff,
    ByteRange,
    DownloadForbidden,
    PlaybackForbidden,
    PlaybackPolicy,
    PlaybackReason,
    RangeNotSatisfiable,
    ReasonRequired,
    RecordingNotFound,
    check_reason,
    new_ticket,
    parse_range,
    ticket_hash,
)
from callcenter.crm.vocabulary import Role

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 100)),
        ("bytes=0-0", ByteRange(0, 1)),
        ("bytes=500-", ByteRange(500, SIZE)),
        ("bytes=-100", ByteRange(900, SIZE)),
        ("bytes=-5000", ByteRange(0, SIZE)),
        ("bytes=900-5000", ByteRange(900, SIZE)),
        ("bytes=999-999", ByteRange(999, SIZE)),
        (" Bytes = 10 - 19 ", ByteRange(10, 20)),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file (200)
        ("bytes=20-10", None),  # invalid: ignored
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("seconds=0-5", None),
    ],
)
def test_the_range_a_header_asks_for(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1001", "bytes=-0", "bytes=5000-"])
def test_a_range_past_the_end_cannot_be_satisfied(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, SIZE)


def test_nothing_of_an_empty_file_can_be_asked() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-10", 0)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


def test_content_range_names_the_last_byte_and_the_size() -> None:
    assert ByteRange(10, 20).content_range(SIZE) == "bytes 10-19/1000"
    assert ByteRange(10, 20).length == 10


def test_who_may_play_by_role_and_setting() -> None:
    off, on = PlaybackPolicy(), PlaybackPolicy(agents_hear_own_calls=True)
    for role in (Role.SUPERVISOR, Role.QUALITY, Role.COMPLIANCE):
        off.check_recording(role, 1, call_agent_id=2)
    for role in (Role.AGENT, Role.ADVISOR):
        with pytest.raises(AgentPlaybackOff):
            off.check_recording(role, 1, call_agent_id=1)
        on.check_recording(role, 1, call_agent_id=1)
        with pytest.raises(RecordingNotFound):
            on.check_recording(role, 1, call_agent_id=2)
    for role in (Role.BRANCH, Role.ADMIN):
        with pytest.raises(PlaybackForbidden):
            on.check_role(role)


def test_downloading_is_for_the_configured_roles() -> None:
    policy = PlaybackPolicy()
    policy.check_download(Role.SUPERVISOR)
    policy.check_download(Role.COMPLIANCE)
    with pytest.raises(DownloadForbidden):
        policy.check_download(Role.QUALITY)
    PlaybackPolicy(download_roles=frozenset({Role.QUALITY})).check_download(Role.QUALITY)


def test_a_playback_needs_a_reason_and_other_needs_words() -> None:
    with pytest.raises(ReasonRequired):
        check_reason(None, "because")
    with pytest.raises(ReasonRequired):
        check_reason(PlaybackReason.OTHER, "  ")
    assert check_reason(PlaybackReason.OTHER, " audit sample ") == "audit sample"
    assert check_reason(PlaybackReason.DISPUTE, None) is None


def test_only_the_tickets_hash_is_kept() -> None:
    ticket, stored = new_ticket()
    assert stored == ticket_hash(ticket) != ticket
    assert new_ticket()[0] != ticket
