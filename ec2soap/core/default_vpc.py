"""The account's default VPC in an advanced zone, as EC2 has one: 172.31.0.0/16 (IsDefault) with one default
subnet 172.31.0.0/20 (DefaultForAz, MapPublicIpOnLaunch), made on first need (RunInstances without a subnet in
the advanced zone, DescribeVpcs, DescribeSubnets, DescribeAccountAttributes default-vpc).

CloudStack has no such flag: the VPC and its tier are found again by their CloudStack names (DEFAULT_VPC_NAME,
DEFAULT_SUBNET_NAME, which CreateVpc/CreateSubnet never give: theirs are vpc-<cidr> and subnet-<cidr>). Two
gateways (or requests) may create it at once: each lists again after creating, the oldest one (created, then
uuid: the same choice everywhere) is the default, and a creator whose VPC lost deletes it. As in EC2, the default
VPC comes with an internet gateway attached and its main route table routing 0.0.0.0/0 to it (the gateway's
records, core/internet_gateways.py and core/route_table_model.py), made by the creator whose VPC won. Core: no
Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError
from ec2soap.core.context import RequestContext
from ec2soap.core.instance_nics import account_key
from ec2soap.core.route_table_model import ensure_main
from ec2soap.core.vpc_cloud import begin_vpc, create_tier, is_advanced

__all__ = ["DEFAULT_VPC_NAME", "DEFAULT_SUBNET_NAME", "DEFAULT_VPC_CIDR", "DEFAULT_SUBNET_CIDR", "is_default_vpc",
           "is_default_subnet", "default_vpc", "default_subnet", "ensure_default", "first_advanced_zone",
           "remember_deleted", "remember_deleted_subnet", "without_losers"]

log = logging.getLogger(__name__)

DEFAULT_VPC_NAME = "ec2-default-vpc"
DEFAULT_SUBNET_NAME = "ec2-default-subnet"
DEFAULT_VPC_CIDR = ipaddress.IPv4Network("172.31.0.0/16")
DEFAULT_SUBNET_CIDR = ipaddress.IPv4Network("172.31.0.0/20")
# ctx.objects: a default VPC the account deleted (data {"zone"}); EC2 does not make another one by itself.
GONE_KIND = "default-vpc-gone"
IGW_KIND = "igw"  # core/internet_gateways.py's records: the `vpc` column names the VPC it is attached to


def is_default_vpc(cs: dict) -> bool:
    return cs.get("name") == DEFAULT_VPC_NAME


def is_default_subnet(tier: dict) -> bool:
    return tier.get("name") == DEFAULT_SUBNET_NAME


def _winner(rows: list[dict]) -> dict:
    return min(rows, key=lambda r: (str(r.get("created") or ""), r["id"]))


def without_losers(rows: list[dict], is_default: Any) -> list[dict]:
    """ROWS without the default VPCs (or subnets) that lost a race and are being deleted by their creator."""
    defaults = [r for r in rows if is_default(r)]
    if len(defaults) < 2:
        return rows
    win = _winner(defaults)["id"]
    return [r for r in rows if not is_default(r) or r["id"] == win]


async def _default_vpcs(ctx: RequestContext, zone: dict) -> list[dict]:
    # listVPCs matches name with LIKE %name%: keep the exact ones.
    return [v for v in await ctx.cloud.list_vp_cs(listall=True, zoneid=zone["id"], name=DEFAULT_VPC_NAME)
            if is_default_vpc(v)]


async def _drop(ctx: RequestContext, what: str, call: Any) -> None:
    try:
        await call
    except CloudStackError as exc:
        # The other creator's copy is the default; ours is only an extra, left for the operator if it sticks.
        log.warning("could not delete a duplicate default %s: %s", what, exc)


async def default_vpc(ctx: RequestContext, zone: dict, *, create: bool = True) -> dict | None:
    """The caller's default VPC in ZONE (CloudStack's VPC dict), created when missing and CREATE."""
    found = await _default_vpcs(ctx, zone)
    if found or not create:
        return _winner(found) if found else None
    if ctx.objects is not None and any(r.data.get("zone") == zone["id"] and not r.data.get("subnet")
                                       for r in await ctx.objects.list(GONE_KIND, await account_key(ctx))):
        return None
    started = await begin_vpc(ctx, zone, DEFAULT_VPC_CIDR, DEFAULT_VPC_NAME, "EC2 default VPC",
                              str(DEFAULT_VPC_CIDR))
    again = await _default_vpcs(ctx, zone)
    mine = next((v for v in again if v["id"] == started["id"]), None)
    if mine is None:
        again = [v for v in await ctx.cloud.list_vp_cs(listall=True, id=started["id"])] + again
    win = _winner(again)
    if win["id"] != started["id"]:
        await _drop(ctx, "VPC", ctx.cloud.delete_vpc(id=started["id"]))
    else:
        await _equip(ctx, win["id"])
    return win


async def _equip(ctx: RequestContext, vpc_cs_id: str) -> None:
    """A new default VPC's internet gateway, attached, and its main route table's 0.0.0.0/0 route to it."""
    if ctx.objects is None:
        return
    igw = await ctx.objects.create(IGW_KIND, await account_key(ctx), {"tags": {}}, vpc=vpc_cs_id)
    main = await ensure_main(ctx, vpc_cs_id)
    route = {"cidr": "0.0.0.0/0", "gateway": igw.cs_id, "origin": "CreateRoute"}
    while main is not None and route not in (main.data.get("routes") or []):
        if await ctx.objects.update(main, dict(main.data, routes=[*(main.data.get("routes") or []), route])):
            return
        main = await ctx.objects.get(main.kind, main.account, main.cs_id)


async def remember_deleted(ctx: RequestContext, vpc: dict) -> None:
    """DeleteVpc of the default VPC: none is made again in its zone (EC2 makes one only when asked)."""
    if ctx.objects is not None:
        await ctx.objects.create(GONE_KIND, await account_key(ctx), {"zone": vpc.get("zoneid")}, cs_id=vpc["id"])


async def remember_deleted_subnet(ctx: RequestContext, tier: dict) -> None:
    """DeleteSubnet of the default subnet: its VPC gets no other by itself, as in EC2."""
    if ctx.objects is not None:
        await ctx.objects.create(GONE_KIND, await account_key(ctx), {"zone": tier.get("zoneid"), "subnet": True},
                                 vpc=tier.get("vpcid"), cs_id=tier["id"])


async def _default_tiers(ctx: RequestContext, vpc: dict) -> list[dict]:
    return [n for n in await ctx.cloud.list_networks(vpcid=vpc["id"], listall=True) if is_default_subnet(n)]


async def default_subnet(ctx: RequestContext, vpc: dict, *, create: bool = True) -> dict | None:
    """The default VPC's default subnet (CloudStack's tier dict), created when missing and CREATE."""
    found = await _default_tiers(ctx, vpc)
    if found or not create:
        return _winner(found) if found else None
    if ctx.objects is not None and await ctx.objects.list(GONE_KIND, await account_key(ctx), vpc=vpc["id"]):
        return None
    try:
        made = await create_tier(ctx, vpc, DEFAULT_SUBNET_CIDR, DEFAULT_SUBNET_NAME)
    except CloudStackApiError:
        # Another request made it first: CloudStack refuses a second tier over the same block.
        again = await _default_tiers(ctx, vpc)
        if again:
            return _winner(again)
        raise
    again = await _default_tiers(ctx, vpc) or [made]
    win = _winner(again)
    if win["id"] != made["id"]:
        await _drop(ctx, "subnet", ctx.cloud.delete_network(id=made["id"]))
    return win


async def first_advanced_zone(ctx: RequestContext) -> dict | None:
    return next((z for z in await ctx.cloud.list_zones(available=True) if is_advanced(z)), None)


async def ensure_default(ctx: RequestContext, zone: dict | None = None) -> tuple[dict, dict | None] | None:
    """The default VPC and subnet of ZONE (default: the first advanced zone), made when missing; None in a
    cloud without an advanced zone or once the account deleted its default VPC; no subnet once it deleted
    the default subnet."""
    zone = zone or await first_advanced_zone(ctx)
    if zone is None:
        return None
    for attempt in range(3):
        vpc = await default_vpc(ctx, zone)
        if vpc is None:
            return None
        try:
            return vpc, await default_subnet(ctx, vpc)
        except CloudStackApiError:
            # The VPC found may have been a race's loser (two creators in the same second: the winner is the
            # lower uuid), deleted by its creator while we made its subnet: look for the winner again.
            if attempt == 2 or await _still_listed(ctx, vpc):
                raise
    return None  # not reached: the last attempt returns or raises


async def _still_listed(ctx: RequestContext, vpc: dict) -> bool:
    try:
        return bool(await ctx.cloud.list_vp_cs(listall=True, id=vpc["id"]))
    except CloudStackApiError:  # CloudStack may refuse the uuid of a removed VPC as a parameter value
        return False
