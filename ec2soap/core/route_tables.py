"""EC2-VPC route tables (issue 12): CreateRouteTable, DeleteRouteTable, DescribeRouteTables, AssociateRouteTable,
DisassociateRouteTable, ReplaceRouteTableAssociation, and the routes (core/route_table_routes.py).

Route tables are the gateway's own records (core/route_table_model.py has their layout). What CloudStack cannot
enforce, said plainly: a VPC's virtual router routes every tier alike (the VPC's CIDR locally, static routes to
private gateways, everything else to the internet through its source NAT), so a subnet's table decides nothing
the cloud does; a subnet whose table has no 0.0.0.0/0 route still reaches the internet. What would be a lie in a
table is refused (core/route_table_routes.py); the rest is EC2's bookkeeping, kept exactly.
For DeleteVpc: vpc_blockers (the non-main tables) and forget_vpc (drop the main one); for DeleteSubnet:
forget_subnet (route_table_model's, which core/vpcs.py calls). Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.internet_gateways import account_key, vpc_of
from ec2soap.core.route_table_model import (ASSOC_KIND, ID_KIND, KIND, AssociationState, RouteTable, drop_association,
                                            ensure_main, forget_subnet, new_data, objects_of, static_routes,
                                            subnet_holder, table_record, to_route_tables)
from ec2soap.core.route_table_routes import ROUTE_OPERATIONS
from ec2soap.core.volumes import check_new_tags
from ec2soap.errors import ERRORS

__all__ = ["RouteTablePage", "CreatedRouteTable", "NewAssociation", "ReplacedAssociation", "ROUTE_TABLE_FILTERS",
           "vpc_blockers", "forget_vpc", "forget_subnet", "main_route_table", "OPERATIONS"]


@dataclass
class RouteTablePage:
    route_tables: list[RouteTable]
    next_token: str | None = None


@dataclass
class CreatedRouteTable:
    route_table: RouteTable
    client_token: str | None = None


@dataclass
class NewAssociation:
    association_id: str
    association_state: AssociationState


@dataclass
class ReplacedAssociation:
    new_association_id: str
    association_state: AssociationState


def _none(_: Any) -> list[str]:
    return []


ROUTE_TABLE_FILTERS = {
    "route-table-id": lambda t: t.route_table_id,
    "vpc-id": lambda t: t.vpc_id,
    "owner-id": lambda t: t.owner_id,
    "association.route-table-association-id": lambda t: [a.route_table_association_id for a in t.associations],
    "association.route-table-id": lambda t: [a.route_table_id for a in t.associations],
    "association.subnet-id": lambda t: [a.subnet_id for a in t.associations if a.subnet_id],
    "association.main": lambda t: "true" if any(a.main for a in t.associations) else "false",
    "association.gateway-id": _none,
    "route.destination-cidr-block": lambda t: [r.destination_cidr_block for r in t.routes],
    "route.gateway-id": lambda t: [r.gateway_id for r in t.routes],
    "route.origin": lambda t: [r.origin for r in t.routes],
    "route.state": lambda t: [r.state for r in t.routes],
    # Targets this cloud never has (refused by CreateRoute): valid EC2 filters that match nothing.
    **{f"route.{name}": _none for name in (
        "destination-ipv6-cidr-block", "destination-prefix-list-id", "egress-only-internet-gateway-id",
        "instance-id", "nat-gateway-id", "transit-gateway-id", "vpc-peering-connection-id")},
}


async def _tables_by_vpc(ctx: RequestContext, vpcs: dict[str, dict]) -> list[Any]:
    """The caller's route table records of the VPCs CloudStack lists, each VPC's main one made if missing."""
    records = [r for r in await ctx.objects.list(KIND, await account_key(ctx)) if r.vpc in vpcs]
    for vpc_cs_id in vpcs:
        mine = [r for r in records if r.vpc == vpc_cs_id]
        if not any(r.data.get("main") for r in mine):
            records.append(await ensure_main(ctx, vpc_cs_id, mine))
    return records


async def _live_subnets(ctx: RequestContext) -> set[str]:
    return {n["id"] for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid")}


async def _view(ctx: RequestContext, record: Any, vpc: dict) -> RouteTable:
    statics = await static_routes(ctx, vpc["id"])
    return (await to_route_tables(ctx, [record], {vpc["id"]: vpc}, statics, await _live_subnets(ctx)))[0]


async def describe_route_tables(ctx: RequestContext, route_table_ids: Sequence[str] = (),
                                filters: Sequence[Filter] = (), max_results: int | None = None,
                                next_token: str | None = None) -> RouteTablePage:
    """DescribeRouteTables: every VPC of the caller's has its main table (made when first seen)."""
    objects_of(ctx, "DescribeRouteTables")
    vpcs = {v["id"]: v for v in await ctx.cloud.list_vp_cs(listall=True)}
    records = await _tables_by_vpc(ctx, vpcs)
    if route_table_ids:
        wanted = await ctx.ids.to_cloudstack_many(ID_KIND, route_table_ids)
        present = {r.cs_id for r in records}
        for given, cs_id in wanted.items():
            if cs_id is None or cs_id not in present:
                raise ERRORS["InvalidRouteTableID.NotFound"](route_table_id=given)
        records = [r for r in records if r.cs_id in set(wanted.values())]
    statics = await static_routes(ctx) if records else {}
    live = await _live_subnets(ctx) if any(r.data.get("associations") for r in records) else set()
    tables = apply_filters(ROUTE_TABLE_FILTERS, filters, await to_route_tables(ctx, records, vpcs, statics, live))
    tables.sort(key=lambda t: t.route_table_id)
    page, token = paginate(tables, max_results, next_token, minimum=5, maximum=100)
    return RouteTablePage(page, token)


