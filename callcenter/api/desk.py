"""The agent desktop (``agent_ui/``) served by the app at ``/desk/``, under a strict
Content-Security-Policy.

The page is plain HTML, CSS and ES modules (docs/agent-desktop.md says why; the one library,
the browser phone's JsSIP, is built from npm at setup into ``agent_ui/vendor/``). Every
response of the mount carries the policy: scripts, styles, images and connections from this
origin only (the websocket included: CSP 3 lets ``'self'`` match ``ws:``/``wss:`` of the same
host), plus the one other place the page connects to, Asterisk's WebSocket SIP for the
browser phone; no inline script or style, no plugin, no framing. The page
renders every value from the API with ``textContent``, never as markup, so a client's name or
a note cannot inject script even before the policy would stop it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from callcenter.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

AGENT_UI_DIR = PROJECT_ROOT / "agent_ui"
DESK_PATH = "/desk"


def content_security_policy(connect_to: Sequence[str] = ()) -> str:
    """The desk's policy; ``connect_to``: origins besides this one the page may open
    connections to (the browser phone's ``wss://host:port`` of Asterisk)."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self'",  # recordings, streamed from /api/recordings (audited)
            "font-src 'self'",
            " ".join(("connect-src 'self'", *connect_to)),
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def phone_socket_origin(settings: Settings) -> str:
    """Where the browser phone's WebSocket SIP is (Asterisk's TLS HTTP server): the origin of
    the ``ws_url`` that ``GET /api/me/phone`` hands out."""
    return f"wss://{settings.sip_wss_host}:{settings.sip_wss_port}"


def security_headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page and its modules change with the service: revalidate (ETag) on every load,
        # so an upgrade never leaves a desk running old modules against a new API.
        "Cache-Control": "no-cache",
    }


class DeskFiles(StaticFiles):
    """Static files with the desktop's security headers on every answer (404s included)."""

    def __init__(self, *, directory: Path, headers: dict[str, str]) -> None:
        super().__init__(directory=directory, html=True)
        self.security_headers = headers

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:  # 404, 405: answered here, so they get the headers too
            response = PlainTextResponse(str(exc.detail), exc.status_code, headers=exc.headers)
        response.headers.update(self.security_headers)
        return response


def mount_agent_desktop(
    app: FastAPI, directory: Path = AGENT_UI_DIR, *, connect_to: Sequence[str] = ()
) -> None:
    """Serve ``directory`` at ``/desk/``, and send ``/`` there. A checkout without the folder
    (an image built without it) serves the API alone, and says so once. ``connect_to``: see
    :func:`content_security_policy`."""
    if not (directory / "index.html").is_file():
        log.warning("agent desktop not served: %s has no index.html", directory)
        return
    headers = security_headers(content_security_policy(connect_to))
    app.mount(DESK_PATH, DeskFiles(directory=directory, headers=headers), name="desk")

    @app.get("/", include_in_schema=False)
    async def to_the_desk() -> RedirectResponse:
        return RedirectResponse(f"{DESK_PATH}/", status_code=307)
