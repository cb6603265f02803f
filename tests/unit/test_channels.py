"""ChannelTracker: the channel view kept from AMI events and replaced by snapshots."""

from __future__ import annotations

from callcenter.asterisk.protocol import Message
from callcenter.pbx.channels import ChannelTracker
from tests.fakes.fake_ami_client import event

CARRIER = "PJSIP/carrier-00000001"
AGENT = "PJSIP/1001-00000002"


def newchannel(uniqueid: str, channel: str, **headers: str) -> Message:
    fields = {
        "Channel": channel,
        "ChannelState": "0",
        "ChannelStateDesc": "Down",
        "CallerIDNum": "13800138000",
        "CallerIDName": "张伟",
        "Context": "from-carrier",
        "Exten": "4008001234",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
    }
    fields.update(headers)
    return event("Newchannel", **fields)


def snapshot_entry(uniqueid: str, channel: str, **headers: str) -> Message:
    fields = {
        "Channel": channel,
        "ChannelStateDesc": "Up",
        "CallerIDNum": "13800138000",
        "CallerIDName": "张伟",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
    }
    fields.update(headers)
    return event("CoreShowChannel", **fields)


def test_a_call_is_followed_from_newchannel_through_the_bridge_to_hangup() -> None:
    tracker = ChannelTracker()

    tracker.apply(newchannel("1764057600.1", CARRIER))
    seen_at = tracker.channels["1764057600.1"].seen_at
    tracker.apply(
        event("Newstate", Channel=CARRIER, ChannelStateDesc="Ring", Uniqueid="1764057600.1")
    )
    tracker.apply(
        event(
            "NewCallerid",
            Channel=CARRIER,
            ChannelStateDesc="Ring",
            CallerIDNum="13912345678",
            CallerIDName="王芳",
            Uniqueid="1764057600.1",
        )
    )
    tracker.apply(
        event(
            "BridgeEnter",
            BridgeUniqueid="b-42",
            Channel=CARRIER,
            ChannelStateDesc="Up",
            CallerIDNum="13912345678",
            CallerIDName="王芳",
            Uniqueid="1764057600.1",
        )
    )
    in_bridge = tracker.channels["1764057600.1"]
    tracker.apply(
        event("Newstate", Channel=CARRIER, ChannelStateDesc="Up", Uniqueid="1764057600.1")
    )
    still_in_bridge = tracker.channels["1764057600.1"]
    tracker.apply(
        event("BridgeLeave", BridgeUniqueid="b-42", Channel=CARRIER, Uniqueid="1764057600.1")
    )
    left_bridge = tracker.channels["1764057600.1"]
    tracker.apply(event("Hangup", Channel=CARRIER, Uniqueid="1764057600.1", Cause="16"))

    assert (in_bridge.state, in_bridge.bridge_id) == ("Up", "b-42")
    assert (in_bridge.caller_number, in_bridge.caller_name) == ("13912345678", "王芳")
    assert still_in_bridge.bridge_id == "b-42"  # a state change does not take it out
    assert left_bridge.bridge_id == ""
    assert in_bridge.seen_at == still_in_bridge.seen_at == left_bridge.seen_at == seen_at
    assert tracker.channels == {}


def test_new_channel_keeps_its_fields_and_an_unknown_caller_id_is_empty() -> None:
    tracker = ChannelTracker()

    tracker.apply(
        newchannel("1764057600.3", AGENT, CallerIDNum="<unknown>", CallerIDName="<unknown>")
    )

    channel = tracker.channels["1764057600.3"]
    assert (channel.name, channel.state, channel.context, channel.exten) == (
        AGENT,
        "Down",
        "from-carrier",
        "4008001234",
    )
    assert (channel.caller_number, channel.caller_name) == ("", "")
    assert channel.linkedid == "1764057600.3"
    assert tracker.by_name(AGENT) == channel
    assert tracker.by_name("PJSIP/nobody") is None


def test_renamed_channel_is_still_the_same_channel() -> None:
    tracker = ChannelTracker()
    tracker.apply(newchannel("1764057600.1", CARRIER))

    tracker.apply(
        event(
            "Rename",
            Channel="PJSIP/carrier-renamed",
            Newname="PJSIP/carrier-renamed",
            Uniqueid="1764057600.1",
        )
    )

    assert [c.name for c in tracker.channels.values()] == ["PJSIP/carrier-renamed"]


def test_events_without_a_uniqueid_and_untracked_events_change_nothing() -> None:
    tracker = ChannelTracker()
    tracker.apply(newchannel("1764057600.1", CARRIER))
    before = dict(tracker.channels)

    tracker.apply(event("Hangup", Channel=CARRIER, Cause="16"))
    tracker.apply(event("Newstate", Channel=AGENT, ChannelStateDesc="Up"))
    tracker.apply(event("Newchannel", Channel=AGENT, Uniqueid=""))
    tracker.apply(event("VarSet", Channel=CARRIER, Uniqueid="1764057600.1", Variable="X"))
    tracker.apply(Message([("Response", "Success"), ("Uniqueid", "1764057600.1")]))

    assert tracker.channels == before


def test_hangup_of_an_unknown_channel_is_a_no_op_and_news_of_one_adds_it() -> None:
    # Around a resync, events for channels the snapshot did not know still converge.
    tracker = ChannelTracker()

    tracker.apply(event("Hangup", Channel=CARRIER, Uniqueid="1764057600.9"))
    tracker.apply(
        event("Newstate", Channel=AGENT, ChannelStateDesc="Ringing", Uniqueid="1764057600.4")
    )

    assert list(tracker.channels) == ["1764057600.4"]
    assert tracker.channels["1764057600.4"].state == "Ringing"


def test_snapshot_replaces_the_view_and_known_channels_keep_when_they_were_first_seen() -> None:
    tracker = ChannelTracker()
    tracker.apply(newchannel("1764057600.1", CARRIER))
    tracker.apply(newchannel("1764057600.2", AGENT))  # hangs up while we are disconnected
    first_seen = tracker.channels["1764057600.1"].seen_at

    tracker.replace_all(
        [
            snapshot_entry("1764057600.1", CARRIER, BridgeId="b-7"),
            snapshot_entry("1764057600.5", "PJSIP/1002-00000005"),
            event("CoreShowChannel", Channel="PJSIP/broken"),  # no Uniqueid: skipped
        ]
    )

    assert sorted(tracker.channels) == ["1764057600.1", "1764057600.5"]
    kept = tracker.channels["1764057600.1"]
    assert kept.seen_at == first_seen
    assert (kept.state, kept.bridge_id) == ("Up", "b-7")
    assert tracker.channels["1764057600.5"].seen_at >= first_seen
    assert tracker.resyncs == 1
