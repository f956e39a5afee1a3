"""EC2-VPC routes (issue 12): CreateRoute, ReplaceRoute, DeleteRoute, for core/route_tables.py.

What a route may say is what the VPC's virtual router does:
- the local route (the VPC's CIDR) is in every table and cannot be deleted or replaced;
- a route to the VPC's attached internet gateway (GatewayId igw-...) is kept in the table: the VR sends whatever
  is not local nor statically routed to the internet through its source NAT; one that a static route would take
  instead (its destination inside a static route's) is refused, as the VR would not follow it;
- a route to a CloudStack private gateway of the VPC (GatewayId: its CloudStack id, as listPrivateGateways shows
  it; EC2 has no such gateway) is a CloudStack static route (createStaticRoute: the private gateway and the CIDR,
  outside the VPC's CIDR and link-local, not overlapping another), applied by the VR for every tier, so every
  table of the VPC shows it. A VPC without a private gateway (an operator makes them) cannot carry one: refused;
- every other target (NAT gateway, instance, network interface, peering, virtual private gateway, transit,
  local, carrier and egress-only gateways, endpoints, core networks) and IPv6 or prefix-list destinations are
  refused with InvalidParameterValue saying why; nothing is accepted that the cloud would not do.
Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.internet_gateways import listed_vpc
from ec2soap.core.route_table_model import IGW_ID_KIND, IGW_KIND, KIND, static_routes, table_record
from ec2soap.errors import ERRORS

__all__ = ["ROUTE_OPERATIONS", "REFUSED_TARGETS"]

_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ALL_TARGETS = ("gatewayId, natGatewayId, networkInterfaceId, instanceId, vpcPeeringConnectionId, transitGatewayId, "
                "localGatewayId, carrierGatewayId, egressOnlyInternetGatewayId, vpcEndpointId or coreNetworkArn")
_NO_STATIC = "CloudStack's VPC static routes go to a private gateway only"
# Route targets CloudStack has no counterpart for: keyword → why the route is refused.
REFUSED_TARGETS = {
    "nat_gateway_id": "NAT gateways do not exist on this cloud: the VPC's virtual router source-NATs every subnet "
                      "to the internet (route 0.0.0.0/0 to the VPC's internet gateway instead)",
    "instance_id": f"Routes to an instance cannot be carried by this cloud ({_NO_STATIC})",
    "network_interface_id": f"Routes to a network interface cannot be carried by this cloud ({_NO_STATIC})",
    "vpc_peering_connection_id": "VPC peering connections do not exist on this cloud",
    "transit_gateway_id": "Transit gateways do not exist on this cloud",
    "local_gateway_id": "Local gateways (Outposts) do not exist on this cloud",
    "carrier_gateway_id": "Carrier gateways (Wavelength) do not exist on this cloud",
    "egress_only_internet_gateway_id": "Egress-only internet gateways (IPv6) do not exist on this cloud",
    "vpc_endpoint_id": "Gateway Load Balancer endpoints do not exist on this cloud",
    "core_network_arn": "Core networks (Cloud WAN) do not exist on this cloud",
    "odb_network_arn": "ODB networks do not exist on this cloud",
}


def _destination(cidr: str | None, ipv6: str | None, prefix_list: str | None) -> ipaddress.IPv4Network:
    if ipv6:
        raise ERRORS["InvalidParameterValue"](detail="IPv6 routes are not supported on this cloud (its VPCs have "
                                                     "no IPv6 CIDR block)")
    if prefix_list:
        raise ERRORS["InvalidParameterValue"](detail="Prefix lists are not supported on this cloud")
    if not cidr:
        raise ERRORS["MissingParameter"](name="DestinationCidrBlock")
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ERRORS["InvalidParameterValue"](detail=f"Value ({cidr}) for parameter destinationCidrBlock is "
                                                     f"invalid. This is not a valid CIDR block.") from None


async def _context(ctx: RequestContext, route_table_id: str, action: str) -> tuple[Any, dict, list[dict]]:
    """(table record, its CloudStack VPC, the VPC's static routes)."""
    record = await table_record(ctx, route_table_id, action)
    vpc = await listed_vpc(ctx, record.vpc)
    if vpc is None:
        raise ERRORS["InvalidRouteTableID.NotFound"](route_table_id=route_table_id)
    return record, vpc, (await static_routes(ctx, record.vpc)).get(record.vpc or "", [])


def _net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text, strict=False)


