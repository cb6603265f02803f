"""Whether a user's phone is registered (issue 16): the desk shows it next to the extension."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PhoneOut(BaseModel):
    extension: str | None = Field(description="the user's phone (users.extension); None: none")
    registered: bool | None = Field(
        description="registered with the PBX now; None: cannot tell (no PBX link, or none "
        "configured)"
    )
