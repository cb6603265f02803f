"""Call control over the API: what the agent desktop's buttons send, and the call's state."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from callcenter.api.schemas.common import Id, StrictModel
from callcenter.pbx.call_states import CallStatus, DialOut

Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
# An extension or a phone number: digits, E.164 with its +.
Number = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{2,20}$")]


class TransferIn(StrictModel):
    to: Extension
    mode: Literal["blind", "consult"] = "blind"


class DialIn(StrictModel):
    number: Number
    client_id: Id | None = None


class CallControlOut(BaseModel):
    state: Literal["talking", "held", "consulting", "conference", "transferred", "ended"]
    call_id: str
    interaction_id: int | None
    hold_seconds: int
    target: str | None

    @classmethod
    def of(cls, status: CallStatus) -> CallControlOut:
        return cls(
            state=status.state.value,
            call_id=status.call_id,
            interaction_id=status.interaction_id,
            hold_seconds=status.hold_seconds,
            target=status.target,
        )


class DialOutOut(BaseModel):
    call_id: str
    interaction_id: int

    @classmethod
    def of(cls, out: DialOut) -> DialOutOut:
        return cls(call_id=out.call_id, interaction_id=out.interaction_id)
