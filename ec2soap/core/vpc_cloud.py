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

__all__ = ["advanced_zone", "is_advanced", "begin_vpc", "create_tier", "DEFAULT_ALLOW", "VPC_SERVICES",
           "TIER_SERVICES", "services_of", "pick_vpc_offering", "pick_tier_offering"]

DEFAULT_ALLOW = "default_allow"
# The services EC2-VPC relies on (the operator guide's table, held by contract.py): SourceNat for the VPC's
# router, StaticNat for Elastic IPs, NetworkACL for network ACLs, Dhcp for the tier's addresses.
VPC_SERVICES = ("SourceNat", "StaticNat", "NetworkACL")
TIER_SERVICES = ("Dhcp", "StaticNat", "NetworkACL")


def services_of(offering: dict) -> set[str]:
    """The service names of a VPC or network offering as CloudStack lists it."""
    return {str(s.get("name")) for s in offering.get("service") or [] if isinstance(s, dict)}


def _best(offerings: list[dict], needed: tuple[str, ...]) -> dict | None:
    """The first offering with every NEEDED service, the zone's default before the others; else the first."""
    ranked = sorted(offerings, key=lambda o: (not set(needed) <= services_of(o), not o.get("isdefault")))
    return ranked[0] if ranked else None


def pick_vpc_offering(offerings: list[dict]) -> dict | None:
    """Of the zone's enabled VPC offerings, the one CreateVpc uses."""
    return _best(offerings, VPC_SERVICES)


def pick_tier_offering(offerings: list[dict]) -> dict | None:
    """Of the enabled Isolated offerings for VPCs, the one CreateSubnet uses (never one in conserve mode)."""
    return _best([o for o in offerings if not o.get("conservemode")], TIER_SERVICES)


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
    offering = pick_vpc_offering(list(await ctx.cloud.list_vpc_offerings(zoneid=zone["id"], state="Enabled")))
    if offering is None:
        raise ERRORS["InternalError"]("No enabled VPC offering in the advanced zone; ask the operator")
    try:
        return await ctx.cloud.begin_create_vpc(cidr=str(cidr), name=name, displaytext=displaytext,
                                                vpcofferingid=offering["id"], zoneid=zone["id"])
    except CloudStackApiError as exc:
        if "RFC1918" in str(exc):
            raise ERRORS["InvalidVpc.Range"](cidr=given) from None
        raise _limit_error(exc) from None


def _limit_error(exc: CloudStackApiError) -> Exception:
    """CloudStack's ResourceAllocationException (535) as EC2's limit error: the account's VPCs (max.account.vpcs),
    the VPC's source NAT address (max.account.public.ips) or its networks (max.account.networks); else EXC."""
    if exc.errorcode != 535:
        return exc
    text = str(exc.errortext or exc)
    if "type 'vpc'" in text:
        return ERRORS["VpcLimitExceeded"]()
    if "type 'public_ip'" in text:
        return ERRORS["AddressLimitExceeded"]()
    if "type 'network'" in text:
        return ERRORS["SubnetLimitExceeded"](detail="The maximum number of subnets (CloudStack networks) of this "
                                                    "account has been reached (its network limit)")
    return exc


async def create_tier(ctx: RequestContext, vpc: dict, cidr: ipaddress.IPv4Network, name: str) -> dict:
    """createNetwork: a tier of VPC (CloudStack's VPC dict) over CIDR, with the default_allow ACL."""
    offering = pick_tier_offering(list(await ctx.cloud.list_network_offerings(
        forvpc=True, state="Enabled", guestiptype="Isolated", zoneid=vpc["zoneid"])))
    if offering is None:
        raise ERRORS["InternalError"]("No enabled network offering for VPC tiers; ask the operator")
    acls = await ctx.cloud.list_network_acl_lists(vpcid=vpc["id"], name=DEFAULT_ALLOW)
    acl = next((a for a in acls if a.get("name") == DEFAULT_ALLOW), None)
    if acl is None:
        raise ERRORS["InternalError"]("CloudStack has no default_allow network ACL list; ask the operator")
    try:
        return await ctx.cloud.create_network(
            name=name, displaytext=str(cidr), networkofferingid=offering["id"], zoneid=vpc["zoneid"],
            vpcid=vpc["id"], gateway=str(cidr.network_address + 1), netmask=str(cidr.netmask), aclid=acl["id"])
    except CloudStackApiError as exc:
        raise _limit_error(exc) from None
