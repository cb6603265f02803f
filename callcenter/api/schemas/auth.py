"""Logins over the API: the credentials a user sends and the session they get back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from callcenter.api.schemas.common import StrictModel, text
from callcenter.crm.vocabulary import Role
from callcenter.passwords import MAX_LENGTH
from callcenter.persistence.sessions import UserInfo

Username = Annotated[str, text(64)]


class LoginIn(StrictModel):
    username: Username
    # SecretStr: a validation error or a repr never shows it.
    password: SecretStr = Field(min_length=1, max_length=MAX_LENGTH)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    extension: str | None
    branch_id: int | None

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls(
            id=user.user_id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            extension=user.extension,
            branch_id=user.branch_id,
        )


class LoginOut(BaseModel):
    step: Literal["session"] = "session"
    user: UserOut
    expires_at: dt.datetime = Field(description="the session's absolute end (UTC)")
    token: str = Field(
        description="the session token, also set as the cc_session cookie; send it as "
        "'Authorization: Bearer <token>' from scripts. Keep it secret."
    )
    mfa_enrolment_required: bool = Field(
        default=False,
        description="the role requires a second factor and the user has none: this session "
        "may only enrol one (POST /api/auth/mfa/enrol, then /api/auth/mfa/confirm)",
    )


class MfaStepOut(BaseModel):
    """The password was right; the user's second factor comes next (POST /api/auth/mfa)."""

    step: Literal["mfa"] = "mfa"
    mfa_token: str = Field(
        description="names this login to POST /api/auth/mfa for a few minutes; not a session"
    )
    expires_at: dt.datetime


class MfaIn(StrictModel):
    mfa_token: str = Field(min_length=1, max_length=1024)
    # A TOTP code (6 digits) or a recovery code (xxxxx-xxxxx).
    code: SecretStr = Field(min_length=6, max_length=32)


class MfaConfirmIn(StrictModel):
    code: SecretStr = Field(min_length=6, max_length=8)


class EnrolmentOut(BaseModel):
    """Shown once: the secret for an authenticator app, as text and as an otpauth:// URI."""

    secret: str
    otpauth_uri: str


class RecoveryCodesOut(BaseModel):
    """Shown once: each code opens one login when the phone is not at hand."""

    recovery_codes: list[str]


class MeOut(UserOut):
    mfa_required: bool = Field(description="the role requires a second factor")
    mfa_enrolled: bool = Field(description="the user has a confirmed second factor")
    mfa_verified: bool = Field(description="this session's login proved the second factor")
