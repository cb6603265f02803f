"""Our asyncio AMI and Async AGI library. Knows no contact-center words; imports nothing else
from ``callcenter``. See docs/ami.md for why we wrote our own."""

from callcenter.asterisk.agi import AgiResult, AsyncAgi, parse_agi_env, parse_agi_result
from callcenter.asterisk.client import (
    ActionListResult,
    AmiClient,
    AmiConfig,
    ConnectionChange,
    ConnectionState,
    open_ami,
)
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiError,
    AgiResultLost,
    AmiActionError,
    AmiAuthenticationError,
    AmiConnectionError,
    AmiConnectionLost,
    AmiError,
    AmiEventsLost,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.asterisk.protocol import AmiParser, Message, encode_action

__all__ = [
    "ActionListResult",
    "AgiChannelGone",
    "AgiError",
    "AgiResult",
    "AgiResultLost",
    "AmiActionError",
    "AmiAuthenticationError",
    "AmiClient",
    "AmiConfig",
    "AmiConnectionError",
    "AmiConnectionLost",
    "AmiError",
    "AmiEventsLost",
    "AmiNotConnected",
    "AmiParser",
    "AmiTimeout",
    "AsyncAgi",
    "ConnectionChange",
    "ConnectionState",
    "Message",
    "encode_action",
    "open_ami",
    "parse_agi_env",
    "parse_agi_result",
]
