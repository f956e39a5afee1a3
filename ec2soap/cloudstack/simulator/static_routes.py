"""Simulator: VPC private gateways and static routes (VpcManagerImpl behaviour of CloudStack 4.18).

In 4.18 a static route hangs off a private gateway (createStaticRoute takes `gatewayid` and `cidr` only, no next
hop), and private gateways are made by createPrivateGateway, a root-admin command the reference does not hold.
So the simulator lists private gateways (kind "privategateway", which an operator's setup may insert) and holds
createStaticRoute to exactly that: a gateway that is not a Ready private gateway is refused as CloudStack
refuses it.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, JobStarted, Listing, keyword_filter, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied

__all__ = ["COMMANDS", "JOB_ACTIONS", "TAG_RESOLVERS"]

# NetUtils.getLinkLocalCIDR.
_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")


def _render_route(ctx: Ctx, route: dict, command: str = "listStaticRoutes") -> dict:
    return public_fields(dict(route, tags=ctx.tags.of("StaticRoute", route["id"])),
                         spec.command(command)["response"])


def _java_route(route: dict) -> str:
    # CloudStack quirk: messages print StaticRouteVO.toString(), "StaticRoute[uuid|cidr|gateway's id]".
    return f"StaticRoute[{route['id']}|{route['cidr']}|{route.get('_gateway_dbid', 1)}]"


def _check_access(ctx: Ctx, owner_id: str | None, what: str) -> None:
    if not ctx.caller.is_admin and owner_id != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate with "
                                f"resource {what}")


def _list_private_gateways(ctx: Ctx, p: dict) -> Listing:
    for name, kind in (("id", "privategateway"), ("vpcid", "vpc")):
        if p.get(name) and ctx.get(kind, p[name], removed=True) is None:
            raise invalid_value(ctx.command, name, p[name])
    rows = ctx.find("privategateway", account_id=ctx.scope_accounts(p))
    for name in ("id", "vpcid", "ipaddress", "vlan"):
        if p.get(name):
            rows = [g for g in rows if g.get(name) == p[name]]
    if p.get("state"):
        rows = [g for g in rows if str(g.get("state", "")).lower() == p["state"].lower()]
    rows = keyword_filter(rows, p.get("keyword"), "ipaddress", "vlan")
    return Listing([public_fields(g, spec.command("listPrivateGateways")["response"]) for g in rows])


def _create_static_route(ctx: Ctx, p: dict) -> JobStarted:
    """create-style async: the route is persisted (state Add) and checked before the job applies it."""
    gateway = ctx.get("privategateway", p["gatewayid"])
    if gateway is None:
        raise invalid_value(ctx.command, "gatewayid", p["gatewayid"])
    if gateway.get("state") != "Ready":
        raise param_error(f"Gateway is not in the Ready state: {gateway.get('state')}")
    vpc = ctx.get("vpc", gateway.get("vpcid"))
    if vpc is None or vpc.get("state") != "Enabled":
        raise param_error("Can't add static route to VPC that is being deleted")
    _check_access(ctx, vpc.get("accountid"), vpc["id"])
    try:
        cidr = ipaddress.IPv4Network(p["cidr"], strict=False)
        if "/" not in p["cidr"]:
            raise ValueError(p["cidr"])
    except ValueError:
        raise param_error(f"Invalid format for cidr {p['cidr']}") from None
    if cidr.overlaps(ipaddress.IPv4Network(vpc["cidr"])):
        raise param_error(f"CIDR should be outside of VPC cidr {vpc['cidr']}")
    if cidr.overlaps(_LINK_LOCAL):
        raise param_error(f"CIDR should be outside of link local cidr {_LINK_LOCAL}")
    for route in ctx.find("staticroute", where=lambda r: r.get("vpcid") == vpc["id"] and r["state"] != "Revoke"):
        if cidr.overlaps(ipaddress.IPv4Network(route["cidr"], strict=False)):
            raise SimError(537, f"New static route cidr conflicts with existing route {_java_route(route)}", 4360)
    route = ctx.insert("staticroute", {
        "cidr": p["cidr"], "gatewayid": gateway["id"], "vpcid": vpc["id"], "state": "Add",
        "accountid": vpc["accountid"], "account": vpc.get("account"), "domainid": vpc.get("domainid"),
        "domain": vpc.get("domain"), "_gateway_dbid": gateway.get("_dbid", 1),
    }, account_id=vpc["accountid"])
    return ctx.start_job("route_create", {"id": route["id"]}, instance_type="StaticRoute", instance_id=route["id"],
                         object_id=route["id"])


def _job_create(ctx: Ctx, args: dict) -> dict:
    route = ctx.get("staticroute", args["id"])
    if route is None:
        raise SimError(530, f"Failed to create static route {args['id']}", 4250)
    route["state"] = "Active"
    ctx.save("staticroute", route)
    return {"staticroute": _render_route(ctx, route, "createStaticRoute")}


def _delete_static_route(ctx: Ctx, p: dict) -> JobStarted:
    route = ctx.get("staticroute", p["id"])
    if route is None:
        raise invalid_value(ctx.command, "id", p["id"])
    _check_access(ctx, route.get("accountid"), route["id"])
    # The job's instance id is null (DeleteStaticRouteCmd.getApiResourceId): no jobinstancetype shown.
    return ctx.start_job("route_delete", {"id": route["id"]})


def _job_delete(ctx: Ctx, args: dict) -> Any:
    route = ctx.get("staticroute", args["id"])
    if route is None:
        raise param_error(f"Unable to find static route by id={args['id']}")
    ctx.tags.drop("StaticRoute", route["id"])
    route["state"] = "Revoke"
    ctx.save("staticroute", route)
    ctx.remove("staticroute", route["id"])
    return SUCCESS


def _list_static_routes(ctx: Ctx, p: dict) -> Listing:
    for name, kind in (("id", "staticroute"), ("vpcid", "vpc"), ("gatewayid", "privategateway")):
        if p.get(name) and ctx.get(kind, p[name], removed=True) is None:
            raise invalid_value(ctx.command, name, p[name])
    rows = ctx.find("staticroute", account_id=ctx.scope_accounts(p))
    for name in ("id", "vpcid", "gatewayid"):
        if p.get(name):
            rows = [r for r in rows if r.get(name) == p[name]]
    if p.get("state"):
        rows = [r for r in rows if r["state"].lower() == p["state"].lower()]
    rows = keyword_filter(rows, p.get("keyword"), "cidr")
    rows = ctx.tags.filter(rows, "StaticRoute", p.get("tags"))
    return Listing([_render_route(ctx, r) for r in rows])


COMMANDS = {
    "listPrivateGateways": _list_private_gateways,
    "createStaticRoute": _create_static_route,
    "deleteStaticRoute": _delete_static_route,
    "listStaticRoutes": _list_static_routes,
}
JOB_ACTIONS = {
    "route_create": _job_create,
    "route_delete": _job_delete,
}
TAG_RESOLVERS = {"StaticRoute": lambda ctx, uuid: ctx.get("staticroute", uuid),
                 "PrivateGateway": lambda ctx, uuid: ctx.get("privategateway", uuid)}
