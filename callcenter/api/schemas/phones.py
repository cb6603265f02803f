"""Whether a user's phone is registered (issue 16): the desk shows it next to the extension."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PhoneOut(BaseModel):
    extension: str | None = Field(description="the user's phone (users.extension); None: none")
    registered: bool | None = Field(
        description="registered with the PBX now; None: cannot tell (no PBX link, or none "
        "configured)"
    )


class WebPhoneOut(BaseModel):
    """What the browser softphone (JsSIP) registers with: its endpoint ``<ext>-web``."""

    uri: str = Field(description="the SIP URI to register, sip:<ext>-web@<domain>")
    ws_url: str = Field(description="Asterisk's WebSocket SIP over TLS, wss://host:port/ws")
    authorization_user: str = Field(description="the digest username: <ext>-web")
    password: str = Field(description="the person's own secret (keep in memory only)")
    realm: str = Field(description="the digest realm Asterisk challenges with")


class DeskPhoneOut(BaseModel):
    """What a desk phone (UDP) registers with: its endpoint ``<ext>``."""

    username: str = Field(description="the SIP and digest username: the extension")
    password: str = Field(description="the person's own secret, the same as the browser's")
    server: str = Field(description="the registrar, host:port (UDP)")


class PhoneCredentialsOut(BaseModel):
    """The person's own SIP credentials for both their lines (docs/agent-desktop.md, "The
    softphone's contract")."""

    extension: str
    web: WebPhoneOut
    desk: DeskPhoneOut
