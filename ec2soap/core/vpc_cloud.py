"""The CloudStack side of EC2 VPCs, shared by CreateVpc/CreateSubnet (vpcs.py) and the default VPC
(default_vpc.py): the advanced zone, createVPC with the zone's VPC offering, and a tier (createNetwork with the
VPC tier offering and the default_allow ACL, as EC2's default network ACL allows all traffic). Core: no
Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import ipaddress

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.errors import ERRORS

__all__ = ["advanced_zone", "is_advanced", "begin_vpc", "create_tier", "DEFAULT_ALLOW"]

DEFAULT_ALLOW = "default_allow"


def is_advanced(zone: dict) -> bool:
    return str(zone.get("networktype", "")).lower() == "advanced"


async def advanced_zone(ctx: RequestContext, action: str) -> dict:
    """The zone VPCs live in: the first Advanced zone, else UnsupportedOperation naming the need."""
    for zone in await ctx.cloud.list_zones(available=True):
        if is_advanced(zone):
            return zone
    raise ERRORS["UnsupportedOperation"](
        action=f"{action} (this cloud has no Advanced zone, and VPCs need one)")


async def begin_vpc(ctx: RequestContext, zone: dict, cidr: ipaddress.IPv4Network, name: str,
                    displaytext: str, given: str) -> dict:
    """createVPC in ZONE with its default VPC offering, its router job begun and not awaited ({id, jobid})."""
    offerings = [o for o in await ctx.cloud.list_vpc_offerings(zoneid=zone["id"], state="Enabled")]
    offering = next((o for o in offerings if o.get("isdefault")), offerings[0] if offerings else None)
    if offering is None:
        raise ERRORS["InternalError"]("No enabled VPC offering in the advanced zone; ask the operator")
    try:
        return await ctx.cloud.begin_create_vpc(cidr=str(cidr), name=name, displaytext=displaytext,
                                                vpcofferingid=offering["id"], zoneid=zone["id"])
    except CloudStackApiError as exc:
        if "RFC1918" in str(exc):
            raise ERRORS["InvalidVpc.Range"](cidr=given) from None
        raise


async def create_tier(ctx: RequestContext, vpc: dict, cidr: ipaddress.IPv4Network, name: str) -> dict:
    """createNetwork: a tier of VPC (CloudStack's VPC dict) over CIDR, with the default_allow ACL."""
    offerings = await ctx.cloud.list_network_offerings(forvpc=True, state="Enabled", guestiptype="Isolated",
                                                       zoneid=vpc["zoneid"])
    offerings = [o for o in offerings if not o.get("conservemode")]
    if not offerings:
        raise ERRORS["InternalError"]("No enabled network offering for VPC tiers; ask the operator")
    acls = await ctx.cloud.list_network_acl_lists(vpcid=vpc["id"], name=DEFAULT_ALLOW)
    acl = next((a for a in acls if a.get("name") == DEFAULT_ALLOW), None)
    if acl is None:
        raise ERRORS["InternalError"]("CloudStack has no default_allow network ACL list; ask the operator")
    return await ctx.cloud.create_network(
        name=name, displaytext=str(cidr), networkofferingid=offerings[0]["id"], zoneid=vpc["zoneid"],
        vpcid=vpc["id"], gateway=str(cidr.network_address + 1), netmask=str(cidr.netmask), aclid=acl["id"])