async def _target(ctx: RequestContext, record: Any, vpc: dict, route_table_id: str, dest: ipaddress.IPv4Network,
                  statics: list[dict], targets: dict[str, str | None], replacing: str | None) -> tuple[str, str]:
    """The one route target given: ("igw", gateway record id) or ("static", private gateway uuid); every other
    target refused. REPLACING: the destination being replaced (its own route is no conflict)."""
    given = [k for k, v in targets.items() if v]
    if len(given) != 1:
        raise ERRORS["InvalidParameterCombination"](detail=f"The request must contain exactly one of {_ALL_TARGETS}")
    if given[0] != "gateway_id":
        raise ERRORS["InvalidParameterValue"](detail=REFUSED_TARGETS[given[0]])
    gateway_id = str(targets["gateway_id"])
    others = [s for s in statics if s.get("cidr") != replacing]
    if gateway_id.startswith("igw-"):
        cs_id = await ctx.ids.to_cloudstack(IGW_ID_KIND, gateway_id)
        igw = await ctx.objects.get(IGW_KIND, record.account, cs_id) if cs_id else None
        if igw is None:
            raise ERRORS["InvalidGatewayID.NotFound"](gateway_id=gateway_id)
        if igw.vpc != record.vpc:
            raise ERRORS["InvalidParameterValue"](
                detail=f"route table {route_table_id} and network gateway {gateway_id} belong to different networks")
        for static in others:
            if dest.subnet_of(_net(static["cidr"])):
                raise ERRORS["InvalidParameterValue"](
                    detail=f"The VPC's virtual router sends {dest} to private gateway {static.get('gatewayid')} "
                           f"(static route {static['cidr']}) for every subnet; a route to {gateway_id} would not "
                           f"be followed")
        return "igw", igw.cs_id
    if gateway_id.startswith("vgw-"):
        raise ERRORS["InvalidParameterValue"](
            detail="Virtual private gateways do not exist on this cloud; a route to one of the VPC's CloudStack "
                   "private gateways names it by its CloudStack id as GatewayId")
    if not _UUID.match(gateway_id):
        raise ERRORS["InvalidGatewayID.NotFound"](gateway_id=gateway_id)
    gateways = await ctx.cloud.list_private_gateways(vpcid=vpc["id"], listall=True)
    if not gateways:
        raise ERRORS["InvalidGatewayID.NotFound"](
            f"The gateway ID '{gateway_id}' does not exist: VPC {vpc.get('name', '')} has no CloudStack private "
            f"gateway (an operator creates them), so this cloud cannot carry a static route for it")
    gateway = next((g for g in gateways if g.get("id") == gateway_id), None)
    if gateway is None:
        raise ERRORS["InvalidGatewayID.NotFound"](gateway_id=gateway_id)
    if gateway.get("state") != "Ready":
        raise ERRORS["InvalidParameterValue"](
            detail=f"Private gateway {gateway_id} is {gateway.get('state')}, not Ready")
    if dest.overlaps(_net(vpc["cidr"])) or dest.overlaps(_LINK_LOCAL):
        raise ERRORS["InvalidParameterValue"](
            detail=f"A route to a private gateway must lie outside the VPC's CIDR {vpc['cidr']} and link-local "
                   f"{_LINK_LOCAL} (CloudStack's rule)")
    for static in others:
        if dest.overlaps(_net(static["cidr"])):
            raise ERRORS["InvalidParameterValue"](
                detail=f"{dest} overlaps the VPC's static route {static['cidr']}; CloudStack allows no overlap")
    for table in await ctx.objects.list(KIND, record.account, vpc=record.vpc):
        for route in table.data.get("routes") or ():
            if (table.cs_id, route["cidr"]) != (record.cs_id, replacing) and _net(route["cidr"]).subnet_of(dest):
                rtb = await ctx.ids.to_ec2("route-table", table.cs_id)
                raise ERRORS["InvalidParameterValue"](
                    detail=f"{rtb} routes {route['cidr']} to an internet gateway; a static route to {dest} would "
                           f"take that traffic for every subnet")
    return "static", gateway_id


