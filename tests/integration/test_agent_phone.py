"""The test agent phone (tests/support/agent_phone.py) against the real Asterisk: it registers
with its password, shows the caller ID of the call it is offered, answers, rings out, refuses,
and hangs up when the test says so. The ACD's feature tests rely on each of these."""

from __future__ import annotations

import asyncio
import time

import pytest

from callcenter.asterisk.client import AmiClient, open_ami
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.agent_phone import (
    AgentPhone,
    Answer,
    Busy,
    NeverAnswer,
    PhoneRegistrationFailed,
    digest_authorization,
    parse_name_addr,
)
from tests.support.ami import config_for

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(60)]

CALLER_NAME = "Li Wei 李伟"  # a Chinese name must reach the phone's screen intact
CALLER_NUMBER = "+8613800138000"


def _contacts(asterisk: AsteriskInstance) -> str:
    return asterisk.cli("pjsip show contacts")


async def _originate(
    ami: AmiClient, extension: str, *, application: str, data: str, timeout_ms: int = 5000
) -> float:
    """Ring the agent's phone with the hotline caller's ID; returns when the action was sent."""
    sent = time.time()
    await ami.action(
        "Originate",
        {
            "Channel": f"PJSIP/{extension}",
            "Application": application,
            "Data": data,
            "CallerID": f'"{CALLER_NAME}" <{CALLER_NUMBER}>',
            "Timeout": str(timeout_ms),
            "Async": "true",
        },
    )
    return sent


async def _phone_channel_event(
    events: Subscription[Message], name: str, extension: str, **headers: str
) -> Message:
    """The next ``name`` event of a channel to ``extension`` (PJSIP/<ext>-<sequence>)."""

    async def find() -> Message:
        while True:
            event = await events.get()
            if (
                event.name == name
                and (event.get("Channel") or "").startswith(f"PJSIP/{extension}-")
                and all(event.get(k) == v for k, v in headers.items())
            ):
                return event

    return await asyncio.wait_for(find(), 15)


