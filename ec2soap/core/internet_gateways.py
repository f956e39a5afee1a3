"""EC2-VPC internet gateways (issue 12): CreateInternetGateway, AttachInternetGateway, DetachInternetGateway,
DeleteInternetGateway, DescribeInternetGateways.

A CloudStack VPC reaches the internet through its virtual router (source NAT on the VPC's public address, static
NAT for an Elastic IP); CloudStack has no internet-gateway object. So an EC2 internet gateway is the gateway's
own record (ctx.objects kind "igw", its `vpc` column the CloudStack VPC it is attached to, None when detached;
data {"tags": {...}}): attaching one changes nothing in CloudStack, it names what the VR already does. What that
cannot make true is refused rather than shown: a VPC without an attached gateway still reaches the internet
through its VR (a known gap, stated in the user guide), and a gateway is not detached while a route table routes
to it (EC2 would show those routes as blackhole, which the VR cannot do) or while the VPC has Elastic IPs mapped
(static NAT), as EC2 refuses. Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import Tag, caller_account
from ec2soap.core.volumes import check_new_tags
from ec2soap.core.vpc_cloud import advanced_zone
from ec2soap.errors import ERRORS

__all__ = ["attached_gateway", "account_key", "vpc_of", "listed_vpc", "records", "InternetGateway", "InternetGatewayPage",
           "IGW_FILTERS", "OPERATIONS"]

KIND = "igw"
ID_KIND = "internet-gateway"
RTB_KIND = "rtb"  # route tables (core/route_tables.py): data["routes"] items name a gateway record by "gateway"


@dataclass
class Attachment:
    vpc_id: str
    state: str = "available"


@dataclass
class InternetGateway:
    internet_gateway_id: str
    attachments: list[Attachment] = field(default_factory=list)
    owner_id: str = ""
    tags: list[Tag] = field(default_factory=list)

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


@dataclass
class InternetGatewayPage:
    internet_gateways: list[InternetGateway]
    next_token: str | None = None


IGW_FILTERS = {
    "internet-gateway-id": lambda g: g.internet_gateway_id,
    "attachment.vpc-id": lambda g: [a.vpc_id for a in g.attachments],
    "attachment.state": lambda g: [a.state for a in g.attachments],
    "owner-id": lambda g: g.owner_id,
}


async def account_key(ctx: RequestContext) -> str:
    """The caller's CloudStack account uuid: the key of every ec2_object row."""
    return str((await caller_account(ctx)).get("id") or "")


def _objects(ctx: RequestContext, action: str) -> Any:
    if ctx.objects is None:
        raise ERRORS["UnsupportedOperation"](action=f"{action} (this gateway keeps no EC2 object records)")
    return ctx.objects


async def listed_vpc(ctx: RequestContext, vpc_cs_id: str | None) -> dict | None:
    """The caller's CloudStack VPC VPC_CS_ID as listVPCs shows it (the whole listing is asked: CloudStack may
    refuse an id it no longer holds), or None."""
    if not vpc_cs_id:
        return None
    return next((v for v in await ctx.cloud.list_vp_cs(listall=True) if v.get("id") == vpc_cs_id), None)


async def vpc_of(ctx: RequestContext, vpc_id: str) -> dict:
    """The caller's CloudStack VPC that VPC_ID names, else InvalidVpcID.NotFound."""
    found = await listed_vpc(ctx, await ctx.ids.to_cloudstack("vpc", vpc_id) if vpc_id else None)
    if found is None:
        raise ERRORS["InvalidVpcID.NotFound"](vpc_id=vpc_id)
    return found


async def records(ctx: RequestContext, vpc_cs_id: str | None = None) -> list[Any]:
    """The caller's gateway records (only those attached to VPC_CS_ID when given)."""
    if ctx.objects is None:
        return []
    return await ctx.objects.list(KIND, await account_key(ctx), vpc=vpc_cs_id)


async def attached_gateway(ctx: RequestContext, vpc_cs_id: str) -> str | None:
    """The EC2 id (igw-...) of the internet gateway attached to the CloudStack VPC VPC_CS_ID, or None."""
    if not vpc_cs_id:
        return None
    found = await records(ctx, vpc_cs_id)
    return await ctx.ids.to_ec2(ID_KIND, found[0].cs_id) if found else None


