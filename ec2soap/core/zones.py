"""Zones, regions and account attributes: DescribeAvailabilityZones, DescribeRegions, DescribeAccountAttributes.
Core: no Twisted, Spyne, lxml or SQL here.

An EC2 availability zone is a CloudStack zone (by name); the whole cloud is one region, named by the operator
(settings.region). The region's endpoint is the host the request came in on (ctx.extras["host"], set by the
front door) — clients that follow it come back to us.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackError
from ec2soap.core.context import RequestContext
from ec2soap.core.default_vpc import ensure_default
from ec2soap.core.filters import Filter, apply_filters
from ec2soap.errors import ERRORS

__all__ = ["AvailabilityZone", "Region", "AccountAttribute", "ZONE_FILTERS", "REGION_FILTERS", "OPERATIONS"]

log = logging.getLogger(__name__)


@dataclass
class AvailabilityZone:
    zone_name: str
    region_name: str
    zone_state: str = "available"
    message_set: list[str] = field(default_factory=list)
    zone_id: str = ""  # the CloudStack zone uuid (not on the 2010-11-15 wire)


@dataclass
class Region:
    region_name: str
    region_endpoint: str


@dataclass
class AccountAttribute:
    attribute_name: str
    attribute_value_set: list[str]


ZONE_FILTERS = {
    "zone-name": lambda z: z.zone_name,
    "state": lambda z: z.zone_state,
    "message": lambda z: z.message_set,
    "region-name": lambda z: z.region_name,
}
REGION_FILTERS = {
    "region-name": lambda r: r.region_name,
    "endpoint": lambda r: r.region_endpoint,
}


async def describe_availability_zones(ctx: RequestContext, zone_names: Sequence[str] = (),
                                      filters: Sequence[Filter] = ()) -> list[AvailabilityZone]:
    """DescribeAvailabilityZones → listZones available=true. ZoneName.N is matched case-insensitively (as the
    original did); an unknown one is InvalidParameterValue, as EC2 answers."""
    zones = [AvailabilityZone(zone_name=cs["name"], region_name=ctx.settings.region, zone_id=cs.get("id", ""))
             for cs in await ctx.cloud.list_zones(available=True)]
    if zone_names:
        by_name = {z.zone_name.lower(): z for z in zones}
        chosen = []
        for name in dict.fromkeys(zone_names):
            zone = by_name.get(name.lower())
            if zone is None:
                raise ERRORS["InvalidParameterValue"](detail=f"Invalid availability zone: [{name}]")
            if zone not in chosen:
                chosen.append(zone)
        zones = chosen
    return apply_filters(ZONE_FILTERS, filters, zones)


async def describe_regions(ctx: RequestContext, region_names: Sequence[str] = (),
                           filters: Sequence[Filter] = ()) -> list[Region]:
    """DescribeRegions → no CloudStack call: one region, settings.region, at the endpoint we were called on."""
    regions = [Region(region_name=ctx.settings.region, region_endpoint=str(ctx.extras.get("host") or ""))]
    for name in region_names:
        if name != ctx.settings.region:
            raise ERRORS["InvalidParameterValue"](detail=f"Invalid region: [{name}]")
    return apply_filters(REGION_FILTERS, filters, regions)


# DescribeAccountAttributes names, in EC2's order.
ACCOUNT_ATTRIBUTES = ("supported-platforms", "default-vpc", "max-instances", "vpc-max-security-groups-per-interface",
                      "max-elastic-ips", "vpc-max-elastic-ips")
# listResourceLimits resourcetype ordinals.
_LIMIT_VMS, _LIMIT_PUBLIC_IPS = 0, 1


async def _limit(ctx: RequestContext, resource_type: int) -> str:
    """The caller's limit as EC2 shows it; CloudStack's -1 (unlimited) is passed on as -1."""
    found = await ctx.cloud.list_resource_limits(resourcetype=resource_type)
    return str(found[0].get("max", -1)) if found else "-1"


async def _default_vpc_id(ctx: RequestContext) -> str:
    try:
        made = await ensure_default(ctx)
    except (CloudStackError, ERRORS["InternalError"]) as exc:
        # A VPC limit reached, an offering missing: the account has no default VPC for now.
        log.warning("default VPC not made: %s", exc)
        made = None
    return await ctx.ids.to_ec2("vpc", made[0]["id"]) if made else "none"


async def describe_account_attributes(ctx: RequestContext, attribute_names: Sequence[str] = ()
                                      ) -> list[AccountAttribute]:
    """DescribeAccountAttributes (a later API) → listResourceLimits for max-instances (type 0) and max-elastic-ips
    (type 1). supported-platforms: EC2 where a Basic zone exists, VPC where an Advanced one does (listZones).
    default-vpc: the caller's default VPC in the first Advanced zone (made on this first need, default_vpc.py),
    "none" without an Advanced zone or once they deleted it; VPC addresses and per-interface groups are not
    counted here ("0")."""
    unknown = [n for n in attribute_names if n not in ACCOUNT_ATTRIBUTES]
    if unknown:
        raise ERRORS["InvalidParameterValue"](detail=f"Invalid attribute name: {unknown[0]}")
    wanted = list(dict.fromkeys(attribute_names)) or list(ACCOUNT_ATTRIBUTES)
    out = []
    for name in wanted:
        if name == "supported-platforms":
            kinds = {str(z.get("networktype", "")).lower() for z in await ctx.cloud.list_zones(available=True)}
            values = [p for p, kind in (("EC2", "basic"), ("VPC", "advanced")) if kind in kinds]
        elif name == "default-vpc":
            values = [await _default_vpc_id(ctx)]
        elif name == "max-instances":
            values = [await _limit(ctx, _LIMIT_VMS)]
        elif name == "max-elastic-ips":
            values = [await _limit(ctx, _LIMIT_PUBLIC_IPS)]
        else:
            # No VPCs here: security groups per interface and VPC addresses do not apply.
            values = ["0"]
        out.append(AccountAttribute(name, values))
    return out


OPERATIONS: dict[str, Any] = {
    "DescribeAvailabilityZones": describe_availability_zones,
    "DescribeRegions": describe_regions,
    "DescribeAccountAttributes": describe_account_attributes,
}
