"""Security groups of EC2 VPCs (issue 12), the gateway's own records: CloudStack 4.18 puts no security group on a
VPC tier, so a VPC group is an ec2_object row (ctx.objects kind "sg", its `vpc` the CloudStack VPC uuid, data
{"default": bool, "name", "description", "tags": {key: value}}) and its sg- id comes from the IdMap.

Rules: the cloud cannot enforce a VPC group's rules (its tiers are filtered by network ACLs only), so every
Authorize/Revoke on a VPC group is refused, naming the network ACL as the way, and a VPC group holds no rule.
core/security_groups.py dispatches here for VpcId and for the sg- ids of these records. Core: no Twisted, Spyne,
lxml or SQL here.
"""
from __future__ import annotations

from typing import Any

from ec2soap.core.context import RequestContext
from ec2soap.core.model import Tag, caller_account
from ec2soap.core.security_group_model import DEFAULT_GROUP, CreatedSecurityGroup, SecurityGroup
from ec2soap.errors import ERRORS

__all__ = ["KIND", "ensure_default_group", "vpc_groups", "find_record", "create_vpc_group", "delete_vpc_group",
           "refuse_rules", "vpc_blockers", "forget_vpc"]

KIND = "sg"
_ENI_KIND = "eni"  # the instances family's interface records: data["groups"] holds sg record ids


async def _account(ctx: RequestContext) -> str:
    return str((await caller_account(ctx)).get("id") or "")


def _objects(ctx: RequestContext, action: str) -> Any:
    if ctx.objects is None:
        raise ERRORS["UnsupportedOperation"](action=f"{action} with a VpcId (this gateway keeps no EC2 object "
                                                    f"records)")
    return ctx.objects


async def ensure_default_group(ctx: RequestContext, vpc_cs_id: str) -> str | None:
    """The record id (its cs_id) of the VPC's `default` group, made on first need; None without object records.
    Two requests making it at once keep the older record."""
    if ctx.objects is None:
        return None
    account = await _account(ctx)
    found = [r for r in await ctx.objects.list(KIND, account, vpc=vpc_cs_id) if r.data.get("default")]
    if found:
        return found[0].cs_id
    made = await ctx.objects.create(KIND, account, {"default": True, "name": DEFAULT_GROUP,
                                                    "description": "default VPC security group", "tags": {}},
                                    vpc=vpc_cs_id)
    found = [r for r in await ctx.objects.list(KIND, account, vpc=vpc_cs_id) if r.data.get("default")]
    if found and found[0].cs_id != made.cs_id:
        await ctx.objects.delete(made, any_version=True)
        return found[0].cs_id
    return made.cs_id


async def vpc_groups(ctx: RequestContext, vpcs: dict[str, dict]) -> list[SecurityGroup]:
    """The caller's VPC groups of VPCS (CloudStack VPC uuid → listVPCs row), each VPC's default made first."""
    if ctx.objects is None or not vpcs:
        return []
    for vpc_cs_id in vpcs:
        await ensure_default_group(ctx, vpc_cs_id)
    records = [r for r in await ctx.objects.list(KIND, await _account(ctx)) if r.vpc in vpcs]
    if not records:
        return []
    ids = await ctx.ids.to_ec2_many("security-group", [r.cs_id for r in records])
    vpc_ids = await ctx.ids.to_ec2_many("vpc", list({str(r.vpc) for r in records}))
    me = await caller_account(ctx)
    return [SecurityGroup(owner_id=str(me.get("id") or ""), group_name=str(r.data.get("name", "")),
                          group_description=str(r.data.get("description", "")), ip_permissions=[],
                          group_id=ids[r.cs_id], ip_permissions_egress=[],
                          tags=[Tag(k, v) for k, v in (r.data.get("tags") or {}).items()], cs_id=r.cs_id,
                          vpc_id=vpc_ids[str(r.vpc)]) for r in records]


