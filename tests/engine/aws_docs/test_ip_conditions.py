"""IpAddress and NotIpAddress, from "IAM JSON policy elements: Condition operators" (IP address section):
values are IPv4 or IPv6 CIDR ranges; an address without a prefix means /32.
"""

from __future__ import annotations

from .builders import ALLOWED, IMPLICIT_DENY, allow_when, entry


def _source(address: str, value_type: str = "ip"):
    return entry("aws:SourceIp", address, value_type)


def test_ip_address_matches_an_address_inside_an_ipv4_range(decide):
    """IpAddress 203.0.113.0/24 covers 203.0.113.0 to 203.0.113.255."""
    assert (
        decide(allow_when({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, _source("203.0.113.77")))
        == ALLOWED
    )


def test_ip_address_rejects_an_address_outside_an_ipv4_range(decide):
    """An address outside the CIDR range does not match IpAddress."""
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    assert decide(allow_when(condition, _source("203.0.114.1"))) == IMPLICIT_DENY


def test_ip_address_without_prefix_means_a_single_host(decide):
    """Without a routing prefix IAM uses /32: 203.0.113.5 does not cover 203.0.113.6."""
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.5"}}
    assert decide(allow_when(condition, _source("203.0.113.6"))) == IMPLICIT_DENY


def test_ip_address_without_prefix_matches_that_address(decide):
    """An address without a prefix matches exactly itself."""
    assert (
        decide(allow_when({"IpAddress": {"aws:SourceIp": "203.0.113.5"}}, _source("203.0.113.5"))) == ALLOWED
    )


def test_ip_address_matches_an_address_inside_an_ipv6_range(decide):
    """IPv6 ranges in CIDR form, like the doc's 2001:DB8:1234:5678::/64, cover their addresses."""
    condition = {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}
    assert decide(allow_when(condition, _source("2001:db8:1234:5678:abcd::1"))) == ALLOWED


def test_ip_address_rejects_an_address_outside_an_ipv6_range(decide):
    """An IPv6 address outside the /64 does not match."""
    condition = {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}
    assert decide(allow_when(condition, _source("2001:db8:1234:5679::1"))) == IMPLICIT_DENY


def test_ip_address_with_mixed_ipv4_and_ipv6_ranges_matches_either(decide):
    """The doc's example lists IPv4 and IPv6 ranges together; the values are OR'd."""
    condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
    assert decide(allow_when(condition, _source("2001:db8:1234:5678::10"))) == ALLOWED


def test_not_ip_address_is_true_outside_an_ipv6_range(decide):
    """NotIpAddress matches all addresses except the specified range."""
    condition = {"NotIpAddress": {"aws:SourceIp": "2001:db8::/32"}}
    assert decide(allow_when(condition, _source("2001:db9::1"))) == ALLOWED


def test_not_ip_address_is_false_inside_an_ipv6_range(decide):
    """NotIpAddress does not match an address inside the specified range."""
    condition = {"NotIpAddress": {"aws:SourceIp": "2001:db8::/32"}}
    assert decide(allow_when(condition, _source("2001:db8:ffff::1"))) == IMPLICIT_DENY


def test_ip_list_context_value_matches_ip_address(decide):
    """A context value of type ip given in a list form (ipList) is read as an address too."""
    condition = {"ForAnyValue:IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    assert (
        decide(allow_when(condition, entry("aws:SourceIp", ["192.0.2.1", "10.1.2.3"], "ipList"))) == ALLOWED
    )


def test_non_ip_request_value_makes_ip_operator_not_match(decide):
    """IpAddress compares addresses; a request value that is not an address does not match."""
    condition = {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}
    assert decide(allow_when(condition, _source("not-an-address", "string"))) == IMPLICIT_DENY
