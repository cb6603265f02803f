"""This host's own IPv4 addresses, for the ICE host candidates Asterisk announces.

Asterisk gathers ICE host candidates from the host's interfaces, leaving loopback out, even
when its RTP socket is bound to one address (``bind_rtp_to_media_address``): in the sandbox,
where RTP listens on 127.0.0.1 only, a browser would be told to send its media to the
machine's LAN address, where nothing listens. rtp.conf's ``[ice_host_candidates]`` replaces
each such address with the one RTP listens on (asterisk_conf/rtp.conf).

Read from ``/proc/net/fib_trie`` (the kernel's local routes: every address of this host is a
``/32 host LOCAL`` entry), so no tool is needed. Standard library only.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

FIB_TRIE = Path("/proc/net/fib_trie")


def local_ipv4(fib_trie: str) -> list[str]:
    """The host's own IPv4 addresses in ``fib_trie``'s text, loopback left out, sorted."""
    found: set[str] = set()
    last = ""
    for raw in fib_trie.splitlines():
        line = raw.strip()
        if line.startswith("|-- "):
            last = line[4:]
        elif line == "/32 host LOCAL" and last:
            address = ipaddress.IPv4Address(last)
            if not address.is_loopback:
                found.add(str(address))
    return sorted(found, key=ipaddress.IPv4Address)


def this_hosts_ipv4(path: Path = FIB_TRIE) -> list[str]:
    try:
        return local_ipv4(path.read_text())
    except OSError:  # not Linux, or /proc not mounted: nothing to replace
        return []
