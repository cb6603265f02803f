"""Shared fixtures. The real Asterisk is started once per test session, as its own sandbox
instance on its own ports, so it never collides with a developer's running instance."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings


def _test_settings() -> Settings:
    return load_settings(
        sandbox_instance=os.environ.get("CALLCENTER_TEST_INSTANCE", "pytest"),
        ami_port=int(os.environ.get("CALLCENTER_TEST_AMI_PORT", "15038")),
        sip_port=int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "15060")),
        rtp_start=12000,
        rtp_end=12999,
        ami_username="callcenter-test",
        ami_secret=secrets.token_urlsafe(18),
        ami_ping_interval=5.0,
    )


@pytest.fixture(scope="session")
def asterisk_settings() -> Settings:
    return _test_settings()


@pytest.fixture(scope="session")
def asterisk(asterisk_settings: Settings) -> Iterator[AsteriskInstance]:
    """A running, fully booted sandbox Asterisk for the whole session."""
    if os.geteuid() != 0:
        pytest.fail("the Asterisk sandbox needs root: run the suite with scripts/test as root")
    instance = AsteriskInstance(asterisk_settings)
    instance.down()
    instance.up()
    try:
        yield instance
    finally:
        instance.down()
