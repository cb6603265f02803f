"""Forwarded-for headers are believed only from configured proxies (issue 15, point 4)."""

from __future__ import annotations

import pytest

from callcenter.api.client_address import client_address, forwarded_chain
from callcenter.settings import load_settings

PROXY = "10.0.0.5"


def test_without_trusted_proxies_the_headers_are_ignored() -> None:
    assert client_address("198.51.100.9", "203.0.113.1", None, []) == "198.51.100.9"
    assert client_address("198.51.100.9", None, "for=203.0.113.1", []) == "198.51.100.9"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_name_another_address() -> None:
    trusted = ["10.0.0.0/24"]
    assert client_address("198.51.100.9", "203.0.113.1", None, trusted) == "198.51.100.9"


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_clients() -> None:
    assert client_address(PROXY, "203.0.113.1", None, [PROXY]) == "203.0.113.1"


def test_a_client_cannot_spoof_by_prepending_to_the_chain() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
    assert client_address(PROXY, "1.2.3.4, 203.0.113.1", None, [PROXY]) == "203.0.113.1"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() -> None:
    chain = "1.2.3.4, 203.0.113.1, 10.0.0.7"
    assert client_address(PROXY, chain, None, ["10.0.0.0/24"]) == "203.0.113.1"


def test_an_unparseable_hop_stops_the_walk_at_the_proxy() -> None:
    assert client_address(PROXY, "203.0.113.1, unknown", None, [PROXY]) == PROXY
    assert client_address(PROXY, None, None, [PROXY]) == PROXY


def test_the_forwarded_header_is_read_with_ports_and_ipv6() -> None:
    header = 'for=1.2.3.4;proto=https, for="[2001:db8::1]:4711"'
    assert forwarded_chain(None, header) == ["1.2.3.4", "2001:db8::1"]
    assert client_address(PROXY, "9.9.9.9", header, [PROXY]) == "2001:db8::1"
    assert forwarded_chain("203.0.113.1:5000, 10.0.0.7", None) == ["203.0.113.1", "10.0.0.7"]


def test_the_setting_is_a_comma_list_of_addresses_or_networks() -> None:
    settings = load_settings(trusted_proxies="10.0.0.5, 172.16.0.0/12")
    assert settings.trusted_proxies == ["10.0.0.5", "172.16.0.0/12"]
    assert load_settings().trusted_proxies == []
    with pytest.raises(ValueError, match="trusted_proxies"):
        load_settings(trusted_proxies="not-an-address")
