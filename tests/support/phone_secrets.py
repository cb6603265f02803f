"""Each person's own phone secret (issue 19), for the test phones and the benchmarks' phones,
by extension (what ``AgentPhone(password=...)`` takes):

* :func:`service_phone_secrets`: a running service's, once Asterisk has them;
* :func:`stored_phone_secrets`: those in a service's database, opened with its key (a
  service running in another task or process made them at its start);
* :func:`sandbox_phone_secrets`: fresh ones for the bare sandbox (no service), written into
  pjsip_phones.conf and reloaded the way the service does.
"""

from __future__ import annotations

import asyncio

from callcenter.app import Runtime
from callcenter.asterisk.client import open_ami
from callcenter.pbx.phone_config import PhoneConfig, PhoneLine, new_secret
from callcenter.pbx.phone_credentials import PhoneCredentials
from callcenter.persistence.db import Database
from callcenter.persistence.phone_secrets import SqlPhoneSecrets
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.secretbox import box_for
from callcenter.settings import Settings
from tests.support.ami import config_for


async def service_phone_secrets(runtime: Runtime, timeout: float = 15.0) -> dict[str, str]:
    credentials = runtime.phone_credentials
    assert credentials is not None
    await asyncio.wait_for(credentials.applied.wait(), timeout)
    return {line.extension: line.secret for line in await credentials.lines()}


async def stored_phone_secrets(settings: Settings) -> dict[str, str]:
    db = Database(settings.effective_database_url)
    try:
        lines = await PhoneCredentials(SqlPhoneSecrets(db), box_for(settings), None).lines()
    finally:
        await db.dispose()
    return {line.extension: line.secret for line in lines}


async def sandbox_phone_secrets(instance: AsteriskInstance, settings: Settings) -> dict[str, str]:
    extensions = [
        *settings.agent_extensions,
        *settings.advisor_extensions,
        *settings.supervisor_extensions,
    ]
    secrets = {extension: new_secret() for extension in extensions}
    async with open_ami(config_for(settings)) as ami:
        config = PhoneConfig(instance.phones_conf, settings.sip_realm, ami)
        await config.apply([PhoneLine(ext, secret) for ext, secret in secrets.items()])
    return secrets