def _targets(given: dict[str, Any]) -> dict[str, str | None]:
    return {k: given[k] for k in ("gateway_id", *REFUSED_TARGETS)}


def _check_destination(vpc: dict, dest: ipaddress.IPv4Network) -> None:
    if dest.subnet_of(_net(vpc["cidr"])):
        raise ERRORS["InvalidParameterValue"](
            detail=f"The destination CIDR block {dest} is equal to or more specific than one of this VPC's CIDR "
                   f"blocks. This route can target only an interface or an instance, which this cloud cannot "
                   f"route to")


async def _add_igw_route(ctx: RequestContext, route_table_id: str, dest: str, igw_cs_id: str) -> None:
    while True:
        record = await table_record(ctx, route_table_id, "CreateRoute")
        routes = [r for r in record.data.get("routes") or () if r["cidr"] != dest]
        routes.append({"cidr": dest, "gateway": igw_cs_id, "origin": "CreateRoute"})
        if await ctx.objects.update(record, dict(record.data, routes=routes)):
            return


async def _drop_igw_route(ctx: RequestContext, route_table_id: str, dest: str) -> None:
    while True:
        record = await table_record(ctx, route_table_id, "DeleteRoute")
        routes = [r for r in record.data.get("routes") or () if r["cidr"] != dest]
        if len(routes) == len(record.data.get("routes") or ()) or \
                await ctx.objects.update(record, dict(record.data, routes=routes)):
            return


async def _add_static(ctx: RequestContext, gateway_id: str, dest: str) -> None:
    try:
        await ctx.cloud.create_static_route(gatewayid=gateway_id, cidr=dest)
    except CloudStackApiError as exc:
        if exc.errorcode in (431, 537):
            raise ERRORS["InvalidParameterValue"](
                detail=f"CloudStack refused the static route to {dest}: {exc.errortext}") from None
        raise


def _existing(record: Any, statics: list[dict], dest: str) -> tuple[str, Any] | None:
    """("igw", route) or ("static", CloudStack static route) for DEST in this table, else None."""
    route = next((r for r in record.data.get("routes") or () if r["cidr"] == dest), None)
    if route is not None:
        return "igw", route
    static = next((s for s in statics if s.get("cidr") == dest), None)
    return ("static", static) if static is not None else None


async def create_route(ctx: RequestContext, route_table_id: str = "", destination_cidr_block: str | None = None,
                       destination_ipv6_cidr_block: str | None = None, destination_prefix_list_id: str | None = None,
                       gateway_id: str | None = None, nat_gateway_id: str | None = None,
                       instance_id: str | None = None, network_interface_id: str | None = None,
                       vpc_peering_connection_id: str | None = None, transit_gateway_id: str | None = None,
                       local_gateway_id: str | None = None, carrier_gateway_id: str | None = None,
                       egress_only_internet_gateway_id: str | None = None, vpc_endpoint_id: str | None = None,
                       core_network_arn: str | None = None, odb_network_arn: str | None = None) -> bool:
    """CreateRoute: to the VPC's internet gateway (kept in the table) or to a private gateway of the VPC (a
    CloudStack static route); RouteAlreadyExists for a destination the table routes already."""
    targets = _targets(locals())
    dest = _destination(destination_cidr_block, destination_ipv6_cidr_block, destination_prefix_list_id)
    record, vpc, statics = await _context(ctx, route_table_id, "CreateRoute")
    if str(dest) == vpc.get("cidr") or _existing(record, statics, str(dest)) is not None:
        raise ERRORS["RouteAlreadyExists"](cidr=str(dest))
    _check_destination(vpc, dest)
    kind, target = await _target(ctx, record, vpc, route_table_id, dest, statics, targets, None)
    if kind == "igw":
        await _add_igw_route(ctx, route_table_id, str(dest), target)
    else:
        await _add_static(ctx, target, str(dest))
    return True


