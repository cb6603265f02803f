"""Agent phones register with their person's own secret (issue 19); nothing registers
without it, nor with another person's."""

from __future__ import annotations

import pytest

from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.sipp import register_phone

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(60)]


def _contacts(asterisk: AsteriskInstance, aor: str) -> str:
    out = asterisk.cli(f"pjsip show aor {aor}")
    return "\n".join(line for line in out.splitlines() if "Contact:" in line and "<Aor" not in line)


async def test_agent_phone_registers_with_its_own_secret(
    asterisk: AsteriskInstance, asterisk_settings: Settings, sandbox_phones: dict[str, str]
) -> None:
    password = sandbox_phones["1002"]
    result = await register_phone(asterisk_settings.sip_port, "1002", password=password)
    assert result.succeeded, result.output  # 401 challenge, then 200 OK
    assert "1002/sip:1002@127.0.0.1" in _contacts(asterisk, "1002")


async def test_another_persons_secret_is_refused(
    asterisk: AsteriskInstance, asterisk_settings: Settings, sandbox_phones: dict[str, str]
) -> None:
    someone_else = sandbox_phones["1002"]
    assert someone_else != sandbox_phones["1006"]
    result = await register_phone(
        asterisk_settings.sip_port, "1006", password=someone_else, expect=401
    )
    assert result.succeeded, result.output  # the digest is refused with a fresh challenge
    assert _contacts(asterisk, "1006") == ""


async def test_wrong_password_is_challenged_again_and_registers_nothing(
    asterisk: AsteriskInstance, asterisk_settings: Settings, sandbox_phones: dict[str, str]
) -> None:
    assert sandbox_phones["1003"] != "not-the-password"
    result = await register_phone(
        asterisk_settings.sip_port, "1003", password="not-the-password", expect=401
    )
    assert result.succeeded, result.output
    assert _contacts(asterisk, "1003") == ""


async def test_trunk_address_cannot_register_a_phone_without_a_password(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    # From the trunk's address with a From user that is no phone: identified as the carrier,
    # which owns no AOR, so the registrar refuses it.
    result = await register_phone(
        asterisk_settings.sip_port, "1004", password=None, from_user="9999", expect=403
    )
    assert result.succeeded, result.output
    assert _contacts(asterisk, "1004") == ""