async def _record(ctx: RequestContext, igw_id: str, action: str) -> Any:
    objects = _objects(ctx, action)
    cs_id = await ctx.ids.to_cloudstack(ID_KIND, igw_id) if igw_id else None
    record = await objects.get(KIND, await account_key(ctx), cs_id) if cs_id else None
    if record is None:
        raise ERRORS["InvalidInternetGatewayID.NotFound"](igw_id=igw_id)
    return record


async def _to_gateways(ctx: RequestContext, found: Sequence[Any], live_vpcs: set[str] | None) -> list[InternetGateway]:
    ids = await ctx.ids.to_ec2_many(ID_KIND, [r.cs_id for r in found])
    attached = [r.vpc for r in found if r.vpc and (live_vpcs is None or r.vpc in live_vpcs)]
    vpc_ids = await ctx.ids.to_ec2_many("vpc", attached) if attached else {}
    owner = await account_key(ctx)
    return [InternetGateway(internet_gateway_id=ids[r.cs_id], owner_id=owner,
                            attachments=[Attachment(vpc_ids[r.vpc])] if r.vpc in vpc_ids else [],
                            tags=[Tag(k, v) for k, v in (r.data.get("tags") or {}).items()]) for r in found]


async def create_internet_gateway(ctx: RequestContext,
                                  tags: Sequence[tuple[str, str | None]] = ()) -> InternetGateway:
    """CreateInternetGateway: a detached gateway record (TagSpecification applied to it). Refused on a cloud
    without an Advanced zone, where no VPC could use it."""
    objects = _objects(ctx, "CreateInternetGateway")
    new_tags = check_new_tags(tags)
    await advanced_zone(ctx, "CreateInternetGateway")
    record = await objects.create(KIND, await account_key(ctx), {"tags": {t["key"]: t["value"] for t in new_tags}})
    return (await _to_gateways(ctx, [record], None))[0]


async def _routes_to(ctx: RequestContext, vpc_cs_id: str, igw_cs_id: str) -> list[str]:
    """The EC2 ids of the route tables of VPC_CS_ID with a route to the gateway record IGW_CS_ID."""
    tables = await ctx.objects.list(RTB_KIND, await account_key(ctx), vpc=vpc_cs_id)
    using = [t.cs_id for t in tables if any(r.get("gateway") == igw_cs_id for r in t.data.get("routes") or ())]
    return sorted((await ctx.ids.to_ec2_many("route-table", using)).values()) if using else []


async def attach_internet_gateway(ctx: RequestContext, internet_gateway_id: str = "", vpc_id: str = "") -> bool:
    """AttachInternetGateway: the record names the VPC (one gateway per VPC, one VPC per gateway, as EC2)."""
    record = await _record(ctx, internet_gateway_id, "AttachInternetGateway")
    vpc = await vpc_of(ctx, vpc_id)
    for _ in range(5):
        if record.vpc == vpc["id"]:
            raise ERRORS["Resource.AlreadyAssociated"](
                f"resource {internet_gateway_id} is already attached to network {vpc_id}")
        if await listed_vpc(ctx, record.vpc):
            other = await ctx.ids.to_ec2("vpc", record.vpc)
            raise ERRORS["Resource.AlreadyAssociated"](
                f"resource {internet_gateway_id} is already attached to network {other}")
        holder = await attached_gateway(ctx, vpc["id"])
        if holder is not None:
            raise ERRORS["Resource.AlreadyAssociated"](
                f"resource {vpc_id} is already attached to internet gateway {holder}")
        if await ctx.objects.update(record, record.data, vpc=vpc["id"]):
            break
        record = await _record(ctx, internet_gateway_id, "AttachInternetGateway")
    else:
        raise ERRORS["IncorrectState"](detail=f"{internet_gateway_id} is being changed by another request; retry")
    # Two requests may attach two gateways to one VPC at once: the oldest record keeps it, the other undoes.
    holders = await records(ctx, vpc["id"])
    if len(holders) > 1 and holders[0].cs_id != record.cs_id:
        await ctx.objects.update(record, record.data, vpc=None)
        winner = await ctx.ids.to_ec2(ID_KIND, holders[0].cs_id)
        raise ERRORS["Resource.AlreadyAssociated"](
            f"resource {vpc_id} is already attached to internet gateway {winner}")
    return True


