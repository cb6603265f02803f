"""The client's address: the peer's, or the one a trusted reverse proxy forwarded.

``X-Forwarded-For`` and ``Forwarded`` are request headers anyone can write; believed from
anyone, they let a guesser pick a fresh address for every login attempt (no throttling) and
put any address into the audit log. So they are read only when the direct peer is one of
``CALLCENTER_TRUSTED_PROXIES`` (empty by default: never). Then the chain is walked from the
right (the hops our own proxies appended) and the first address that is not a trusted proxy
is the client's: entries further left were written by the client and prove nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

from callcenter.settings import Settings

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> IpAddress | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # an IPv4 address with a port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None  # "unknown", an obfuscated identifier, garbage


def forwarded_chain(x_forwarded_for: str | None, forwarded: str | None) -> list[str]:
    """The addresses the headers name, client first (``Forwarded``, RFC 7239, wins when both
    are present). An entry that is not an IP address is kept as "" so it stops the walk."""
    hops: list[str] = []
    if forwarded:
        for element in forwarded.split(","):
            for pair in element.split(";"):
                name, _, value = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    found = _address(value)
                    hops.append(str(found) if found else "")
        return hops
    if x_forwarded_for:
        for entry in x_forwarded_for.split(","):
            found = _address(entry)
            hops.append(str(found) if found else "")
    return hops


def client_address(
    peer: str | None,
    x_forwarded_for: str | None,
    forwarded: str | None,
    trusted: Sequence[str],
) -> str | None:
    """The client's address by the rule of the module's docstring."""
    if peer is None or not trusted:
        return peer
    networks: list[IpNetwork] = [ipaddress.ip_network(n, strict=False) for n in trusted]

    def is_trusted(text: str) -> bool:
        found = _address(text)
        return found is not None and any(found in network for network in networks)

    if not is_trusted(peer):
        return peer
    for hop in reversed(forwarded_chain(x_forwarded_for, forwarded)):
        if not hop:
            break  # an unparseable hop: no address to its left can be believed
        if not is_trusted(hop):
            return hop
    return peer  # no header (or only our proxies): the proxy itself is the client


def request_address(settings: Settings, connection: HTTPConnection) -> str | None:
    """The client address of a request or websocket handshake, for throttling, sessions and
    the audit log."""
    peer = connection.client.host if connection.client else None
    headers = connection.headers
    return client_address(
        peer, headers.get("x-forwarded-for"), headers.get("forwarded"), settings.trusted_proxies
    )
