"""Security group dataclasses, shared by EC2-Classic groups (core/security_groups.py, CloudStack security groups)
and VPC groups (core/vpc_security_groups.py, the gateway's records). Core: no Twisted, Spyne, lxml or SQL here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ec2soap.core.model import Tag
from ec2soap.errors import ERRORS

__all__ = ["UserIdGroupPair", "IpRange", "IpPermission", "SecurityGroup", "SecurityGroupPage",
           "CreatedSecurityGroup", "DEFAULT_GROUP", "resolve_group_refs"]

DEFAULT_GROUP = "default"


@dataclass
class UserIdGroupPair:
    """A group a rule names: its owner (EC2 user id = account uuid for our own account, else the account
    name as CloudStack knows it), its name and, when it is one of ours, its sg- id."""
    user_id: str | None = None
    group_name: str | None = None
    group_id: str | None = None


@dataclass
class IpRange:
    cidr_ip: str


@dataclass
class IpPermission:
    ip_protocol: str | None
    from_port: int | None = None
    to_port: int | None = None
    groups: list[UserIdGroupPair] = field(default_factory=list)
    ip_ranges: list[IpRange] = field(default_factory=list)


@dataclass
class SecurityGroup:
    owner_id: str
    group_name: str
    group_description: str
    ip_permissions: list[IpPermission]
    group_id: str
    ip_permissions_egress: list[IpPermission]
    tags: list[Tag]
    cs_id: str
    vpc_id: str | None = None  # None: an EC2-Classic group


@dataclass
class SecurityGroupPage:
    items: list[SecurityGroup]
    next_token: str | None = None


@dataclass
class CreatedSecurityGroup:
    group_id: str
    ok: bool = True


async def resolve_group_refs(ids_map: Any, names: Sequence[str], ids: Sequence[str], by_name: Mapping[str, str],
                             mine: set[str]) -> list[str]:
    """SecurityGroup.N names and SecurityGroupId.N sg- ids of a launch → the groups' own ids (BY_NAME: name →
    id of the caller's groups, MINE: their ids), in the order given, once each; a name or id not among the
    caller's groups is InvalidGroup.NotFound. IDS_MAP is the request's id map (ctx.ids)."""
    out = []
    for name in names:
        if name not in by_name:
            raise ERRORS["InvalidGroup.NotFound"](group=name)
        out.append(by_name[name])
    mapped = await ids_map.to_cloudstack_many("security-group", ids) if ids else {}
    for value in ids:
        if mapped.get(value) not in mine:
            raise ERRORS["InvalidGroup.NotFound"](group=value)
        out.append(mapped[value])
    return list(dict.fromkeys(out))
