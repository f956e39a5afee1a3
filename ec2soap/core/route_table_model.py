"""EC2-VPC route tables (issue 12): the records, the EC2 view of them and the lookups that core/route_tables.py
(tables, associations) and core/route_table_routes.py (routes) share.

A route table is the gateway's own record (ctx.objects kind "rtb", its `vpc` column the CloudStack VPC uuid):
    data = {"main": bool,                      # the VPC's main table (exactly one per VPC)
            "main_association": uuid | None,   # the main association's id (rtbassoc kind) while main
            "routes": [{"cidr", "gateway", "origin"}],   # routes to an internet gateway ("gateway": its record id)
            "associations": {subnet cs uuid: association uuid},
            "tags": {key: value}, "client_token": str | None}
The local route (the VPC's CIDR) is never stored: every table shows it. Routes to a CloudStack private gateway are
CloudStack static routes (listStaticRoutes by VPC): CloudStack applies them on the VPC's virtual router for every
tier, so every table of the VPC shows them, as the cloud routes. A VPC's main table is made on first need (its
id derived from the VPC's, so two requests making it at once make one). Core: no Twisted, Spyne, lxml or SQL.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.internet_gateways import account_key
from ec2soap.core.model import Tag
from ec2soap.errors import ERRORS

__all__ = ["KIND", "ID_KIND", "ASSOC_KIND", "Route", "RouteTable", "Association", "AssociationState",
           "objects_of", "table_record", "ensure_main", "static_routes", "to_route_tables", "new_data", "subnet_holder",
           "drop_association", "forget_subnet"]

KIND = "rtb"
ID_KIND = "route-table"
ASSOC_KIND = "route-table-association"
IGW_KIND, IGW_ID_KIND = "igw", "internet-gateway"
_NAMESPACE = uuid.UUID("6f1d7c36-8e0a-4b8e-9a55-2f1b3c1e0d12")


@dataclass
class Route:
    destination_cidr_block: str
    gateway_id: str
    state: str = "active"
    origin: str = "CreateRoute"


@dataclass
class AssociationState:
    state: str = "associated"


@dataclass
class Association:
    route_table_association_id: str
    route_table_id: str
    main: bool = False
    subnet_id: str | None = None
    association_state: AssociationState = field(default_factory=AssociationState)


@dataclass
class RouteTable:
    route_table_id: str
    vpc_id: str
    owner_id: str = ""
    routes: list[Route] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


def new_data(main: bool = False, tags: dict | None = None, client_token: str | None = None) -> dict[str, Any]:
    return {"main": main, "main_association": str(uuid.uuid4()) if main else None, "routes": [],
            "associations": {}, "tags": dict(tags or {}), "client_token": client_token}


def objects_of(ctx: RequestContext, action: str) -> Any:
    if ctx.objects is None:
        raise ERRORS["UnsupportedOperation"](action=f"{action} (this gateway keeps no EC2 object records)")
    return ctx.objects


async def table_record(ctx: RequestContext, route_table_id: str, action: str) -> Any:
    """The caller's route table record that ROUTE_TABLE_ID names, else InvalidRouteTableID.NotFound."""
    objects = objects_of(ctx, action)
    cs_id = await ctx.ids.to_cloudstack(ID_KIND, route_table_id) if route_table_id else None
    record = await objects.get(KIND, await account_key(ctx), cs_id) if cs_id else None
    if record is None:
        raise ERRORS["InvalidRouteTableID.NotFound"](route_table_id=route_table_id)
    return record


async def ensure_main(ctx: RequestContext, vpc_cs_id: str, tables: Sequence[Any] | None = None) -> Any:
    """VPC_CS_ID's main route table record, made now if it has none (TABLES: the VPC's records, if read)."""
    account = await account_key(ctx)
    if tables is None:
        tables = await ctx.objects.list(KIND, account, vpc=vpc_cs_id)
    main = next((t for t in tables if t.data.get("main")), None)
    if main is not None:
        return main
    data = new_data(main=True)
    data["main_association"] = str(uuid.uuid5(_NAMESPACE, f"main-association:{vpc_cs_id}"))
    try:
        return await ctx.objects.create(KIND, account, data, vpc=vpc_cs_id,
                                        cs_id=str(uuid.uuid5(_NAMESPACE, f"main:{vpc_cs_id}")))
    except Exception:
        # Another request made it first (the same derived id): use theirs.
        again = [t for t in await ctx.objects.list(KIND, account, vpc=vpc_cs_id) if t.data.get("main")]
        if again:
            return again[0]
        raise


async def static_routes(ctx: RequestContext, vpc_cs_id: str | None = None) -> dict[str, list[dict]]:
    """CloudStack's static routes of the caller's VPCs (only VPC_CS_ID's when given), by VPC uuid."""
    found: dict[str, list[dict]] = {}
    rows = await ctx.cloud.list_static_routes(vpcid=vpc_cs_id, listall=True) if vpc_cs_id else \
        await ctx.cloud.list_static_routes(listall=True)
    for route in rows:
        if str(route.get("state", "")) not in ("Revoke",):
            found.setdefault(str(route.get("vpcid", "")), []).append(route)
    return found


