"""REST routes: a person's own SIP credentials (issue 19).

=======  ==============================  ============================================
method   path                            roles
=======  ==============================  ============================================
GET      /api/me/phone                   any staff with an extension
POST     /api/me/phone/rotate            any staff with an extension
POST     /api/users/{id}/phone/rotate    supervisor, admin
=======  ==============================  ============================================

The credentials travel only to the logged-in person themselves, over their session, with
``Cache-Control: no-store`` (as every API answer), and each handing out is audited
(``phone.credentials_issued``, naming the extension, never the secret). A rotation answers
once Asterisk has the new secret (the old one is refused from then; audited
``phone.credentials_rotated``): 404 ``no-extension`` for your own without a phone (someone
else's without one any more: the phones' file is written again without them, 204), 404
``user-not-found``, 409 ``phones-not-applied`` when Asterisk could not be reloaded (the new
secret is stored and taken at the service's next AMI login).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from callcenter.api.deps import Managers, PrincipalDep, SettingsDep
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.phones import DeskPhoneOut, PhoneCredentialsOut, WebPhoneOut
from callcenter.pbx.phone_config import PhonesNotApplied, web_endpoint
from callcenter.pbx.phone_credentials import PhoneCredentials

router = APIRouter(tags=["phones"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _credentials(request: Request) -> PhoneCredentials:
    service: PhoneCredentials | None = request.app.state.runtime.phone_credentials
    if service is None:
        raise PhonesNotApplied("the phone credentials are not running")
    return service


@router.get("/me/phone", responses=errors(401, 403, 404))
async def my_phone_credentials(
    principal: PrincipalDep, settings: SettingsDep, request: Request, response: Response
) -> PhoneCredentialsOut:
    """Your own SIP credentials: the browser's line and the desk phone's (audited)."""
    found = await _credentials(request).credentials(principal.user_id)
    response.headers.update(NO_STORE)
    ext, host = found.extension, settings.sip_wss_host
    web = web_endpoint(ext)
    return PhoneCredentialsOut(
        extension=ext,
        web=WebPhoneOut(
            uri=f"sip:{web}@{host}",
            ws_url=f"wss://{host}:{settings.sip_wss_port}/ws",
            authorization_user=web,
            password=found.secret,
            realm=settings.sip_realm,
        ),
        desk=DeskPhoneOut(
            username=ext,
            password=found.secret,
            server=settings.desk_phone_server,
        ),
    )


@router.post("/me/phone/rotate", status_code=204, responses=errors(401, 403, 404, 409))
async def rotate_my_phone_secret(principal: PrincipalDep, request: Request) -> None:
    """A new secret for your phones; the old one stops working now."""
    await _credentials(request).rotate(principal.user_id, actor_id=principal.user_id)


@router.post("/users/{user_id}/phone/rotate", status_code=204, responses=errors(401, 403, 404, 409))
async def rotate_phone_secret(user_id: Id, principal: Managers, request: Request) -> None:
    """A new secret for someone's phones (a leaked secret, a person leaving a desk)."""
    await _credentials(request).rotate(user_id, actor_id=principal.user_id)
