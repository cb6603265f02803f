"""Call control's pure parts: the state table of a controlled call and the dial strings."""

from __future__ import annotations

import pytest

from callcenter.errors import DomainError
from callcenter.pbx.call_states import (
    TRANSITIONS,
    AlreadyOnHold,
    CallControlNotAllowed,
    ControlAction,
    ControlState,
    NoConsult,
    NoOutboundTrunk,
    NotOnHold,
    dial_target,
    is_leg_of,
    transition,
)
from callcenter.pbx.channels import Channel

S, A = ControlState, ControlAction


@pytest.mark.parametrize(
    ("state", "action", "after"),
    [
        (S.TALKING, A.HOLD, S.HELD),
        (S.HELD, A.RESUME, S.TALKING),
        (S.TALKING, A.CONSULT, S.CONSULTING),
        (S.HELD, A.CONSULT, S.CONSULTING),
        (S.CONSULTING, A.COMPLETE, S.TRANSFERRED),
        (S.CONSULTING, A.CANCEL, S.TALKING),
        (S.CONSULTING, A.CONFERENCE, S.CONFERENCE),
        (S.HELD, A.BLIND_TRANSFER, S.TRANSFERRED),
        (S.TALKING, A.HANG_UP, S.ENDED),
        (S.CONFERENCE, A.HANG_UP, S.CONFERENCE),  # the agent leaves; the others talk on
    ],
)
def test_allowed_moves(state: ControlState, action: ControlAction, after: ControlState) -> None:
    assert transition(state, action) is after


@pytest.mark.parametrize(
    ("state", "action", "error", "error_id"),
    [
        (S.TALKING, A.RESUME, NotOnHold, "not-on-hold"),
        (S.CONSULTING, A.RESUME, NotOnHold, "not-on-hold"),
        (S.HELD, A.HOLD, AlreadyOnHold, "already-on-hold"),
        (S.TALKING, A.COMPLETE, NoConsult, "no-consult"),
        (S.HELD, A.CANCEL, NoConsult, "no-consult"),
        (S.TALKING, A.CONFERENCE, NoConsult, "no-consult"),
        (S.CONSULTING, A.HOLD, CallControlNotAllowed, "call-control-not-allowed"),
        (S.CONFERENCE, A.BLIND_TRANSFER, CallControlNotAllowed, "call-control-not-allowed"),
        (S.TRANSFERRED, A.HANG_UP, CallControlNotAllowed, "call-control-not-allowed"),
    ],
)
def test_refused_moves_are_named(
    state: ControlState, action: ControlAction, error: type[DomainError], error_id: str
) -> None:
    with pytest.raises(error) as raised:
        transition(state, action)
    assert raised.value.error_id == error_id
    assert raised.value.detail == {"state": state.value}


def test_finished_calls_take_no_action() -> None:
    for action in ControlAction:
        for state in (S.TRANSFERRED, S.ENDED):
            assert (state, action) not in TRANSITIONS
            with pytest.raises(DomainError):
                transition(state, action)


def test_an_extension_is_dialled_on_its_phone_and_a_number_on_the_trunk() -> None:
    extensions = {"1001", "1002"}
    assert dial_target("1002", extensions, "") == "PJSIP/1002"
    assert (
        dial_target("+8613900000001", extensions, "10.0.0.5:5060")
        == "PJSIP/carrier/sip:+8613900000001@10.0.0.5:5060"
    )


class Lines:
    """The registrations' choice of line: 1002's browser line is registered."""

    def line_for(self, extension: str) -> str:
        return f"{extension}-web" if extension == "1002" else extension


def test_an_extension_rings_the_line_the_registrations_choose() -> None:
    extensions = {"1001", "1002"}
    assert dial_target("1002", extensions, "", Lines()) == "PJSIP/1002-web"
    assert dial_target("1001", extensions, "", Lines()) == "PJSIP/1001"
    trunk = dial_target("+8613900000001", extensions, "10.0.0.5:5060", Lines())
    assert trunk == "PJSIP/carrier/sip:+8613900000001@10.0.0.5:5060"


def test_a_number_without_an_outbound_trunk_is_refused() -> None:
    with pytest.raises(NoOutboundTrunk) as raised:
        dial_target("+8613900000001", {"1001"}, "")
    assert raised.value.error_id == "no-outbound-trunk"


def channel(name: str) -> Channel:
    return Channel("u1", name, "u1", "Up", "", "", "", "")


def test_a_leg_of_an_extension_is_named_by_its_endpoint_and_a_dash() -> None:
    assert is_leg_of(channel("PJSIP/1001-0000002a"), "1001")
    assert not is_leg_of(channel("PJSIP/10010-0000002a"), "1001")
    assert not is_leg_of(channel("PJSIP/carrier-00000001"), "1001")
