"""REST routes anyone may call, without a login: the public web site's callback form.

=======  ========================  =======
method   path                      roles
=======  ========================  =======
POST     /api/public/callbacks     anyone
=======  ========================  =======

202 with the booked callback's reference (the same one when that number has a callback
booked already); 422 when the number is not a phone number; 429 ``rate-limited``
(``retry_after_seconds``): a few requests per address an hour, and a ceiling for everyone
together (docs/outbound.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.api.client_address import request_address
from callcenter.api.deps import get_settings
from callcenter.api.routes.outbound import outbound_service
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.outbound import WebCallbackIn, WebCallbackOut
from callcenter.outbound.service import OutboundService
from callcenter.persistence.outbound import file_web_callback
from callcenter.settings import Settings

router = APIRouter(prefix="/public", tags=["public"])


@router.post("/callbacks", status_code=202, responses=errors(422, 429))
async def web_callback(
    body: WebCallbackIn,
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    outbound: Annotated[OutboundService, Depends(outbound_service)],
) -> WebCallbackOut:
    """A visitor asks to be called back: the center calls the number within its calling
    hours and rules, as for a caller of the IVR."""
    outbound.web_limits.take(request_address(settings, request))
    async with request.app.state.runtime.db.write() as session:
        item_id, created = await file_web_callback(
            session,
            number=body.number,
            language=body.language,
            not_before=body.not_before,
            now=dt.datetime.now(dt.UTC),
        )
    return WebCallbackOut(reference=item_id, already_booked=not created)