async def test_phone_registers_its_own_port_and_unregisters_on_stop(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(asterisk_settings.sip_port, "1001", password=sandbox_phones)
    await phone.start()
    try:
        registered = _contacts(asterisk)
    finally:
        await phone.stop()
    assert f"1001/{phone.contact_uri}" in registered
    assert phone.contact_uri == f"sip:1001@127.0.0.1:{phone.port}"
    assert f"1001/{phone.contact_uri}" not in _contacts(asterisk)


async def test_wrong_password_fails_registration_with_a_clear_error(
    asterisk: AsteriskInstance, asterisk_settings: Settings, sandbox_phones: dict[str, str]
) -> None:
    assert sandbox_phones["1005"] != "not-the-password"  # 1005 has its own secret
    phone = AgentPhone(asterisk_settings.sip_port, "1005", password="not-the-password")
    with pytest.raises(PhoneRegistrationFailed, match=r"1005 .* 401 Unauthorized") as caught:
        await phone.start()
    assert "not-the-password" not in str(caught.value)
    assert "1005/sip:1005@" not in _contacts(asterisk)


async def test_answered_call_shows_the_caller_id_and_ends_when_the_agent_hangs_up(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(
        asterisk_settings.sip_port,
        "1006",
        password=sandbox_phones,
        behaviour=Answer(after=0.3),
    )
    async with open_ami(config_for(asterisk_settings)) as ami, phone:
        with ami.subscribe({"Newchannel", "Newstate", "Hangup"}) as events:
            await _originate(ami, "1006", application="Wait", data="20")
            created = await _phone_channel_event(events, "Newchannel", "1006")
            invite = await phone.wait_invite()
            call = await phone.wait_answered()
            up = await _phone_channel_event(events, "Newstate", "1006", ChannelStateDesc="Up")
            # Media flows both ways: Asterisk counts the phone's RTP as received.
            await phone.wait_until(lambda: call.rtp_received >= 5, what="RTP from Asterisk")
            stats = asterisk.cli("pjsip show channelstats")
            await phone.hang_up()
            hangup = await _phone_channel_event(events, "Hangup", "1006")

    assert (invite.from_display, invite.from_user) == (CALLER_NAME, CALLER_NUMBER)
    assert phone.invites == [invite]
    # The phone's clock is the clock of AMI Timestamp: the INVITE follows the new channel.
    assert 0 <= invite.at - float(created["Timestamp"]) < 1.0
    assert up["Channel"] == created["Channel"] == hangup["Channel"]
    assert call.answered_at is not None
    assert call.answered_at - invite.at >= 0.3
    assert call.hung_up_by_phone
    assert not call.bye_received
    assert call.hung_up_at is not None
    assert float(hangup["Timestamp"]) >= call.hung_up_at - 0.01
    assert phone.current is None
    assert call.rtp_sent > 0
    channel_row = next(line for line in stats.splitlines() if "1006-" in line)
    assert int(channel_row.split()[-9]) > 0, stats  # the Receive Count column


async def test_far_end_hangup_reaches_the_phone_as_a_bye(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(
        asterisk_settings.sip_port,
        "1007",
        password=sandbox_phones,
        behaviour=Answer(after=0.1),
    )
    async with open_ami(config_for(asterisk_settings)) as ami, phone:
        # hello-world is 1.4 s of audio, then the originated channel hangs up.
        await _originate(ami, "1007", application="Playback", data="hello-world")
        call = await phone.wait_ended(timeout=15)
    assert call.answered
    assert call.bye_received
    assert not call.hung_up_by_phone
    assert call.rtp_received > 50  # the prompt reached the phone


async def test_answer_hangs_up_by_itself_after_the_configured_time(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(
        asterisk_settings.sip_port,
        "1008",
        password=sandbox_phones,
        behaviour=Answer(after=0.1, hang_up_after=0.5),
    )
    async with open_ami(config_for(asterisk_settings)) as ami, phone:
        with ami.subscribe({"Hangup"}) as events:
            await _originate(ami, "1008", application="Wait", data="20")
            call = await phone.wait_ended()
            await _phone_channel_event(events, "Hangup", "1008")
    assert call.hung_up_by_phone
    assert call.hung_up_at is not None
    assert call.confirmed_at is not None
    assert call.hung_up_at - call.confirmed_at >= 0.5


async def test_never_answering_phone_rings_until_the_originate_timeout(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(
        asterisk_settings.sip_port,
        "1009",
        password=sandbox_phones,
        behaviour=NeverAnswer(),
    )
    async with open_ami(config_for(asterisk_settings)) as ami, phone:
        with ami.subscribe({"Hangup"}) as events, ami.subscribe({"OriginateResponse"}) as outcome:
            await _originate(ami, "1009", application="Wait", data="20", timeout_ms=1500)
            call = await phone.wait_ended()
            hangup = await _phone_channel_event(events, "Hangup", "1009")
            response = await asyncio.wait_for(outcome.get(), 5)
    assert call.cancelled
    assert not call.answered
    assert call.cancelled_at is not None
    assert 1.4 <= call.cancelled_at - call.invite.at < 3.0
    assert hangup["Cause-txt"] == "User alerting, no answer"
    assert (response.name, response["Response"]) == ("OriginateResponse", "Failure")


async def test_busy_phone_refuses_the_call_with_486(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    sandbox_phones: dict[str, str],
) -> None:
    phone = AgentPhone(
        asterisk_settings.sip_port,
        "1010",
        password=sandbox_phones,
        behaviour=Busy(),
    )
    async with open_ami(config_for(asterisk_settings)) as ami, phone:
        with ami.subscribe({"Hangup"}) as events:
            await _originate(ami, "1010", application="Wait", data="20")
            call = await phone.wait_ended()
            hangup = await _phone_channel_event(events, "Hangup", "1010")
    assert call.refused_busy_at is not None
    assert not call.answered
    assert (hangup["Cause-txt"], hangup["TechCause"]) == ("User busy", "486")


def test_digest_response_is_the_rfc_2617_example() -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = digest_authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "nc=00000001" in value
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value


def test_caller_id_is_read_from_quoted_and_bare_from_headers() -> None:
    quoted = parse_name_addr(r'"Li \"Wei\"" <sip:+8613800138000@127.0.0.1>;tag=abc')
    bare = parse_name_addr("Anonymous <sip:anonymous@anonymous.invalid>;tag=x")
    spec = parse_name_addr("sip:1001@127.0.0.1;tag=y")
    assert (quoted.display, quoted.user) == ('Li "Wei"', "+8613800138000")
    assert (bare.display, bare.user) == ("Anonymous", "anonymous")
    assert (spec.display, spec.user) == ("", "1001")