async def create_route_table(ctx: RequestContext, vpc_id: str = "", tags: Sequence[tuple[str, str | None]] = (),
                             client_token: str | None = None) -> CreatedRouteTable:
    """CreateRouteTable: a custom table with the local route only. A ClientToken already used answers the table
    it made (IdempotentParameterMismatch when the VPC or tags differ)."""
    objects = objects_of(ctx, "CreateRouteTable")
    new_tags = {t["key"]: t["value"] for t in check_new_tags(tags)}
    vpc = await vpc_of(ctx, vpc_id)
    account = await account_key(ctx)
    tables = await objects.list(KIND, account, vpc=vpc["id"])
    await ensure_main(ctx, vpc["id"], tables)
    if client_token:
        if len(client_token) > 64:
            raise ERRORS["InvalidParameterValue"](detail="ClientToken is longer than 64 characters")
        same = [r for r in await objects.list(KIND, account) if r.data.get("client_token") == client_token]
        if same:
            if same[0].vpc != vpc["id"] or same[0].data.get("tags") != new_tags:
                raise ERRORS["IdempotentParameterMismatch"](
                    detail=f"The client token {client_token} was used by another request with other parameters")
            return CreatedRouteTable(await _view(ctx, same[0], vpc), client_token)
    record = await objects.create(KIND, account, new_data(tags=new_tags, client_token=client_token), vpc=vpc["id"])
    return CreatedRouteTable(await _view(ctx, record, vpc), client_token)


async def delete_route_table(ctx: RequestContext, route_table_id: str = "") -> bool:
    """DeleteRouteTable: the main table goes only with its VPC; a table with subnets is DependencyViolation."""
    while True:
        record = await table_record(ctx, route_table_id, "DeleteRouteTable")
        live = await _live_subnets(ctx) if record.data.get("associations") else set()
        if record.data.get("main") or any(s in live for s in record.data.get("associations") or {}):
            raise ERRORS["DependencyViolation"](
                detail=f"The routeTable '{route_table_id}' has dependencies and cannot be deleted.")
        if await ctx.objects.delete(record):
            return True


