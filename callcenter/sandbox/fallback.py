"""What the dialplan's fallback needs from settings (extensions.conf ``[service-fallback]``,
queues.conf, modules.conf), as template context.

The production image renders the same keys from its environment without this package
(docker/asterisk/render_conf.py); a unit test keeps the two in step.
"""

from __future__ import annotations

from callcenter.sandbox.errors import SandboxError
from callcenter.settings import Settings

# Where cel_custom.conf's file lands, inside the instance's log folder (ASTLOGDIR).
CEL_FILE_IN_LOG = "cel-custom/calls.csv"


def transfer_dial(settings: Settings) -> str:
    """The Dial string of the fallback's transfer number: one of our phones, else the carrier
    trunk (the rule of click-to-dial, callcenter/pbx/call_states.py ``dial_target``)."""
    number = settings.fallback_transfer_number
    if settings.fallback_mode != "transfer":
        return ""
    phones = {*settings.agent_extensions, *settings.advisor_extensions}
    phones |= set(settings.supervisor_extensions)
    if number in phones:
        return f"PJSIP/{number}"
    if not settings.outbound_trunk:
        raise SandboxError(
            "fallback-transfer-needs-trunk",
            f"the fallback's transfer number {number} is not an extension, and no outbound trunk "
            "is configured (CALLCENTER_OUTBOUND_TRUNK)",
        )
    return f"PJSIP/carrier/sip:{number}@{settings.outbound_trunk}"


def fallback_context(settings: Settings, sounds_dir: str) -> dict[str, object]:
    """The fallback's template keys; ``sounds_dir`` is the fallback prompts' folder as
    Asterisk names it."""
    return {
        "pickup_seconds": settings.service_pickup_seconds,
        "fallback_mode": settings.fallback_mode,
        "fallback_transfer_dial": transfer_dial(settings),
        "fallback_queue_members": list(settings.agent_extensions),
        "fallback_queue_wait_seconds": settings.fallback_queue_wait_seconds,
        "fallback_sounds_dir": sounds_dir,
    }
