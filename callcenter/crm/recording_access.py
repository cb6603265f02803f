"""Who may hear a recording, why they must say, and which bytes they get (issue 17, point 5).

Playing a call back is reading client data, so it is audited with who, when, which recording
(its interaction and client) and *why*: the player first opens a **playback** with a reason
(:class:`PlaybackReason`, and a few words when it is ``other``), which writes one audit entry
and answers a **ticket**. The browser's ``<audio>`` element then fetches the file in as many
range requests as it likes (each seek is one), each carrying the ticket: a playback is
audited once, not once per request. The ticket is good for its user, its recording and its
purpose (play or download) only, until it expires (:attr:`PlaybackPolicy.ticket_minutes`);
only its SHA-256 is stored.

Who, by role (settings ``recordings_agent_playback`` and ``recordings_download_roles``):

==========================  =============================================================
role                        may
==========================  =============================================================
supervisor, quality,        play any recording
compliance
agent, advisor              play the recordings of their own calls, only when the setting
                            ``recordings_agent_playback`` is on (off by default)
branch, admin               nothing
download                    a separate permission: the roles in
                            ``recordings_download_roles`` (default supervisor and
                            compliance: evidence for a dispute or a regulator), and only
                            recordings they may play
==========================  =============================================================

A recording outside an agent's own calls is not found (404), as every record outside a
reader's scope is (callcenter/crm/scopes.py). Pure values and rules; no IO.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from callcenter.crm.vocabulary import Role
from callcenter.errors import Conflict, Forbidden, InvalidInput, NotFound

# Roles that play any recording.
PLAY_ANY_ROLES: Final = frozenset({Role.SUPERVISOR, Role.QUALITY, Role.COMPLIANCE})
# Roles that take calls: their own calls only, and only when the setting allows.
OWN_CALL_ROLES: Final = frozenset({Role.AGENT, Role.ADVISOR})
DEFAULT_DOWNLOAD_ROLES: Final = (Role.SUPERVISOR.value, Role.COMPLIANCE.value)
REASON_TEXT_MAX = 300


class PlaybackReason(StrEnum):
    COMPLAINT = "complaint"
    QUALITY_REVIEW = "quality_review"
    DISPUTE = "dispute"
    CLIENT_REQUEST = "client_request"
    OTHER = "other"  # with a few words of text


class PlaybackPurpose(StrEnum):
    PLAY = "play"  # streamed in the page
    DOWNLOAD = "download"  # saved as a file (Content-Disposition: attachment)


class RecordingNotFound(NotFound):
    error_id = "recording-not-found"


class PlaybackForbidden(Forbidden):
    """The role may not play recordings at all."""

    error_id = "recording-playback-forbidden"


class AgentPlaybackOff(Forbidden):
    """An agent's own calls are playable only when ``recordings_agent_playback`` is on."""

    error_id = "recording-agent-playback-off"


class DownloadForbidden(Forbidden):
    """The role may play but not download (``recordings_download_roles``)."""

    error_id = "recording-download-forbidden"


class ReasonRequired(InvalidInput):
    """No playback without a reason; ``other`` needs its text."""

    error_id = "recording-reason-required"


class TicketRequired(InvalidInput):
    """The audio is fetched with the ticket of a playback opened with a reason."""

    error_id = "recording-ticket-required"


class TicketInvalid(Forbidden):
    """Unknown, expired, another user's, another recording's, or a play ticket used to
    download."""

    error_id = "recording-ticket-invalid"


class RecordingNotPlayable(Conflict):
    """Still being recorded, failed, or purged: there is no finished file to play."""

    error_id = "recording-not-playable"


@dataclass(frozen=True)
class PlaybackPolicy:
    agents_hear_own_calls: bool = False
    download_roles: frozenset[Role] = frozenset(Role(r) for r in DEFAULT_DOWNLOAD_ROLES)
    ticket_minutes: int = 120

    def check_role(self, role: Role) -> None:
        """Whether ``role`` may play recordings at all (before any recording is looked up,
        so that a refusal tells nothing about one)."""
        if role in PLAY_ANY_ROLES:
            return
        if role in OWN_CALL_ROLES:
            if not self.agents_hear_own_calls:
                raise AgentPlaybackOff(
                    "agents may not play recordings here: the setting "
                    "recordings_agent_playback is off",
                    role=role.value,
                )
            return
        raise PlaybackForbidden(f"a {role} may not play recordings", role=role.value)

    def check_recording(self, role: Role, user_id: int, call_agent_id: int | None) -> None:
        """Whether this user may play a recording of a call taken by ``call_agent_id``."""
        self.check_role(role)
        if role in OWN_CALL_ROLES and call_agent_id != user_id:
            raise RecordingNotFound("no such recording among your calls")

    def check_download(self, role: Role) -> None:
        if role not in self.download_roles:
            raise DownloadForbidden(
                f"a {role} may play recordings but not download them", role=role.value
            )


def check_reason(reason: PlaybackReason | None, text: str | None) -> str | None:
    """The reason's text, trimmed (None when empty); refuses a missing reason, and ``other``
    without words."""
    words = (text or "").strip()[:REASON_TEXT_MAX] or None
    if reason is None:
        raise ReasonRequired("say why you play this recording (reason)")
    if reason is PlaybackReason.OTHER and words is None:
        raise ReasonRequired("reason 'other' needs a few words (reason_text)")
    return words


def new_ticket() -> tuple[str, str]:
    """A playback's ticket and the SHA-256 stored of it."""
    ticket = secrets.token_urlsafe(24)
    return ticket, ticket_hash(ticket)


def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8", "replace")).hexdigest()


# --- HTTP range requests (RFC 9110, section 14) ---------------------------------------------


class RangeNotSatisfiable(InvalidInput):
    """A range that starts past the end of the file (416, with ``Content-Range: */size``)."""

    error_id = "recording-range-not-satisfiable"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"

    @property
    def length(self) -> int:
        return self.end - self.start


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a ``Range`` header asks of a file of ``size`` bytes; None for the whole
    file (no header, a syntax we do not read, or several ranges: RFC 9110 lets a server
    ignore Range and answer 200). ``bytes=a-b`` (b clamped to the end), ``bytes=a-``,
    ``bytes=-n`` (the last n). A range beginning at or past the end, or a suffix of 0 bytes,
    cannot be satisfied (:class:`RangeNotSatisfiable`)."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    first, last = first.strip(), last.strip()
    if not dash or not (first or last) or not (first + last).isdigit():
        return None
    if not first:  # a suffix: the last n bytes
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable("an empty suffix range", size=size)
        return ByteRange(max(0, size - count), size)
    start = int(first)
    end = size if not last else int(last) + 1
    if last and end <= start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable("the range starts past the end of the recording", size=size)
    return ByteRange(start, min(end, size))
