"""Domain errors: facts with stable ids. HTTP status codes are decided only at the edge
(callcenter/api/errors.py), never here."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    error_id = "domain-error"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(DomainError):
    error_id = "not-found"


class Conflict(DomainError):
    """The request is valid but clashes with the current state (an illegal transition, a
    stale version)."""

    error_id = "conflict"


class StaleVersion(Conflict):
    """The record changed since the caller read it (its ``version`` moved on): re-read,
    merge, retry. Used by every record that people edit concurrently."""

    error_id = "stale-version"


class InvalidInput(DomainError):
    """Input that passed the schema but breaks a domain rule (an unknown category...)."""

    error_id = "invalid-input"


class Forbidden(DomainError):
    error_id = "forbidden"


class NotAuthenticated(DomainError):
    """No valid login: no session token, or one that is unknown, expired or revoked."""

    error_id = "not-authenticated"


class RateLimited(DomainError):
    """Too many attempts: try again after ``retry_after_seconds`` (in the detail)."""

    error_id = "rate-limited"