async def detach_internet_gateway(ctx: RequestContext, internet_gateway_id: str = "", vpc_id: str = "") -> bool:
    """DetachInternetGateway: refused while the VPC has Elastic IPs mapped (static NAT) or route tables route to
    the gateway (the VR keeps routing to the internet, so EC2's blackhole routes would be a lie)."""
    record = await _record(ctx, internet_gateway_id, "DetachInternetGateway")
    vpc = await vpc_of(ctx, vpc_id)
    if record.vpc != vpc["id"]:
        raise ERRORS["Gateway.NotAttached"](
            detail=f"resource {internet_gateway_id} is not attached to network {vpc_id}")
    mapped = [ip for ip in await ctx.cloud.list_public_ip_addresses(vpcid=vpc["id"], isstaticnat=True, listall=True)
              if ip.get("vpcid") == vpc["id"] and ip.get("isstaticnat")]
    if mapped:
        raise ERRORS["DependencyViolation"](
            detail=f"Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) "
                   f"before detaching the gateway.")
    tables = await _routes_to(ctx, vpc["id"], record.cs_id)
    if tables:
        raise ERRORS["DependencyViolation"](
            detail=f"The internet gateway {internet_gateway_id} has routes in {', '.join(tables)}; delete them "
                   f"first (this cloud's virtual router cannot blackhole them)")
    while not await ctx.objects.update(record, record.data, vpc=None):
        record = await _record(ctx, internet_gateway_id, "DetachInternetGateway")
        if record.vpc != vpc["id"]:
            raise ERRORS["Gateway.NotAttached"](
                detail=f"resource {internet_gateway_id} is not attached to network {vpc_id}")
    return True


async def delete_internet_gateway(ctx: RequestContext, internet_gateway_id: str = "") -> bool:
    """DeleteInternetGateway: an attached gateway (to a VPC that still exists) is DependencyViolation."""
    while True:
        record = await _record(ctx, internet_gateway_id, "DeleteInternetGateway")
        if await listed_vpc(ctx, record.vpc):
            raise ERRORS["DependencyViolation"](
                detail=f"The internetGateway '{internet_gateway_id}' has dependencies and cannot be deleted.")
        if await ctx.objects.delete(record):
            return True


async def describe_internet_gateways(ctx: RequestContext, internet_gateway_ids: Sequence[str] = (),
                                     filters: Sequence[Filter] = (), max_results: int | None = None,
                                     next_token: str | None = None) -> InternetGatewayPage:
    """DescribeInternetGateways: the caller's records; an attachment to a VPC CloudStack no longer lists is
    not shown."""
    objects = _objects(ctx, "DescribeInternetGateways")
    found = await objects.list(KIND, await account_key(ctx))
    if internet_gateway_ids:
        wanted = await ctx.ids.to_cloudstack_many(ID_KIND, internet_gateway_ids)
        present = {r.cs_id for r in found}
        for given, cs_id in wanted.items():
            if cs_id is None or cs_id not in present:
                raise ERRORS["InvalidInternetGatewayID.NotFound"](igw_id=given)
        found = [r for r in found if r.cs_id in set(wanted.values())]
    live = {v["id"] for v in await ctx.cloud.list_vp_cs(listall=True)} if any(r.vpc for r in found) else set()
    gateways = apply_filters(IGW_FILTERS, filters, await _to_gateways(ctx, found, live))
    gateways.sort(key=lambda g: g.internet_gateway_id)
    page, token = paginate(gateways, max_results, next_token, minimum=5, maximum=1000)
    return InternetGatewayPage(page, token)


OPERATIONS: dict[str, Any] = {
    "CreateInternetGateway": create_internet_gateway,
    "AttachInternetGateway": attach_internet_gateway,
    "DetachInternetGateway": detach_internet_gateway,
    "DeleteInternetGateway": delete_internet_gateway,
    "DescribeInternetGateways": describe_internet_gateways,
}
