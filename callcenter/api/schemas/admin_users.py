"""Staff accounts over the API (the admin console)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from callcenter.api.schemas.common import Id, StrictModel, text
from callcenter.crm.vocabulary import Role
from callcenter.passwords import MAX_LENGTH, MIN_LENGTH
from callcenter.persistence.admin_users import BranchRecord, NewUser, UserRecord

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,16}$")]
# The policy (length) is callcenter/passwords.py's: checked there, 422 weak-password.
Password = Annotated[str, Field(min_length=1, max_length=4 * MAX_LENGTH)]


class UserIn(StrictModel):
    username: Username = Field(examples=["agent11"], description="lowercase: a-z 0-9 . _ -")
    display_name: Annotated[str, text(100)] = Field(examples=["王芳"])
    role: Role
    branch_id: Id | None = Field(None, description="required for role branch")
    extension: Extension | None = Field(None, description="the phone the ACD rings (agents)")
    password: Password = Field(
        description=f"the first password: {MIN_LENGTH} to {MAX_LENGTH} characters; "
        "the user should change it (callcenter users set-password)"
    )

    def new_user(self) -> NewUser:
        return NewUser(self.username, self.display_name, self.role, self.branch_id, self.extension)


class UserChangeIn(StrictModel):
    """The fields to change; a field left out stays as it is, null clears branch or
    extension."""

    display_name: Annotated[str, text(100)] | None = None
    role: Role | None = None
    branch_id: Id | None = None
    extension: Extension | None = None
    active: bool | None = Field(None, description="false ends every session of the user")

    def changes(self) -> dict[str, object]:
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        for required in ("display_name", "role", "active"):
            if required in sent and sent[required] is None:
                del sent[required]  # null cannot clear these: left as they are
        return sent


class PasswordIn(StrictModel):
    password: Password


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    branch_id: int | None
    extension: str | None
    active: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, record: UserRecord) -> UserOut:
        return cls(
            id=record.user_id,
            username=record.username,
            display_name=record.display_name,
            role=record.role,
            branch_id=record.branch_id,
            extension=record.extension,
            active=record.active,
            created_at=record.created_at,
        )


class SessionsEndedOut(BaseModel):
    user: UserOut
    sessions_ended: int = Field(description="the user's sessions this change ended")


class BranchOut(BaseModel):
    id: int
    code: str
    name: str
    name_en: str

    @classmethod
    def of(cls, record: BranchRecord) -> BranchOut:
        return cls(id=record.branch_id, code=record.code, name=record.name, name_en=record.name_en)
