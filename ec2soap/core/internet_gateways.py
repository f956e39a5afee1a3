"""EC2-VPC internet gateways (issue 12).

A CloudStack VPC reaches the internet through its virtual router (source NAT on the VPC's public address, static
NAT for an Elastic IP); CloudStack has no internet-gateway object. So an EC2 internet gateway is the gateway's
own record (ctx.objects kind "igw", its `vpc` column the CloudStack VPC it is attached to, None when detached;
data {"tags": {...}}): attaching one changes nothing in CloudStack, it states what the VR already does.
Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

from typing import Any

from ec2soap.core.context import RequestContext
from ec2soap.core.model import caller_account

__all__ = ["attached_gateway", "OPERATIONS"]

KIND = "igw"
ID_KIND = "internet-gateway"


async def account_key(ctx: RequestContext) -> str:
    """The caller's CloudStack account uuid: the key of every ec2_object row."""
    return str((await caller_account(ctx)).get("id") or "")


async def attached_gateway(ctx: RequestContext, vpc_cs_id: str) -> str | None:
    """The EC2 id (igw-...) of the internet gateway attached to the CloudStack VPC VPC_CS_ID, or None."""
    if ctx.objects is None or not vpc_cs_id:
        return None
    found = await ctx.objects.list(KIND, await account_key(ctx), vpc=vpc_cs_id)
    return await ctx.ids.to_ec2(ID_KIND, found[0].cs_id) if found else None


OPERATIONS: dict[str, Any] = {}