async def _subnet(ctx: RequestContext, subnet_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("subnet", subnet_id) if subnet_id else None
    found = [n for n in await ctx.cloud.list_networks(id=cs_id, listall=True)
             if n.get("vpcid") and n.get("id") == cs_id] if cs_id else []
    if not found:
        raise ERRORS["InvalidSubnetID.NotFound"](subnet_id=subnet_id)
    return found[0]


async def _add_association(ctx: RequestContext, route_table_id: str, subnet_cs_id: str, action: str) -> str:
    """Add SUBNET_CS_ID to the table's associations (compare-and-set); its new association uuid."""
    assoc = str(uuid.uuid4())
    while True:
        record = await table_record(ctx, route_table_id, action)
        data = dict(record.data, associations={**(record.data.get("associations") or {}), subnet_cs_id: assoc})
        if await ctx.objects.update(record, data):
            return assoc


async def associate_route_table(ctx: RequestContext, route_table_id: str = "", subnet_id: str | None = None,
                                gateway_id: str | None = None,
                                public_ipv4_pool: str | None = None) -> NewAssociation:
    """AssociateRouteTable: a subnet of the table's VPC, not explicitly associated yet. Gateway (edge)
    associations and public IPv4 pools are refused: the VR has no such ingress routing."""
    if gateway_id:
        raise ERRORS["InvalidParameterValue"](
            detail="Gateway (edge) route table associations are not supported on this cloud: a VPC's virtual "
                   "router routes inbound traffic itself")
    if public_ipv4_pool:
        raise ERRORS["InvalidParameterValue"](detail="Public IPv4 pools are not supported on this cloud")
    if not subnet_id:
        raise ERRORS["MissingParameter"](name="SubnetId")
    record = await table_record(ctx, route_table_id, "AssociateRouteTable")
    tier = await _subnet(ctx, subnet_id)
    if tier["vpcid"] != record.vpc:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Route table {route_table_id} and subnet {subnet_id} belong to different networks")
    held = await subnet_holder(ctx, tier["id"], tier["vpcid"])
    if held is not None:
        raise ERRORS["Resource.AlreadyAssociated"](address=subnet_id,
                                                   association_id=await ctx.ids.to_ec2(ASSOC_KIND, held[1]))
    assoc = await _add_association(ctx, route_table_id, tier["id"], "AssociateRouteTable")
    # Two requests may associate one subnet with two tables at once: the smaller association id keeps it.
    holders = [(a, r) for r in await ctx.objects.list(KIND, record.account, vpc=record.vpc)
               for s, a in (r.data.get("associations") or {}).items() if s == tier["id"]]
    if len(holders) > 1 and min(holders, key=lambda h: h[0])[0] != assoc:
        mine = next(r for a, r in holders if a == assoc)
        await drop_association(ctx, mine, tier["id"], assoc)
        kept = min(holders, key=lambda h: h[0])[0]
        raise ERRORS["Resource.AlreadyAssociated"](address=subnet_id,
                                                   association_id=await ctx.ids.to_ec2(ASSOC_KIND, kept))
    return NewAssociation(await ctx.ids.to_ec2(ASSOC_KIND, assoc), AssociationState())


async def _association(ctx: RequestContext, association_id: str, action: str) -> tuple[Any, str | None, str]:
    """(record, subnet uuid or None for the main association, association uuid) that ASSOCIATION_ID names."""
    objects = objects_of(ctx, action)
    cs_id = await ctx.ids.to_cloudstack(ASSOC_KIND, association_id) if association_id else None
    if cs_id:
        for record in await objects.list(KIND, await account_key(ctx)):
            if record.data.get("main") and record.data.get("main_association") == cs_id:
                return record, None, cs_id
            for subnet, assoc in (record.data.get("associations") or {}).items():
                if assoc == cs_id:
                    return record, subnet, cs_id
    raise ERRORS["InvalidAssociationID.NotFound"](association_id=association_id)


async def disassociate_route_table(ctx: RequestContext, association_id: str = "") -> bool:
    """DisassociateRouteTable: the subnet falls back to the main table; the main association stays."""
    record, subnet, assoc = await _association(ctx, association_id, "DisassociateRouteTable")
    if subnet is None:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Cannot disassociate the main route table association {association_id}")
    await drop_association(ctx, record, subnet, assoc)
    return True


async def _set_main(ctx: RequestContext, record: Any, main: bool, assoc: str | None) -> None:
    while True:
        if await ctx.objects.update(record, dict(record.data, main=main, main_association=assoc)):
            return
        record = await ctx.objects.get(KIND, record.account, record.cs_id)
        if record is None:
            raise ERRORS["InvalidRouteTableID.NotFound"](route_table_id="(deleted meanwhile)")


async def replace_route_table_association(ctx: RequestContext, association_id: str = "",
                                          route_table_id: str = "") -> ReplacedAssociation:
    """ReplaceRouteTableAssociation: the subnet (or, for the main association, the VPC's main role) moves to
    ROUTE_TABLE_ID of the same VPC under a new association id."""
    old, subnet, assoc = await _association(ctx, association_id, "ReplaceRouteTableAssociation")
    target = await table_record(ctx, route_table_id, "ReplaceRouteTableAssociation")
    if target.vpc != old.vpc:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Route table {route_table_id} belongs to another network than association {association_id}")
    if subnet is None:
        new = str(uuid.uuid4())
        await _set_main(ctx, target, True, new)
        if target.cs_id != old.cs_id:
            fresh = await ctx.objects.get(KIND, old.account, old.cs_id)
            if fresh is not None:
                await _set_main(ctx, fresh, False, None)
    else:
        new = await _add_association(ctx, route_table_id, subnet, "ReplaceRouteTableAssociation")
        fresh = await ctx.objects.get(KIND, old.account, old.cs_id)
        if fresh is not None:
            await drop_association(ctx, fresh, subnet, assoc)
    return ReplacedAssociation(await ctx.ids.to_ec2(ASSOC_KIND, new), AssociationState())


# -- for DeleteVpc and DeleteSubnet (core/vpcs.py) ------------------------------------------------------------------
async def vpc_blockers(ctx: RequestContext, vpc_cs_id: str) -> list[str]:
    """The EC2 ids of VPC_CS_ID's route tables other than its main one: DeleteVpc is DependencyViolation while
    any is left."""
    if ctx.objects is None:
        return []
    custom = [r.cs_id for r in await ctx.objects.list(KIND, await account_key(ctx), vpc=vpc_cs_id)
              if not r.data.get("main")]
    return sorted((await ctx.ids.to_ec2_many(ID_KIND, custom)).values()) if custom else []


async def forget_vpc(ctx: RequestContext, vpc_cs_id: str) -> None:
    """Drop VPC_CS_ID's route table records (its main table) once CloudStack has deleted the VPC."""
    if ctx.objects is None:
        return
    for record in await ctx.objects.list(KIND, await account_key(ctx), vpc=vpc_cs_id):
        await ctx.objects.delete(record, any_version=True)


async def main_route_table(ctx: RequestContext, vpc_cs_id: str) -> str | None:
    """The EC2 id of VPC_CS_ID's main route table, made now if the VPC has none (None without records)."""
    if ctx.objects is None:
        return None
    return await ctx.ids.to_ec2(ID_KIND, (await ensure_main(ctx, vpc_cs_id)).cs_id)


OPERATIONS: dict[str, Any] = {
    "CreateRouteTable": create_route_table,
    "DeleteRouteTable": delete_route_table,
    "DescribeRouteTables": describe_route_tables,
    "AssociateRouteTable": associate_route_table,
    "DisassociateRouteTable": disassociate_route_table,
    "ReplaceRouteTableAssociation": replace_route_table_association,
    **ROUTE_OPERATIONS,
}
