"""The exception tree of the AMI library. Every error carries a stable ``error_id`` slug.

AmiError
├── AmiConnectionError         cannot reach the server, or the connection dropped
│   └── AmiConnectionLost      dropped while an action or AGI command was pending (not resent)
├── AmiAuthenticationError     the server refused the username/secret (never retried)
├── AmiNotConnected            an action was sent while no session is logged in
├── AmiTimeout                 no reply in time
├── AmiActionError             the server answered ``Response: Error``
├── AmiEventsLost              a subscriber fell behind and its bounded queue overflowed
└── AgiError                   an Async AGI command could not run
    └── AgiChannelGone         the channel left Async AGI (hung up) before the result came
"""

from __future__ import annotations


class AmiError(Exception):
    error_id = "ami-error"


class AmiConnectionError(AmiError):
    error_id = "ami-connection-failed"


class AmiConnectionLost(AmiConnectionError):
    error_id = "ami-connection-lost"


class AmiAuthenticationError(AmiError):
    error_id = "ami-authentication-failed"


class AgiResultLost(AmiConnectionLost):
    """An AGI command finished while no AMI session listened: its result is lost for good
    (the channel has nothing of it left queued; it may be sent again)."""

    error_id = "agi-result-lost"


class AmiNotConnected(AmiError):
    error_id = "ami-not-connected"


class AmiTimeout(AmiError):
    error_id = "ami-timeout"


class AmiActionError(AmiError):
    """``Response: Error`` to an action; ``message`` is Asterisk's own ``Message`` header."""

    error_id = "ami-action-failed"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI action {action} failed: {message}")
        self.action = action
        self.message = message


class AmiEventsLost(AmiError):
    """Raised by an event subscription after it dropped events: the consumer must resync."""

    error_id = "ami-events-lost"

    def __init__(self, lost: int) -> None:
        super().__init__(f"event subscriber fell behind: {lost} events dropped, resync needed")
        self.lost = lost


class AgiError(AmiError):
    error_id = "agi-command-failed"


class AgiChannelGone(AgiError):
    error_id = "agi-channel-gone"
