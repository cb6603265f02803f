"""Logins over the API: the credentials a user sends and the session they get back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

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
    user: UserOut
    expires_at: dt.datetime = Field(description="the session's absolute end (UTC)")
    token: str = Field(
        description="the session token, also set as the cc_session cookie; send it as "
        "'Authorization: Bearer <token>' from scripts. Keep it secret."
    )
