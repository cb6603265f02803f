"""The public site's callback form, on both databases: no login; the number becomes a
callback work item (the client identified by it); asking again books nothing more; a bad
number is refused by name; too many requests from one address are refused with the wait."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.persistence.tables import AuditEntry, CallbackRequest, FollowUp
from tests.api.conftest import Api
from tests.support.crm_data import add_client


async def test_a_visitor_books_a_callback_without_logging_in(api: Api) -> None:
    client_id = await add_client(api.db, api.branch.id, phones=("+8613800138000",))
    booked = await api.http.post(
        "/api/public/callbacks", json={"number": "138 0013 8000", "language": "en"}
    )
    assert booked.status_code == 202, booked.text
    reference = booked.json()["reference"]
    assert booked.json()["already_booked"] is False
    async with api.db.read() as session:
        item = await session.get(FollowUp, reference)
        assert item is not None
        assert (item.kind, item.number, item.client_id, item.language) == (
            FollowUpKind.CALLBACK,
            "+8613800138000",
            client_id,
            "en",
        )
        assert item.reason == "callback requested on the web site"
        request = await session.get(CallbackRequest, item.callback_request_id)
        assert request is not None
        audit = (
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "callback.web")
            )
        ).all()
        assert audit == [{"number": "+86138****8000", "follow_up_id": reference}]
    again = await api.http.post("/api/public/callbacks", json={"number": "+8613800138000"})
    assert again.json() == {"reference": reference, "already_booked": True}


@pytest.mark.parametrize("number", ["12", "not a number", "+99999999999999999999"])
async def test_a_number_that_is_no_phone_number_is_refused(api: Api, number: str) -> None:
    refused = await api.http.post("/api/public/callbacks", json={"number": number})
    assert refused.status_code == 422
    async with api.db.read() as session:
        assert (await session.scalars(select(FollowUp))).all() == []


async def test_an_address_asking_too_often_is_told_when_to_try_again(api: Api) -> None:
    for n in range(3):
        ok = await api.http.post("/api/public/callbacks", json={"number": f"1380013800{n}"})
        assert ok.status_code == 202, ok.text
    refused = await api.http.post("/api/public/callbacks", json={"number": "13800138009"})
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate-limited"
    assert 3000 < body["detail"]["retry_after_seconds"] <= 3601
    async with api.db.read() as session:
        assert len((await session.scalars(select(FollowUp))).all()) == 3
