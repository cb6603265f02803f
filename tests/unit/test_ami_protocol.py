"""The AMI wire format: the incremental parser and the action encoder.

The parser is fed a recorded Asterisk 22 session (``tests/fixtures/ami_transcript.bin``) cut
every way a TCP stream can cut it, plus the damaged input real peers and proxies produce.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.asterisk.protocol import (
    BANNER_PREFIX,
    ActionEncodingError,
    AmiParser,
    Message,
    encode_action,
    encode_message,
    parse_all,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRANSCRIPT_PATH = FIXTURES / "ami_transcript.bin"
TRANSCRIPT = TRANSCRIPT_PATH.read_bytes()
WHOLE = parse_all(TRANSCRIPT)


def _load_transcript_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_ami_transcript", FIXTURES / "make_ami_transcript.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _feed_all(parser: AmiParser, chunks: list[bytes]) -> list[Message]:
    out: list[Message] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def _cut(data: bytes, cuts: set[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _by_name(messages: list[Message], name: str) -> list[Message]:
    return [m for m in messages if m.name == name]


# -- the recorded session ---------------------------------------------------------------------


def test_transcript_fixture_matches_its_generator_script() -> None:
    assert _load_transcript_script().build_transcript() == TRANSCRIPT


def test_transcript_parses_into_every_message_of_the_session() -> None:
    parser = AmiParser()
    messages = parser.feed(TRANSCRIPT)

    assert [(m.kind, m.name) for m in messages] == [
        ("banner", "Asterisk Call Manager/11.0.0"),
        ("response", "Success"),
        ("event", "FullyBooted"),
        ("response", "Success"),
        ("event", "CoreShowChannel"),
        ("event", "CoreShowChannel"),
        ("event", "CoreShowChannelsComplete"),
        ("event", "Newchannel"),
        ("event", "Newstate"),
        ("event", "VarSet"),
        ("event", "AsyncAGIStart"),
        ("response", "Success"),
        ("event", "AsyncAGIExec"),
        ("event", "Hangup"),
        ("response", "Success"),
    ]
    assert parser.stats.messages == len(messages)
    assert parser.stats.garbage_lines == 0
    assert parser.stats.decode_errors == 0
    assert parser.buffered == 0


def test_banner_with_a_single_eol_does_not_swallow_the_login_response() -> None:
    banner, login = WHOLE[0], WHOLE[1]

    assert banner.kind == "banner"
    assert banner.name == "Asterisk Call Manager/11.0.0"
    assert login.kind == "response"
    assert login.action_id == "7f3a9c21-1"
    assert login["Message"] == "Authentication accepted"


def test_event_list_reply_keeps_action_ids_and_completion_headers() -> None:
    start = WHOLE[3]
    channels = _by_name(WHOLE, "CoreShowChannel")
    complete = _by_name(WHOLE, "CoreShowChannelsComplete")[0]

    assert start["EventList"] == "start"
    assert [c.action_id for c in channels] == ["7f3a9c21-2", "7f3a9c21-2"]
    assert [c["Channel"] for c in channels] == ["PJSIP/carrier-00000001", "PJSIP/8001-00000003"]
    assert complete["EventList"] == "Complete"
    assert complete["ListItems"] == "2"


def test_header_values_keep_their_colons_and_empty_values_stay_empty() -> None:
    newchannel = _by_name(WHOLE, "Newchannel")[0]
    varset = _by_name(WHOLE, "VarSet")[0]

    assert newchannel["Channel"] == "PJSIP/carrier-00000002"
    assert newchannel["Timestamp"] == "1764057600.123456"
    assert newchannel["AccountCode"] == ""
    assert varset["Value"] == "a:b:c"
    assert _by_name(WHOLE, "CoreShowChannel")[1]["ApplicationData"] == "(Outgoing Line)"


def test_chinese_caller_names_decode_from_utf8() -> None:
    assert _by_name(WHOLE, "CoreShowChannel")[0]["CallerIDName"] == "张伟"
    assert _by_name(WHOLE, "Newchannel")[0]["CallerIDName"] == "王芳"
    assert _by_name(WHOLE, "CoreShowChannel")[1]["ConnectedLineName"] == "张伟"


def test_repeated_headers_are_all_kept_in_wire_order() -> None:
    varset = _by_name(WHOLE, "VarSet")[0]
    command = WHOLE[-1]

    assert varset.get_all("ChanVariable") == ["CC_CALL_ID=c-8f14e45f", "CC_TENANT=broker1"]
    assert varset.variables() == {"CC_CALL_ID": "c-8f14e45f", "CC_TENANT": "broker1"}
    assert _by_name(WHOLE, "Newchannel")[0].variables() == {"CC_CALL_ID": "", "CC_TENANT": ""}
    assert command["Message"] == "Command output follows"
    assert command.get_all("Output") == [
        "Channel              Location             State   Application(Data)",
        "PJSIP/carrier-000000 4008001234@from-carr Up      Queue(sales,t,,,300)",
        "PJSIP/8001-00000003  (None)               Up      AppQueue((Outgoing Line))",
        "2 active channels",
        "1 active call",
        "3 calls processed",
    ]


def test_async_agi_headers_arrive_still_url_encoded() -> None:
    start = _by_name(WHOLE, "AsyncAGIStart")[0]
    executed = _by_name(WHOLE, "AsyncAGIExec")[0]

    assert start["Env"].startswith("agi_request%3A%20async%0A")
    assert "%E7%8E%8B%E8%8A%B3" in start["Env"]
    assert executed["CommandID"] == "5e6f7a-1"
    assert executed["Result"] == "200%20result%3D0%20endpos%3D7680%0A"


# -- framing across reads ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.sets(st.integers(min_value=1, max_value=len(TRANSCRIPT) - 1), max_size=60))
def test_any_split_of_the_transcript_yields_the_same_messages(cuts: set[int]) -> None:
    parser = AmiParser()

    assert _feed_all(parser, _cut(TRANSCRIPT, cuts)) == WHOLE
    assert parser.stats.decode_errors == 0
    assert parser.buffered == 0


def test_transcript_fed_byte_by_byte_yields_the_same_messages() -> None:
    parser = AmiParser()
    chunks = [TRANSCRIPT[i : i + 1] for i in range(len(TRANSCRIPT))]

    assert _feed_all(parser, chunks) == WHOLE
    assert parser.stats.decode_errors == 0


def test_message_terminator_split_at_every_offset_is_found() -> None:
    data = b"Event: Hangup\r\nUniqueid: 1764057600.2\r\n\r\nEvent: Ping\r\n\r\n"
    for offset in range(1, len(data)):
        parser = AmiParser(expect_banner=False)
        messages = _feed_all(parser, [data[:offset], data[offset:]])
        assert [m.name for m in messages] == ["Hangup", "Ping"], offset


def test_chinese_character_split_between_two_reads_decodes_intact() -> None:
    data = "Event: Newchannel\r\nCallerIDName: 张伟\r\n\r\n".encode()
    inside_zhang = data.index("张".encode()) + 1  # after the first of its three bytes
    parser = AmiParser(expect_banner=False)

    first = parser.feed(data[:inside_zhang])
    second = parser.feed(data[inside_zhang:])

    assert first == []
    assert [m["CallerIDName"] for m in second] == ["张伟"]
    assert parser.stats.decode_errors == 0


# -- line endings -----------------------------------------------------------------------------


def test_bare_lf_line_endings_parse_like_crlf() -> None:
    assert parse_all(TRANSCRIPT.replace(b"\r\n", b"\n")) == WHOLE


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_mixed_crlf_and_lf_line_endings_parse_like_crlf(data: st.DataObject) -> None:
    lines = TRANSCRIPT.split(b"\r\n")
    endings = data.draw(
        st.lists(
            st.sampled_from([b"\r\n", b"\n"]), min_size=len(lines) - 1, max_size=len(lines) - 1
        )
    )
    mixed = b"".join(line + end for line, end in zip(lines, endings, strict=False)) + lines[-1]

    assert parse_all(mixed) == WHOLE


def test_lf_terminated_message_after_crlf_lines_is_complete() -> None:
    messages = parse_all(b"Event: A\r\nX: 1\r\n\nEvent: B\nY: 2\n\r\n", expect_banner=False)

    assert [(m.name, m.headers[1]) for m in messages] == [("A", ("X", "1")), ("B", ("Y", "2"))]


# -- headers ----------------------------------------------------------------------------------


def test_header_names_are_case_insensitive() -> None:
    message = parse_all(
        b"Event: AsyncAGIExec\r\nCommandId: 5e6f7a-2\r\nRESULT: 200\r\n\r\n",
        expect_banner=False,
    )[0]

    assert message["CommandID"] == "5e6f7a-2"
    assert message.get("commandid") == "5e6f7a-2"
    assert "commandID" in message
    assert message.get("Result") == "200"
    assert message.get("Missing") is None
    assert message.get("Missing", "x") == "x"
    with pytest.raises(KeyError):
        _ = message["Missing"]


def test_repeated_header_lookup_returns_the_first_and_get_all_returns_every_value() -> None:
    message = parse_all(
        b"Event: VarSet\r\nChanVariable: A=1\r\nchanvariable: B=2=3\r\nChanVariable: A=4\r\n\r\n",
        expect_banner=False,
    )[0]

    assert message["ChanVariable"] == "A=1"
    assert message.get_all("CHANVARIABLE") == ["A=1", "B=2=3", "A=4"]
    # A later value of the same variable wins, as it does on the channel.
    assert message.variables() == {"A": "4", "B": "2=3"}


def test_only_one_space_after_the_colon_is_removed() -> None:
    message = parse_all(
        b"Event: X\r\nPadded:   two spaces kept\r\nTight:v\r\n\r\n", expect_banner=False
    )[0]

    assert message["Padded"] == "  two spaces kept"
    assert message["Tight"] == "v"


# -- damaged input ----------------------------------------------------------------------------


def test_garbage_lines_are_skipped_and_counted() -> None:
    parser = AmiParser(expect_banner=False)

    messages = parser.feed(
        b"Event: Hangup\r\nthis line has no colon\r\nBad Name: x\r\n: no name\r\n"
        b"Uniqueid: 1764057600.2\r\n\r\n"
    )

    assert [m.headers for m in messages] == [[("Event", "Hangup"), ("Uniqueid", "1764057600.2")]]
    assert parser.stats.garbage_lines == 3


def test_a_line_with_an_empty_header_name_is_garbage_even_in_an_otherwise_clean_message() -> None:
    parser = AmiParser(expect_banner=False)

    messages = parser.feed(b": no name\r\nEvent: Hangup\r\nUniqueid: 1764057600.2\r\n\r\n")

    assert [m.headers for m in messages] == [[("Event", "Hangup"), ("Uniqueid", "1764057600.2")]]
    assert messages[0].kind == "event"
    assert parser.stats.garbage_lines == 1


def test_header_name_ends_at_the_first_colon_even_when_no_space_follows_it() -> None:
    # UserEvent forwards the sender's header lines verbatim, so "Name:value" with a ": "
    # later in the value does reach us.
    [message] = parse_all(b"Event: UserEvent\r\nCallData:queue: sales\r\n\r\n", expect_banner=False)

    assert message.headers == [("Event", "UserEvent"), ("CallData", "queue: sales")]


@pytest.mark.parametrize(
    "odd_line", [b": no name", b"CallData:queue: sales", b"Tight:v", b"Padded:   x"]
)
def test_a_message_parses_the_same_whether_or_not_its_read_holds_invalid_utf8(
    odd_line: bytes,
) -> None:
    # Invalid UTF-8 anywhere in a read sends that read down the byte-by-byte path; the
    # messages next to it must not parse differently because of it.
    message = b"Event: UserEvent\r\n" + odd_line + b"\r\n\r\n"
    spoiled = b"Event: Broken\r\nCallerIDName: \xff\r\n\r\n"

    alone = AmiParser(expect_banner=False).feed(message)
    beside = AmiParser(expect_banner=False).feed(message + spoiled)

    assert beside[:-1] == alone


# Lines made of the characters the fast paths decide on: separators, spaces, line ends, NUL.
_TRICKY_LINES = st.lists(
    st.lists(st.sampled_from(["Ab", ":", " ", ": ", "\r", "\x00", "李", "\u2028"]), max_size=6).map(
        "".join
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=400, deadline=None)
@given(
    blocks=st.lists(_TRICKY_LINES, min_size=1, max_size=4),
    eol=st.sampled_from(["\r\n", "\n"]),
)
def test_the_fast_paths_parse_every_block_as_the_careful_path_does(
    blocks: list[list[str]], eol: str
) -> None:
    # A read of valid UTF-8 goes down the fast paths (columns in C, the NUL-marked split);
    # the byte path decodes block by block and parses every line carefully. Same result.
    data = "".join(eol.join(lines) + eol + eol for lines in blocks).encode()
    careful: list[Message] = []
    AmiParser(expect_banner=False)._parse_region_bytes(data, careful)

    assert AmiParser(expect_banner=False).feed(data) == careful


def test_a_block_of_only_garbage_yields_no_message() -> None:
    parser = AmiParser(expect_banner=False)

    messages = parser.feed(b"--- proxy noise ---\r\nmore noise\r\n\r\nEvent: Ping\r\n\r\n")

    assert [m.name for m in messages] == ["Ping"]
    assert parser.stats.garbage_lines == 2
    assert parser.stats.messages == 1


def test_invalid_utf8_is_replaced_and_counted() -> None:
    parser = AmiParser(expect_banner=False)

    messages = parser.feed(b"Event: Newchannel\r\nCallerIDName: \xff\xfe\xe5\xbc\r\n\r\n")

    assert messages[0].name == "Newchannel"
    assert messages[0]["CallerIDName"].startswith("\ufffd")
    assert parser.stats.decode_errors == 1


def test_missing_banner_does_not_lose_the_first_message() -> None:
    parser = AmiParser(expect_banner=True)

    messages = _feed_all(parser, [b"Resp", b"onse: Success\r\nActionID: 1\r\n\r\n"])

    assert [(m.kind, m.action_id) for m in messages] == [("response", "1")]


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from([b"", BANNER_PREFIX, b"Event: X\r\n", TRANSCRIPT[:30]]),
    chunks=st.lists(st.binary(max_size=300), max_size=20),
)
def test_parser_never_raises_and_stays_bounded_on_arbitrary_bytes(
    prefix: bytes, chunks: list[bytes]
) -> None:
    parser = AmiParser(max_message_bytes=256)
    for chunk in [prefix, *chunks]:
        parser.feed(chunk)
        assert parser.buffered <= 256 + 2


# -- bounded memory ---------------------------------------------------------------------------


def test_endless_line_is_dropped_with_bounded_memory_and_the_parser_recovers() -> None:
    limit = 1 << 20
    parser = AmiParser(max_message_bytes=limit)
    parser.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: Flood\r\nData: ")
    chunk = b"x" * (64 << 10)
    for _ in range((10 << 20) // len(chunk)):
        assert parser.feed(chunk) == []
        assert parser.buffered <= limit + 2

    messages = parser.feed(b"\r\n\r\nEvent: Hangup\r\nUniqueid: 1764057600.2\r\n\r\n")

    assert [m.name for m in messages] == ["Hangup"]
    assert parser.stats.oversized_messages == 1
    assert parser.buffered == 0


def test_oversized_message_terminator_split_inside_crlf_is_still_found() -> None:
    parser = AmiParser(max_message_bytes=64, expect_banner=False)
    # The terminating empty line "\r\n\r\n" of the oversized message is cut after its "\r".
    assert parser.feed(b"Event: Flood\r\nData: " + b"x" * 100 + b"\r\n\r") == []

    messages = parser.feed(b"\nEvent: Hangup\r\n\r\n")

    assert [m.name for m in messages] == ["Hangup"]
    assert parser.stats.oversized_messages == 1


def test_oversized_message_terminator_split_at_every_offset_is_found() -> None:
    tail = b"\r\n\r\nEvent: Hangup\r\n\r\n"
    for offset in range(len(tail)):
        parser = AmiParser(max_message_bytes=64, expect_banner=False)
        parser.feed(b"Event: Flood\r\nData: " + b"x" * 100 + tail[:offset])
        messages = parser.feed(tail[offset:])
        assert [m.name for m in messages] == ["Hangup"], offset


def test_endless_banner_line_is_bounded_too() -> None:
    parser = AmiParser(max_message_bytes=1024)
    parser.feed(BANNER_PREFIX)
    for _ in range(64):
        parser.feed(b"9" * 512)
        assert parser.buffered <= 1024 + 2

    messages = parser.feed(b"\r\n\r\nEvent: FullyBooted\r\n\r\n")

    assert [m.name for m in messages] == ["FullyBooted"]
    assert parser.stats.oversized_messages == 1


# -- encoder ----------------------------------------------------------------------------------


def test_encode_action_puts_action_first_and_repeats_sequence_headers() -> None:
    payload = encode_action(
        "Originate",
        {
            "Channel": "PJSIP/8001",
            "Variable": ["CC_CALL_ID=c-1", "CC_TENANT=broker1"],
            "Priority": 1,
            "CallerID": '"张伟" <13800138000>',
        },
    )

    assert payload == (
        b"Action: Originate\r\n"
        b"Channel: PJSIP/8001\r\n"
        b"Variable: CC_CALL_ID=c-1\r\n"
        b"Variable: CC_TENANT=broker1\r\n"
        b"Priority: 1\r\n" + 'CallerID: "张伟" <13800138000>\r\n'.encode() + b"\r\n"
    )


@pytest.mark.parametrize(
    "caller_name",
    ["x\r\n\r\nAction: Originate", "x\nAction: Originate", "x\rAction: Originate"],
)
def test_line_break_in_a_value_is_refused_as_header_injection(caller_name: str) -> None:
    with pytest.raises(ActionEncodingError):
        encode_action("Setvar", {"Variable": "CALLERID(name)", "Value": caller_name})


def test_line_break_in_a_repeated_value_is_refused() -> None:
    with pytest.raises(ActionEncodingError):
        encode_action("Originate", {"Variable": ["A=1", "B=2\r\n\r\nAction: Hangup"]})


@pytest.mark.parametrize("name", ["", "Bad Name", "Bad:Name", "Bad\r\nName"])
def test_unsafe_header_names_are_refused(name: str) -> None:
    with pytest.raises(ActionEncodingError):
        encode_message([("Action", "Ping"), (name, "x")])


def test_encoded_action_parses_back_to_the_same_headers() -> None:
    payload = encode_action(
        "Originate",
        {"Channel": "PJSIP/carrier/13800138000", "Variable": ["A=a:b:c", "B="], "Timeout": 30000},
    )

    assert parse_all(payload, expect_banner=False) == [
        Message(
            [
                ("Action", "Originate"),
                ("Channel", "PJSIP/carrier/13800138000"),
                ("Variable", "A=a:b:c"),
                ("Variable", "B="),
                ("Timeout", "30000"),
            ]
        )
    ]


_NAMES = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=20,
)
_VALUES = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=10), split=st.integers(0, 10_000))
def test_any_safe_action_round_trips_through_the_parser(
    headers: list[tuple[str, str]], split: int
) -> None:
    payload = encode_message([("Action", "UserEvent"), *headers])
    cut = split % (len(payload) + 1)
    parser = AmiParser(expect_banner=False)

    messages = _feed_all(parser, [payload[:cut], payload[cut:]])

    assert [m.headers for m in messages] == [[("Action", "UserEvent"), *headers]]
