"""EC2-VPC: CreateVpc, DeleteVpc, DescribeVpcs, CreateSubnet, DeleteSubnet, DescribeSubnets.

An EC2 VPC is a CloudStack VPC and a subnet one of its tiers (an isolated guest network with vpcid). VPCs live
only in an Advanced zone, so a cloud without one refuses these actions with UnsupportedOperation saying so
rather than pretending; with several advanced zones the first one listed is the VPCs' zone. A tier is created
with the VPC's default_allow ACL, as EC2's default network ACL allows all traffic. Core: no Twisted, Spyne,
lxml or SQL here.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError
from ec2soap.core import network_acls, vpc_security_groups
from ec2soap.core.context import RequestContext
from ec2soap.core.default_vpc import (ensure_default, is_default_subnet, is_default_vpc, remember_deleted,
                                     remember_deleted_subnet, without_losers)
from ec2soap.core.instance_nics import account_key
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import Tag, owner_id, tags_of
from ec2soap.core.route_table_model import forget_subnet
from ec2soap.core.volumes import check_new_tags, tag_new
from ec2soap.core.vpc_cloud import advanced_zone, begin_vpc, create_tier
from ec2soap.errors import ERRORS

__all__ = ["Vpc", "Subnet", "VpcPage", "SubnetPage", "VPC_FILTERS", "SUBNET_FILTERS", "OPERATIONS",
           "advanced_zone", "cs_subnet", "VpcAttribute"]

log = logging.getLogger(__name__)

@dataclass
class CidrState:
    state: str = "associated"


@dataclass
class CidrAssociation:
    association_id: str
    cidr_block: str
    cidr_block_state: CidrState = field(default_factory=CidrState)


@dataclass
class Vpc:
    vpc_id: str
    state: str
    cidr_block: str
    dhcp_options_id: str = "default"
    instance_tenancy: str = "default"
    is_default: bool = False
    owner_id: str = ""
    tags: list[Tag] = field(default_factory=list)
    cs_id: str = ""

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags

    @property
    def cidr_block_associations(self) -> list[CidrAssociation]:
        # One block per VPC here; its association id is derived from the VPC's, so it never changes.
        return [CidrAssociation(f"vpc-cidr-assoc-{self.vpc_id.split('-', 1)[-1]}", self.cidr_block)]


@dataclass
class Subnet:
    subnet_id: str
    state: str
    vpc_id: str
    cidr_block: str
    available_ip_address_count: int
    availability_zone: str
    default_for_az: bool = False
    map_public_ip_on_launch: bool = False
    owner_id: str = ""
    tags: list[Tag] = field(default_factory=list)
    cs_id: str = ""

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


@dataclass
class VpcPage:
    vpcs: list[Vpc]
    next_token: str | None = None


@dataclass
class SubnetPage:
    subnets: list[Subnet]
    next_token: str | None = None


VPC_FILTERS = {
    "vpc-id": lambda v: v.vpc_id,
    "cidr": lambda v: v.cidr_block,
    "cidr-block": lambda v: v.cidr_block,
    "cidr-block-association.cidr-block": lambda v: v.cidr_block,
    "state": lambda v: v.state,
    "is-default": lambda v: "true" if v.is_default else "false",
    "dhcp-options-id": lambda v: v.dhcp_options_id,
    "instance-tenancy": lambda v: v.instance_tenancy,
    "owner-id": lambda v: v.owner_id,
}
SUBNET_FILTERS = {
    "subnet-id": lambda s: s.subnet_id,
    "vpc-id": lambda s: s.vpc_id,
    "cidr": lambda s: s.cidr_block,
    "cidr-block": lambda s: s.cidr_block,
    "cidrBlock": lambda s: s.cidr_block,
    "state": lambda s: s.state,
    "availability-zone": lambda s: s.availability_zone,
    "availabilityZone": lambda s: s.availability_zone,
    "available-ip-address-count": lambda s: str(s.available_ip_address_count),
    "default-for-az": lambda s: "true" if s.default_for_az else "false",
    "defaultForAz": lambda s: "true" if s.default_for_az else "false",
    "map-public-ip-on-launch": lambda s: "true" if s.map_public_ip_on_launch else "false",
    "owner-id": lambda s: s.owner_id,
}


def _cidr(text: str, error: str, *, smallest: int = 28, largest: int = 16) -> ipaddress.IPv4Network:
    """An EC2 CIDR block: IPv4, prefix /16../28, exactly on its boundary; else ERROR (InvalidVpc.Range ...)."""
    try:
        net = ipaddress.IPv4Network(text or "", strict=True)
    except ValueError:
        raise ERRORS["InvalidParameterValue"](detail=f"Value ({text}) for parameter cidrBlock is invalid. "
                                              f"This is not a valid CIDR block.") from None
    if not largest <= net.prefixlen <= smallest:
        raise ERRORS[error](cidr=text)
    return net


def _vpc_state(cs: dict) -> str:
    # CloudStack's VPC is Enabled as soon as createVPC answers while its router job still runs: CreateVpc itself
    # answers pending; a listing says pending only where CloudStack puts the running job on the row (jobid,
    # jobstatus 0), which the simulator's listVPCs does not, so DescribeVpcs says available at once there.
    if cs.get("jobid") and str(cs.get("jobstatus", "0")) == "0":
        return "pending"
    return "available" if cs.get("state") == "Enabled" else "pending"


async def _to_vpcs(ctx: RequestContext, cs_vpcs: list[dict]) -> list[Vpc]:
    ids = await ctx.ids.to_ec2_many("vpc", [c["id"] for c in cs_vpcs])
    return [Vpc(vpc_id=ids[c["id"]], state=_vpc_state(c), cidr_block=c.get("cidr", ""),
                owner_id=owner_id(c), is_default=is_default_vpc(c),
                tags=tags_of(c), cs_id=c["id"]) for c in cs_vpcs]


async def _vpc_cs_id(ctx: RequestContext, vpc_id: str) -> str:
    cs_id = await ctx.ids.to_cloudstack("vpc", vpc_id) if vpc_id else None
    if cs_id is None:
        raise ERRORS["InvalidVpcID.NotFound"](vpc_id=vpc_id)
    return cs_id


async def _cs_vpc(ctx: RequestContext, vpc_id: str) -> dict:
    cs_id = await _vpc_cs_id(ctx, vpc_id)
    found = [v for v in await ctx.cloud.list_vp_cs(listall=True) if v["id"] == cs_id]
    if not found:
        raise ERRORS["InvalidVpcID.NotFound"](vpc_id=vpc_id)
    return found[0]


async def create_vpc(ctx: RequestContext, cidr_block: str = "", instance_tenancy: str | None = None,
                     amazon_provided_ipv6: bool = False, tags: Sequence[tuple[str, str | None]] = ()) -> Vpc:
    """CreateVpc → createVPC in the advanced zone (its router job begun, not awaited: the VPC is pending until
    it ends). Only the default tenancy exists here; an IPv6 block is refused, never dropped."""
    if not cidr_block:
        raise ERRORS["MissingParameter"](name="CidrBlock")
    if instance_tenancy not in (None, "", "default"):
        if instance_tenancy in ("dedicated", "host"):
            raise ERRORS["InvalidParameterValue"](
                detail=f"Instance tenancy '{instance_tenancy}' is not supported on this cloud: only 'default'")
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({instance_tenancy}) for parameter instanceTenancy is invalid.")
    if amazon_provided_ipv6:
        raise ERRORS["InvalidParameterValue"](detail="IPv6 CIDR blocks are not supported on this cloud")
    cidr = _cidr(cidr_block, "InvalidVpc.Range")
    new_tags = check_new_tags(tags)
    zone = await advanced_zone(ctx, "CreateVpc")
    started = await begin_vpc(ctx, zone, cidr, f"vpc-{cidr}", str(cidr), cidr_block)
    cs_id = started["id"]
    vpc_id = await ctx.ids.to_ec2("vpc", cs_id)
    await tag_new(ctx, cs_id, "Vpc", new_tags)
    return Vpc(vpc_id=vpc_id, state="pending", cidr_block=str(cidr),
               tags=[Tag(t["key"], t.get("value", "")) for t in new_tags], cs_id=cs_id)


async def delete_vpc(ctx: RequestContext, vpc_id: str = "") -> bool:
    """DeleteVpc → deleteVPC. DependencyViolation, as EC2 answers, while the VPC has subnets (and so
    instances), an attached internet gateway, a route table other than its main one, a security group other
    than its default or a network ACL other than its default; the main route table and the groups' records go
    with it. Internet gateways and route tables are read from ctx.objects here: their modules import this one."""
    cs = await _cs_vpc(ctx, vpc_id)
    routes: list[Any] = []
    blocked = bool(await ctx.cloud.list_networks(vpcid=cs["id"], listall=True))
    if not blocked and ctx.objects is not None:
        account = await account_key(ctx)
        blocked = bool(await ctx.objects.list("igw", account, vpc=cs["id"]))
        routes = await ctx.objects.list("rtb", account, vpc=cs["id"])
        blocked = blocked or any(not r.data.get("main") for r in routes)
    blocked = blocked or bool(await vpc_security_groups.vpc_blockers(ctx, cs["id"]))
    acl_blockers, acls = await network_acls.vpc_acls(ctx, cs["id"])
    blocked = blocked or bool(acl_blockers)
    if blocked:
        raise ERRORS["DependencyViolation"](
            detail=f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    await ctx.cloud.delete_vpc(id=cs["id"])
    for record in routes:
        await ctx.objects.delete(record, any_version=True)
    await vpc_security_groups.forget_vpc(ctx, cs["id"])
    await network_acls.forget_vpc(ctx, acls)
    if is_default_vpc(cs):
        await remember_deleted(ctx, cs)
    return True


async def _made_default(ctx: RequestContext) -> bool:
    """Make the caller's default VPC and subnet if they have none; a failure (a VPC limit reached, ...) leaves
    a Describe* answering what exists."""
    try:
        return await ensure_default(ctx) is not None
    except (CloudStackError, ERRORS["InternalError"]) as exc:
        log.warning("default VPC not made: %s", exc)
        return False


async def describe_vpcs(ctx: RequestContext, vpc_ids: Sequence[str] = (), filters: Sequence[Filter] = (),
                        max_results: int | None = None, next_token: str | None = None) -> VpcPage:
    """DescribeVpcs → listVPCs (the caller's own; ids, filters and pages applied here)."""
    wanted = await ctx.ids.to_cloudstack_many("vpc", vpc_ids) if vpc_ids else {}
    for given, cs_id in wanted.items():
        if cs_id is None:
            raise ERRORS["InvalidVpcID.NotFound"](vpc_id=given)
    cs_vpcs = await ctx.cloud.list_vp_cs(listall=True)
    if not any(is_default_vpc(v) for v in cs_vpcs) and await _made_default(ctx):
        cs_vpcs = await ctx.cloud.list_vp_cs(listall=True)
    cs_vpcs = without_losers(cs_vpcs, is_default_vpc)
    if vpc_ids:
        present = {v["id"] for v in cs_vpcs}
        for given, cs_id in wanted.items():
            if cs_id not in present:
                raise ERRORS["InvalidVpcID.NotFound"](vpc_id=given)
        cs_vpcs = [v for v in cs_vpcs if v["id"] in set(wanted.values())]
    vpcs = apply_filters(VPC_FILTERS, filters, await _to_vpcs(ctx, cs_vpcs))
    vpcs.sort(key=lambda v: v.vpc_id)
    page, token = paginate(vpcs, max_results, next_token, minimum=5, maximum=1000)
    return VpcPage(page, token)


# -- subnets -------------------------------------------------------------------------------------------------------
# EC2 keeps five addresses of every subnet (network, router, DNS, reserved, broadcast).
_RESERVED = 5


def _subnet_state(cs: dict) -> str:
    # Allocated (no VM yet), Implemented and Setup are all usable tiers; anything else is on its way in or out.
    return "available" if cs.get("state") in ("Allocated", "Implemented", "Setup") else "pending"


async def _vms_by_network(ctx: RequestContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for vm in await ctx.cloud.list_virtual_machines(listall=True):
        if vm.get("state") in ("Expunging", "Expunged", "Destroyed"):
            continue
        for nic in vm.get("nic") or ():
            counts[nic.get("networkid", "")] = counts.get(nic.get("networkid", ""), 0) + 1
    return counts


async def _to_subnets(ctx: RequestContext, tiers: list[dict]) -> list[Subnet]:
    ids = await ctx.ids.to_ec2_many("subnet", [t["id"] for t in tiers])
    vpc_ids = await ctx.ids.to_ec2_many("vpc", [t["vpcid"] for t in tiers])
    used = await _vms_by_network(ctx) if tiers else {}
    out = []
    for t in tiers:
        size = ipaddress.IPv4Network(t.get("cidr") or "0.0.0.0/32").num_addresses
        out.append(Subnet(subnet_id=ids[t["id"]], state=_subnet_state(t), vpc_id=vpc_ids[t["vpcid"]],
                          cidr_block=t.get("cidr", ""), availability_zone=t.get("zonename", ""),
                          available_ip_address_count=max(size - _RESERVED - used.get(t["id"], 0), 0),
                          default_for_az=is_default_subnet(t), map_public_ip_on_launch=is_default_subnet(t),
                          owner_id=owner_id(t), tags=tags_of(t), cs_id=t["id"]))
    return out


async def cs_subnet(ctx: RequestContext, subnet_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("subnet", subnet_id) if subnet_id else None
    found = [n for n in await ctx.cloud.list_networks(id=cs_id, listall=True) if n.get("vpcid")] if cs_id else []
    if not found:
        raise ERRORS["InvalidSubnetID.NotFound"](subnet_id=subnet_id)
    return found[0]


async def create_subnet(ctx: RequestContext, vpc_id: str = "", cidr_block: str = "",
                        availability_zone: str | None = None,
                        tags: Sequence[tuple[str, str | None]] = ()) -> Subnet:
    """CreateSubnet → createNetwork: a tier of the VPC in its zone, with the default_allow ACL (EC2's default
    network ACL allows everything). The CIDR checks are EC2's, made before CloudStack is asked."""
    if not cidr_block:
        raise ERRORS["MissingParameter"](name="CidrBlock")
    vpc = await _cs_vpc(ctx, vpc_id)
    cidr = _cidr(cidr_block, "InvalidSubnet.Range")
    if not cidr.subnet_of(ipaddress.IPv4Network(vpc["cidr"])):
        raise ERRORS["InvalidSubnet.Range"](cidr=cidr_block)
    if availability_zone and availability_zone.lower() != str(vpc.get("zonename", "")).lower():
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({availability_zone}) for parameter availabilityZone is invalid. Subnets of "
                   f"{vpc_id} can only be created in its zone {vpc.get('zonename')}")
    tiers = await ctx.cloud.list_networks(vpcid=vpc["id"], listall=True)
    if any(cidr.overlaps(ipaddress.IPv4Network(t["cidr"])) for t in tiers if t.get("cidr")):
        raise ERRORS["InvalidSubnet.Conflict"](cidr=cidr_block)
    new_tags = check_new_tags(tags)
    try:
        cs = await create_tier(ctx, vpc, cidr, f"subnet-{cidr}")
    except CloudStackApiError as exc:
        if "networks per vpc" not in str(exc.errortext or "").lower():
            raise
        # CloudStack's vpc.max.networks (3 by default) is the cloud's subnets-per-VPC limit.
        raise ERRORS["SubnetLimitExceeded"](
            detail=f"The VPC {vpc_id} has as many subnets as this cloud allows per VPC ({len(tiers)}; "
                   f"CloudStack's vpc.max.networks, which its operator may raise)") from None
    await tag_new(ctx, cs["id"], "Network", new_tags)
    subnet = (await _to_subnets(ctx, [cs]))[0]
    subnet.tags = [Tag(t["key"], t.get("value", "")) for t in new_tags]
    return subnet


async def delete_subnet(ctx: RequestContext, subnet_id: str = "") -> bool:
    """DeleteSubnet → deleteNetwork; a subnet with instances is DependencyViolation, as EC2 answers."""
    cs = await cs_subnet(ctx, subnet_id)
    if (await _vms_by_network(ctx)).get(cs["id"]):
        raise ERRORS["DependencyViolation"](
            detail=f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    await ctx.cloud.delete_network(id=cs["id"])
    await forget_subnet(ctx, cs["id"], str(cs.get("vpcid") or ""))
    if is_default_subnet(cs):
        await remember_deleted_subnet(ctx, cs)
    return True


async def describe_subnets(ctx: RequestContext, subnet_ids: Sequence[str] = (), filters: Sequence[Filter] = (),
                           max_results: int | None = None, next_token: str | None = None) -> SubnetPage:
    """DescribeSubnets → listNetworks (the caller's VPC tiers; ids, filters and pages applied here)."""
    wanted = await ctx.ids.to_cloudstack_many("subnet", subnet_ids) if subnet_ids else {}
    for given, cs_id in wanted.items():
        if cs_id is None:
            raise ERRORS["InvalidSubnetID.NotFound"](subnet_id=given)
    tiers = [n for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid")]
    if not any(is_default_subnet(t) for t in tiers) and await _made_default(ctx):
        tiers = [n for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid")]
    tiers = without_losers(tiers, is_default_subnet)
    if subnet_ids:
        present = {t["id"] for t in tiers}
        for given, cs_id in wanted.items():
            if cs_id not in present:
                raise ERRORS["InvalidSubnetID.NotFound"](subnet_id=given)
        tiers = [t for t in tiers if t["id"] in set(wanted.values())]
    subnets = apply_filters(SUBNET_FILTERS, filters, await _to_subnets(ctx, tiers))
    subnets.sort(key=lambda s: s.subnet_id)
    page, token = paginate(subnets, max_results, next_token, minimum=5, maximum=1000)
    return SubnetPage(page, token)


# -- VPC attributes (2012-12-01) -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BooleanValue:
    value: bool


@dataclass
class VpcAttribute:
    vpc_id: str
    enable_dns_support: BooleanValue | None = None
    enable_dns_hostnames: BooleanValue | None = None
    enable_network_address_usage_metrics: BooleanValue | None = None


# EC2 attribute → (its VpcAttribute field, its value here). CloudStack's VPC virtual router always serves DNS
# and names the VMs of its tiers (dnsmasq), so both DNS attributes are true and cannot be turned off; it keeps
# no network address usage metrics.
VPC_ATTRIBUTES = {"enableDnsSupport": ("enable_dns_support", True),
                  "enableDnsHostnames": ("enable_dns_hostnames", True),
                  "enableNetworkAddressUsageMetrics": ("enable_network_address_usage_metrics", False)}


async def describe_vpc_attribute(ctx: RequestContext, vpc_id: str = "", attribute: str = "") -> VpcAttribute:
    """DescribeVpcAttribute: what CloudStack's VPC does (VPC_ATTRIBUTES), for a VPC of the caller's."""
    if attribute not in VPC_ATTRIBUTES:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")
    await _cs_vpc(ctx, vpc_id)
    name, value = VPC_ATTRIBUTES[attribute]
    return VpcAttribute(vpc_id, **{name: BooleanValue(value)})


async def modify_vpc_attribute(ctx: RequestContext, vpc_id: str = "", enable_dns_support: bool | None = None,
                               enable_dns_hostnames: bool | None = None,
                               enable_network_address_usage_metrics: bool | None = None) -> bool:
    """ModifyVpcAttribute: one attribute per request, as EC2 takes it. Setting what the VPC already does is
    accepted; anything else is refused, since CloudStack cannot do it (never pretended)."""
    given = {attr: v for attr, v in (("enableDnsSupport", enable_dns_support),
                                     ("enableDnsHostnames", enable_dns_hostnames),
                                     ("enableNetworkAddressUsageMetrics", enable_network_address_usage_metrics))
             if v is not None}
    if not given:
        raise ERRORS["MissingParameter"](name="EnableDnsSupport, EnableDnsHostnames or "
                                              "EnableNetworkAddressUsageMetrics")
    if len(given) > 1:
        raise ERRORS["InvalidParameterCombination"](
            detail=f"Fields for multiple attribute types specified: {', '.join(given)}")
    await _cs_vpc(ctx, vpc_id)
    [(attribute, wanted)] = given.items()
    if wanted != VPC_ATTRIBUTES[attribute][1]:
        why = ("its virtual router always serves DNS and the names of its instances" if wanted is False
               else "it keeps no network address usage metrics")
        raise ERRORS["InvalidParameterValue"](
            detail=f"{attribute} cannot be {str(wanted).lower()} on this cloud: CloudStack's VPC cannot do "
                   f"otherwise ({why})")
    return True


OPERATIONS: dict[str, Any] = {
    "CreateVpc": create_vpc,
    "DeleteVpc": delete_vpc,
    "DescribeVpcs": describe_vpcs,
    "CreateSubnet": create_subnet,
    "DeleteSubnet": delete_subnet,
    "DescribeSubnets": describe_subnets,
    "DescribeVpcAttribute": describe_vpc_attribute,
    "ModifyVpcAttribute": modify_vpc_attribute,
}
