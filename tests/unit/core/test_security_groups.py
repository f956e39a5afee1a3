"""Security group permissions without a server: Query forms → IpPermission, EC2 checks, CloudStack rules → EC2."""
from __future__ import annotations

import pytest

from ec2soap.core import security_groups as sg
from ec2soap.core.security_groups import IpPermission, IpRange, UserIdGroupPair
from ec2soap.errors import EC2Error
from ec2soap.query.params import QueryParams
from ec2soap.query.reader import read

ME = {"id": "1f0c7a52-0000-4000-8000-000000000001", "name": "alice"}


def bind(action: str, **params: str) -> dict:
    return read(action, QueryParams(params))


def test_structured_permissions() -> None:
    kw = bind("AuthorizeSecurityGroupIngress", GroupId="sg-0123456789abcdef0", **{
        "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
        "IpPermissions.1.IpRanges.1.CidrIp": "10.0.0.0/8", "IpPermissions.1.IpRanges.2.CidrIp": "10.1.0.0/16",
        "IpPermissions.2.IpProtocol": "icmp", "IpPermissions.2.FromPort": "-1", "IpPermissions.2.ToPort": "-1",
        "IpPermissions.2.Groups.1.GroupName": "peer", "IpPermissions.2.Groups.1.UserId": "bob"})
    assert kw["group_id"] == "sg-0123456789abcdef0" and kw["group_name"] is None
    assert kw["ip_permissions"] == [
        IpPermission("tcp", 22, 22, ip_ranges=[IpRange("10.0.0.0/8"), IpRange("10.1.0.0/16")]),
        IpPermission("icmp", -1, -1, groups=[UserIdGroupPair("bob", "peer")])]


def test_flat_form_and_its_source_group_default() -> None:
    kw = bind("RevokeSecurityGroupIngress", GroupName="web", IpProtocol="udp", FromPort="53", ToPort="53",
              CidrIp="0.0.0.0/0")
    assert kw["ip_permissions"] == [IpPermission("udp", 53, 53, ip_ranges=[IpRange("0.0.0.0/0")])]
    kw = bind("AuthorizeSecurityGroupIngress", GroupName="web", SourceSecurityGroupName="app",
              SourceSecurityGroupOwnerId="alice")
    assert [(p.ip_protocol, p.from_port, p.to_port) for p in kw["ip_permissions"]] == \
        [("tcp", 0, 65535), ("udp", 0, 65535), ("icmp", -1, -1)]


def test_both_forms_at_once_are_refused() -> None:
    with pytest.raises(EC2Error) as failure:
        bind("AuthorizeSecurityGroupIngress", GroupName="web", IpProtocol="tcp",
             **{"IpPermissions.1.IpProtocol": "tcp"})
    assert failure.value.code == "InvalidParameterCombination"


@pytest.mark.parametrize("protocol, low, high, expected", [
    ("6", 80, 81, ("tcp", 80, 81)), ("17", 1, 1, ("udp", 1, 1)), ("1", 8, 0, ("icmp", 8, 0)),
    ("all", None, None, ("-1", -1, -1)), ("-1", 5, 9, ("-1", -1, -1)), ("icmp", None, None, ("icmp", -1, -1)),
])
def test_protocol_aliases_and_ranges(protocol: str, low: int, high: int, expected: tuple) -> None:
    assert sg._range(IpPermission(protocol, low, high)) == expected


@pytest.mark.parametrize("protocol, low, high", [
    ("gre", 0, 0), ("tcp", None, 22), ("tcp", 90, 80), ("udp", 0, 70000), ("icmp", 8, -1), ("icmp", -1, 3),
    (None, 1, 1),
])
def test_malformed_ranges(protocol: str, low: int, high: int) -> None:
    with pytest.raises(EC2Error) as failure:
        sg._range(IpPermission(protocol, low, high))
    assert failure.value.code == "InvalidPermission.Malformed"


def test_cloudstack_rules_become_merged_permissions() -> None:
    rules = [{"ruleid": "r1", "protocol": "tcp", "startport": 22, "endport": 22, "cidr": "10.0.0.0/8"},
             {"ruleid": "r2", "protocol": "tcp", "startport": 22, "endport": 22, "securitygroupname": "app",
              "account": "alice"},
             {"ruleid": "r3", "protocol": "icmp", "icmptype": 8, "icmpcode": 0, "cidr": "0.0.0.0/0"},
             {"ruleid": "r4", "protocol": "all", "startport": 0, "endport": 0, "securitygroupname": "x",
              "account": "bob"}]
    perms = sg._permissions(map(sg._rule_of, rules), ME, {"app": "sg-0123456789abcdef0"})
    assert perms == [
        IpPermission("tcp", 22, 22, groups=[UserIdGroupPair(ME["id"], "app", "sg-0123456789abcdef0")],
                     ip_ranges=[IpRange("10.0.0.0/8")]),
        IpPermission("icmp", 8, 0, ip_ranges=[IpRange("0.0.0.0/0")]),
        IpPermission("-1", -1, -1, groups=[UserIdGroupPair("bob", "x", None)])]


def test_user_ids_name_accounts() -> None:
    assert sg._account_name(None, ME) == "alice"
    assert sg._account_name(ME["id"], ME) == "alice"
    assert sg._account_name("bob", ME) == "bob"


def test_rules_compare_group_names_without_case() -> None:
    assert sg._Rule("tcp", 1, 2, account="Alice", group="App").same(sg._Rule("tcp", 1, 2, account="alice",
                                                                             group="app"))
    assert not sg._Rule("tcp", 1, 2, cidr="10.0.0.0/8").same(sg._Rule("tcp", 1, 3, cidr="10.0.0.0/8"))
