"""Query odd cases for security groups: IpPermissions.N.… and the flat form (IpProtocol, CidrIp,
SourceSecurityGroupName, …) that boto 2's deprecated calls and old tools still send."""
from __future__ import annotations

from typing import Any

from ec2soap.core.security_groups import IpPermission, IpRange, UserIdGroupPair
from ec2soap.errors import ERRORS
from ec2soap.query.params import QueryParams

__all__ = ["CONVERTERS", "ip_permissions"]

_FLAT = ("IpProtocol", "FromPort", "ToPort", "CidrIp", "SourceSecurityGroupName", "SourceSecurityGroupOwnerId")


def _structured(p: QueryParams) -> list[IpPermission]:
    out = []
    for entry in p.structs("IpPermissions"):
        out.append(IpPermission(
            ip_protocol=entry.str("IpProtocol"), from_port=entry.int("FromPort"), to_port=entry.int("ToPort"),
            groups=[UserIdGroupPair(user_id=g.str("UserId"), group_name=g.str("GroupName"),
                                    group_id=g.str("GroupId")) for g in entry.structs("Groups")],
            ip_ranges=[IpRange(r.str("CidrIp", required=True)) for r in entry.structs("IpRanges")]))
    return out


def _flat(p: QueryParams) -> list[IpPermission]:
    source = p.str("SourceSecurityGroupName")
    groups = [UserIdGroupPair(user_id=p.str("SourceSecurityGroupOwnerId"), group_name=source)] if source else []
    ranges = [IpRange(p.str("CidrIp"))] if p.str("CidrIp") else []
    protocol = p.str("IpProtocol")
    if protocol is None and groups and not ranges and "FromPort" not in p and "ToPort" not in p:
        # EC2 quirk: a source group alone (the 2010-11-15 flat form) opens every TCP, UDP and ICMP port to it.
        return [IpPermission("tcp", 0, 65535, groups=list(groups)), IpPermission("udp", 0, 65535, groups=list(groups)),
                IpPermission("icmp", -1, -1, groups=list(groups))]
    return [IpPermission(protocol, p.int("FromPort"), p.int("ToPort"), groups=groups, ip_ranges=ranges)]


def ip_permissions(p: QueryParams) -> dict[str, Any]:
    structured = _structured(p)
    flat = any(name in p for name in _FLAT)
    if structured and flat:
        raise ERRORS["InvalidParameterCombination"](
            detail="The parameter IpPermissions cannot be used with the flat parameters IpProtocol, FromPort, "
                   "ToPort, CidrIp or SourceSecurityGroupName")
    return {"ip_permissions": structured or (_flat(p) if flat else [])}


CONVERTERS = {"ip_permissions": ip_permissions}