async def replace_route(ctx: RequestContext, route_table_id: str = "", destination_cidr_block: str | None = None,
                        destination_ipv6_cidr_block: str | None = None, destination_prefix_list_id: str | None = None,
                        local_target: bool | None = None, gateway_id: str | None = None,
                        nat_gateway_id: str | None = None,
                        instance_id: str | None = None, network_interface_id: str | None = None,
                        vpc_peering_connection_id: str | None = None, transit_gateway_id: str | None = None,
                        local_gateway_id: str | None = None, carrier_gateway_id: str | None = None,
                        egress_only_internet_gateway_id: str | None = None, vpc_endpoint_id: str | None = None,
                        core_network_arn: str | None = None, odb_network_arn: str | None = None) -> bool:
    """ReplaceRoute: the route to DestinationCidrBlock gets the new target (checked before anything changes)."""
    targets = _targets(locals())
    dest = _destination(destination_cidr_block, destination_ipv6_cidr_block, destination_prefix_list_id)
    record, vpc, statics = await _context(ctx, route_table_id, "ReplaceRoute")
    if str(dest) == vpc.get("cidr"):
        if local_target and not any(targets.values()):
            return True  # the local route targets local already
        raise ERRORS["InvalidParameterValue"](
            detail=f"The local route {dest} of {route_table_id} cannot be replaced on this cloud")
    if local_target:
        raise ERRORS["InvalidParameterValue"](detail="LocalTarget applies to the VPC's local route only")
    existing = _existing(record, statics, str(dest))
    if existing is None:
        raise ERRORS["InvalidRoute.NotFound"](
            detail=f"There is no route defined for '{dest}' in the route table. Use a valid destination cidr block.")
    kind, target = await _target(ctx, record, vpc, route_table_id, dest, statics, targets, str(dest))
    old_kind, old = existing
    if old_kind == "static":
        if kind == "static" and old.get("gatewayid") == target:
            return True
        await ctx.cloud.delete_static_route(id=old["id"])
    if kind == "igw":
        await _add_igw_route(ctx, route_table_id, str(dest), target)
    else:
        await _add_static(ctx, target, str(dest))
        if old_kind == "igw":
            await _drop_igw_route(ctx, route_table_id, str(dest))
    return True


async def delete_route(ctx: RequestContext, route_table_id: str = "", destination_cidr_block: str | None = None,
                       destination_ipv6_cidr_block: str | None = None,
                       destination_prefix_list_id: str | None = None) -> bool:
    """DeleteRoute: the local route stays; a static route is deleted in CloudStack (from every table)."""
    dest = _destination(destination_cidr_block, destination_ipv6_cidr_block, destination_prefix_list_id)
    record, vpc, statics = await _context(ctx, route_table_id, "DeleteRoute")
    if str(dest) == vpc.get("cidr"):
        raise ERRORS["InvalidParameterValue"](detail=f"cannot remove local route {dest} in route table "
                                                     f"{route_table_id}")
    existing = _existing(record, statics, str(dest))
    if existing is None:
        raise ERRORS["InvalidRoute.NotFound"](
            detail=f"There is no route defined for '{dest}' in the route table. Use a valid destination cidr block.")
    if existing[0] == "static":
        await ctx.cloud.delete_static_route(id=existing[1]["id"])
    else:
        await _drop_igw_route(ctx, route_table_id, str(dest))
    return True


ROUTE_OPERATIONS: dict[str, Any] = {
    "CreateRoute": create_route,
    "ReplaceRoute": replace_route,
    "DeleteRoute": delete_route,
}
