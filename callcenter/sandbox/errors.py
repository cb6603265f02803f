"""Errors of the Asterisk sandbox, each with a stable id and a message for a person."""

from __future__ import annotations


class SandboxError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message