async def find_record(ctx: RequestContext, cs_id: str) -> Any:
    """The caller's VPC group record with this cs_id, or None (then it may be an EC2-Classic group)."""
    if ctx.objects is None:
        return None
    return await ctx.objects.get(KIND, await _account(ctx), cs_id)


async def create_vpc_group(ctx: RequestContext, vpc_id: str, group_name: str, group_description: str,
                           new_tags: list[dict]) -> CreatedSecurityGroup:
    """CreateSecurityGroup with VpcId: a record of the VPC (names are unique within a VPC, as EC2 has them)."""
    objects = _objects(ctx, "CreateSecurityGroup")
    vpc_cs_id = await ctx.ids.to_cloudstack("vpc", vpc_id)
    if vpc_cs_id is None or not any(v["id"] == vpc_cs_id for v in await ctx.cloud.list_vp_cs(listall=True)):
        raise ERRORS["InvalidVpcID.NotFound"](vpc_id=vpc_id)
    await ensure_default_group(ctx, vpc_cs_id)
    account = await _account(ctx)
    if any(r.data.get("name") == group_name for r in await objects.list(KIND, account, vpc=vpc_cs_id)):
        raise ERRORS["InvalidGroup.Duplicate"](group=group_name)
    record = await objects.create(KIND, account, {"default": False, "name": group_name,
                                                  "description": group_description,
                                                  "tags": {t["key"]: t.get("value", "") for t in new_tags}},
                                  vpc=vpc_cs_id)
    return CreatedSecurityGroup(await ctx.ids.to_ec2("security-group", record.cs_id))


async def _in_use(ctx: RequestContext, record: Any) -> bool:
    """Whether a live VPC instance's interface was launched with the group (its interface record says so)."""
    holders = [r for r in await ctx.objects.list(_ENI_KIND, record.account)
               if record.cs_id in (r.data.get("groups") or ())]
    if not holders:
        return False
    live = {nic.get("id") for vm in await ctx.cloud.list_virtual_machines(listall=True)
            if str(vm.get("state", "")).lower() not in ("destroyed", "expunging", "expunged")
            for nic in vm.get("nic") or ()}
    return any(r.cs_id in live for r in holders)


async def delete_vpc_group(ctx: RequestContext, record: Any, given: str) -> bool:
    """DeleteSecurityGroup of a VPC group: the VPC's default is CannotDelete, one an instance uses
    DependencyViolation."""
    if record.data.get("default"):
        raise ERRORS["CannotDelete"](group=DEFAULT_GROUP)
    if await _in_use(ctx, record):
        raise ERRORS["DependencyViolation"](detail=f"resource {given} has a dependent object")
    await ctx.objects.delete(record, any_version=True)
    return True


def refuse_rules(group: str) -> Exception:
    return ERRORS["OperationNotPermitted"](
        detail=f"The security group '{group}' is a VPC security group, whose rules this cloud cannot enforce "
               f"(CloudStack VPC tiers have no security groups). Filter the subnet's traffic with a network ACL "
               f"instead (CreateNetworkAclEntry).")


async def vpc_blockers(ctx: RequestContext, vpc_cs_id: str) -> list[str]:
    """The sg- ids that keep DeleteVpc from going ahead: every group of the VPC but its default."""
    if ctx.objects is None:
        return []
    others = [r.cs_id for r in await ctx.objects.list(KIND, await _account(ctx), vpc=vpc_cs_id)
              if not r.data.get("default")]
    ids = await ctx.ids.to_ec2_many("security-group", others) if others else {}
    return [ids[c] for c in others]


async def forget_vpc(ctx: RequestContext, vpc_cs_id: str) -> None:
    """After CloudStack deleted the VPC: its group records (the default, and any left) go too."""
    if ctx.objects is None:
        return
    for record in await ctx.objects.list(KIND, await _account(ctx), vpc=vpc_cs_id):
        await ctx.objects.delete(record, any_version=True)
