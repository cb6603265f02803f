"""Helpers to talk to the test Asterisk."""

from __future__ import annotations

import asyncio

from callcenter.app import ami_config
from callcenter.asterisk.client import AmiConfig
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.settings import Settings


def config_for(settings: Settings, **overrides: object) -> AmiConfig:
    base = ami_config(settings)
    values = {**base.__dict__, **overrides}
    return AmiConfig(**values)  # type: ignore[arg-type]


async def next_event(
    sub: Subscription[Message], name: str, timeout: float = 15.0, **headers: str
) -> Message:
    """The next event called ``name`` whose headers match; fails the test after ``timeout``."""

    async def find() -> Message:
        while True:
            message = await sub.get()
            if message.name.lower() == name.lower() and all(
                message.get(k) == v for k, v in headers.items()
            ):
                return message

    return await asyncio.wait_for(find(), timeout)