async def to_route_tables(ctx: RequestContext, records: Sequence[Any], vpcs: dict[str, dict],
                          statics: dict[str, list[dict]], live_subnets: set[str] | None) -> list[RouteTable]:
    """The EC2 view of RECORDS (their VPCs in VPCS by uuid; STATICS by VPC uuid); associations of subnets not in
    LIVE_SUBNETS (when given) are left out: CloudStack no longer has those tiers."""
    def subnets_of(r: Any) -> Iterable[tuple[str, str]]:
        return [(s, a) for s, a in (r.data.get("associations") or {}).items()
                if live_subnets is None or s in live_subnets]

    rtb_ids = await ctx.ids.to_ec2_many(ID_KIND, [r.cs_id for r in records])
    vpc_ids = await ctx.ids.to_ec2_many("vpc", sorted({r.vpc for r in records if r.vpc}))
    subnet_cs = sorted({s for r in records for s, _ in subnets_of(r)})
    subnet_ids = await ctx.ids.to_ec2_many("subnet", subnet_cs) if subnet_cs else {}
    assoc_cs = [a for r in records for _, a in subnets_of(r)] + \
        [r.data["main_association"] for r in records if r.data.get("main") and r.data.get("main_association")]
    assoc_ids = await ctx.ids.to_ec2_many(ASSOC_KIND, assoc_cs) if assoc_cs else {}
    igw_cs = sorted({route["gateway"] for r in records for route in r.data.get("routes") or ()})
    igw_ids = await ctx.ids.to_ec2_many(IGW_ID_KIND, igw_cs) if igw_cs else {}
    attached = {g.cs_id: g.vpc for g in await ctx.objects.list(IGW_KIND, await account_key(ctx), cs_ids=igw_cs)} \
        if igw_cs else {}
    owner = await account_key(ctx)
    out = []
    for r in records:
        rtb_id = rtb_ids[r.cs_id]
        vpc = vpcs.get(r.vpc or "", {})
        routes = [Route(vpc.get("cidr", ""), "local", "active", "CreateRouteTable")]
        for route in r.data.get("routes") or ():
            state = "active" if attached.get(route["gateway"]) == r.vpc else "blackhole"
            routes.append(Route(route["cidr"], igw_ids.get(route["gateway"], ""), state,
                                route.get("origin", "CreateRoute")))
        for static in statics.get(r.vpc or "", ()):
            routes.append(Route(static.get("cidr", ""), static.get("gatewayid", ""),
                                "active" if static.get("state") == "Active" else "blackhole"))
        routes[1:] = sorted(routes[1:], key=lambda x: x.destination_cidr_block)
        associations = [Association(assoc_ids[a], rtb_id, subnet_id=subnet_ids[s]) for s, a in subnets_of(r)]
        if r.data.get("main") and r.data.get("main_association"):
            associations.insert(0, Association(assoc_ids[r.data["main_association"]], rtb_id, main=True))
        out.append(RouteTable(route_table_id=rtb_id, vpc_id=vpc_ids.get(r.vpc or "", ""), owner_id=owner,
                              routes=routes, associations=associations,
                              tags=[Tag(k, v) for k, v in (r.data.get("tags") or {}).items()]))
    return out


async def subnet_holder(ctx: RequestContext, subnet_cs_id: str, vpc_cs_id: str) -> tuple[Any, str] | None:
    """(the table record, the association uuid) of the subnet's explicit association, or None (the main table)."""
    for record in await ctx.objects.list(KIND, await account_key(ctx), vpc=vpc_cs_id):
        assoc = (record.data.get("associations") or {}).get(subnet_cs_id)
        if assoc:
            return record, assoc
    return None


async def drop_association(ctx: RequestContext, record: Any, subnet_cs_id: str, assoc: str) -> None:
    while (record.data.get("associations") or {}).get(subnet_cs_id) == assoc:
        data = dict(record.data, associations={s: a for s, a in record.data["associations"].items()
                                               if s != subnet_cs_id})
        if await ctx.objects.update(record, data):
            return
        record = await ctx.objects.get(KIND, record.account, record.cs_id)
        if record is None:
            return


async def forget_subnet(ctx: RequestContext, subnet_cs_id: str, vpc_cs_id: str) -> None:
    """Drop the subnet's explicit association once CloudStack has deleted the tier (EC2 removes it too)."""
    if ctx.objects is None:
        return
    held = await subnet_holder(ctx, subnet_cs_id, vpc_cs_id)
    if held is not None:
        await drop_association(ctx, held[0], subnet_cs_id, held[1])
