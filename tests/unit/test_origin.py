"""ec2soap.origin: forwarded headers believed only from trusted proxies, and read the way proxies write them."""
from __future__ import annotations

from typing import Optional

import pytest

from ec2soap.origin import ProxyPolicy, parse_networks


def resolve(policy: ProxyPolicy, peer: str, headers: dict[str, str], secure: bool = False):
    lowered = {k.lower(): v for k, v in headers.items()}

    def header(name: str) -> Optional[str]:
        return lowered.get(name)
    return policy.resolve(peer, secure, header)


TRUSTED = ProxyPolicy(parse_networks("10.0.0.1, 192.168.0.0/16, fd00::/8"))
SPOOF = {"Host": "gw:7080", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
         "X-Forwarded-Host": "evil.example", "Forwarded": "for=198.51.100.1;proto=https;host=evil2.example"}


@pytest.mark.parametrize("policy, peer", [(ProxyPolicy(), "10.0.0.1"), (TRUSTED, "10.0.0.2"), (TRUSTED, "::1")])
def test_headers_from_anybody_but_a_trusted_proxy_are_ignored(policy: ProxyPolicy, peer: str) -> None:
    origin = resolve(policy, peer, SPOOF)
    assert (origin.client, origin.scheme, origin.host, origin.forwarded) == (peer, "http", "gw:7080", False)
    assert resolve(policy, peer, SPOOF, secure=True).scheme == "https"  # the connection decides


def test_a_trusted_proxy_gives_client_scheme_and_host() -> None:
    origin = resolve(TRUSTED, "10.0.0.1", {"Host": "127.0.0.1:7080", "X-Forwarded-For": "203.0.113.9",
                                            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "ec2.example.com"})
    assert (origin.client, origin.scheme, origin.host, origin.forwarded) == ("203.0.113.9", "https",
                                                                              "ec2.example.com", True)
    assert origin.secure


def test_the_chain_is_walked_from_the_right_to_the_first_untrusted_hop() -> None:
    chain = "198.51.100.66, 203.0.113.9, 192.168.4.4"  # left-most: whatever the client claimed
    assert resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-For": chain}).client == "203.0.113.9"
    everyone_trusted = "192.168.1.1, 192.168.2.2"
    assert resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-For": everyone_trusted}).client == "192.168.1.1"
    assert resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-For": "unknown, 192.168.1.1"}).client == "192.168.1.1"
    assert resolve(TRUSTED, "10.0.0.1", {}).client == "10.0.0.1"  # no header: the proxy itself


def test_rfc7239_forwarded() -> None:
    origin = resolve(TRUSTED, "10.0.0.1", {
        "Forwarded": 'for=198.51.100.7;proto=http, for="[2001:db8::17]:4711";proto=https;host="s3.example.org"'})
    assert (origin.client, origin.scheme, origin.host) == ("2001:db8::17", "https", "s3.example.org")
    # Forwarded wins over X-Forwarded-* when both are there.
    both = resolve(TRUSTED, "10.0.0.1", {"Forwarded": "for=198.51.100.8", "X-Forwarded-For": "203.0.113.1"})
    assert both.client == "198.51.100.8"


@pytest.mark.parametrize("host", ["evil.example/path", "a b", "x\r\nSet-Cookie: y", "", "host:99999999"])
def test_a_host_that_cannot_go_into_a_url_is_not_used(host: str) -> None:
    origin = resolve(TRUSTED, "10.0.0.1", {"Host": "gw:7080", "X-Forwarded-Host": host})
    assert origin.host == "gw:7080"
    assert resolve(ProxyPolicy(), "10.0.0.9", {"Host": host}).host == ""


def test_odd_values_fall_back_to_the_connection() -> None:
    origin = resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-Proto": "gopher"}, secure=True)
    assert origin.scheme == "https"
    # Several proxies appended values: the nearest one's (the last) counts.
    assert resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-Proto": "http, https"}).scheme == "https"
    assert resolve(TRUSTED, "10.0.0.1", {"X-Forwarded-Host": "a.example, b.example"}).host == "b.example"


def test_peers_are_matched_as_addresses() -> None:
    assert TRUSTED.trusts("::ffff:10.0.0.1")  # an IPv4 peer on a dual-stack socket
    assert TRUSTED.trusts("fd00::1") and TRUSTED.trusts("192.168.200.1")
    assert not TRUSTED.trusts("10.0.0.10") and not TRUSTED.trusts("not-an-address") and not TRUSTED.trusts("")


def test_parse_networks_names_the_bad_entry() -> None:
    assert [str(n) for n in parse_networks(" 10.1.2.3 ,10.0.0.0/8;::1 ")] == ["10.1.2.3/32", "10.0.0.0/8",
                                                                              "::1/128"]
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        parse_networks("10.0.0.0/33")
