"""The address the login throttle counts a client under (issue 9, point 7): the socket peer, or the
client a trusted proxy forwarded — never an X-Forwarded-For the client wrote itself."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.services.auth import UNKNOWN_CLIENT, client_address
from tests.support import make_settings

LOOPBACK = (ip_network("127.0.0.1/32"), ip_network("::1/128"))
PROXIES = (*LOOPBACK, ip_network("10.0.0.0/8"))


def test_a_forwarded_for_from_a_peer_that_is_no_proxy_is_ignored():
    assert client_address("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"
    assert client_address("198.51.100.4", ["203.0.113.7"], LOOPBACK) == "198.51.100.4"


def test_a_trusted_proxy_names_the_client():
    assert client_address("127.0.0.1", ["203.0.113.7"], LOOPBACK) == "203.0.113.7"
    assert client_address("::1", ["2001:db8::5"], LOOPBACK) == "2001:db8::5"


def test_the_right_most_hop_that_is_no_trusted_proxy_is_the_client():
    # The client wrote "198.51.100.66, 192.0.2.1"; nginx appended what it saw, then another proxy did.
    header = ["198.51.100.66, 192.0.2.1, 203.0.113.7", "10.1.2.3"]
    assert client_address("127.0.0.1", header, PROXIES) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_only_ends_at_the_left_most_hop():
    assert client_address("127.0.0.1", ["10.0.0.9, 10.0.0.8"], PROXIES) == "10.0.0.9"


def test_no_header_from_a_trusted_proxy_is_the_proxy_itself():
    assert client_address("127.0.0.1", [], LOOPBACK) == "127.0.0.1"


def test_a_hop_that_is_no_address_stops_at_the_proxy_that_wrote_it():
    assert client_address("127.0.0.1", ["203.0.113.7, unknown"], LOOPBACK) == "127.0.0.1"
    assert client_address("127.0.0.1", ["203.0.113.7, 10.0.0.2, <script>"], PROXIES) == "127.0.0.1"


def test_ports_brackets_and_mapped_addresses_are_read_as_addresses():
    assert client_address("::ffff:127.0.0.1", ["203.0.113.7:52100"], LOOPBACK) == "203.0.113.7"
    assert client_address("127.0.0.1", ["[2001:db8::7]:443"], LOOPBACK) == "2001:db8::7"
    assert client_address("::ffff:198.51.100.4", [], ()) == "198.51.100.4"


def test_an_unreadable_peer_is_one_unknown_client():
    assert client_address(None, ["203.0.113.7"], LOOPBACK) == UNKNOWN_CLIENT
    assert client_address("", [], ()) == UNKNOWN_CLIENT


def test_trusted_proxies_are_a_setting_read_at_start(tmp_path: Path):
    assert make_settings(tmp_path).trusted_proxy_networks() == ()
    settings = make_settings(tmp_path, trusted_proxies="127.0.0.1, 172.16.0.0/12,::1")
    assert settings.trusted_proxy_networks() == (
        ip_network("127.0.0.1/32"),
        ip_network("172.16.0.0/12"),
        ip_network("::1/128"),
    )
    with pytest.raises(ValidationError, match="trusted_proxies"):
        make_settings(tmp_path, trusted_proxies="nginx")
