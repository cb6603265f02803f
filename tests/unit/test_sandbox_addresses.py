"""The host's own IPv4 addresses, read from /proc/net/fib_trie (callcenter/sandbox/
addresses.py), for the ICE host candidates Asterisk announces (asterisk_conf/rtp.conf)."""

from __future__ import annotations

from pathlib import Path

from callcenter.sandbox.addresses import local_ipv4, this_hosts_ipv4

# As this machine's kernel printed it (Main and Local tables; one LAN interface).
FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
     +-- 10.0.0.0/8 2 0 2
           |-- 10.1.2.3
              /32 host LOCAL
Local:
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.2
              /32 host LOCAL
"""


def test_every_local_address_but_loopback_once_in_order() -> None:
    assert local_ipv4(FIB_TRIE) == ["10.1.2.3", "192.0.2.2"]


def test_no_table_no_addresses(tmp_path: Path) -> None:
    assert this_hosts_ipv4(tmp_path / "missing") == []
    assert local_ipv4("") == []
