"""Tags on the EC2-VPC resources whose tags CloudStack does not keep (core/tags.py dispatches here). Core: no
Twisted, Spyne, lxml or SQL here.

- The gateway's own records (ctx.objects): internet gateways (kind "igw"), route tables ("rtb") and VPC security
  groups ("sg"). Their tags are data["tags"] ({key: value}), changed by compare-and-set: a stale version is read
  again and the change redone, so two requests tagging one object at once both land.
- Network ACLs are CloudStack ACL lists, which CloudStack 4.18 cannot tag (ResourceObjectType NetworkACLList has
  resourceTagsSupport false: createTags answers "doesn't support resource tags"): the gateway keeps their tags,
  the caller's alone, in ctx.tags under "network-acl" (core/network_acls.py writes and shows them too).
- Network interfaces (CloudStack NICs: ResourceObjectType Nic has no tag support either) and placement groups
  (affinity groups: no ResourceObjectType at all) are refused by name, as CreatePlacementGroup refuses a
  TagSpecification: nothing is answered as tagged that is not.
"""
from __future__ import annotations

from typing import Any, Sequence

from ec2soap.core import network_acls
from ec2soap.core.context import RequestContext
from ec2soap.core.model import caller_account
from ec2soap.errors import ERRORS

__all__ = ["OBJECT_KINDS", "KEPT_TYPES", "UNTAGGABLE", "MAX_TAGS", "object_record", "change_object_tags",
           "object_tag_rows", "kept_list_visible", "live_kept", "refuse_untaggable"]

MAX_TAGS = 50
# EC2 resource type → the ctx.objects kind of the gateway's records of that type.
OBJECT_KINDS = {"internet-gateway": "igw", "route-table": "rtb", "security-group": "sg"}
# CloudStack resources CloudStack cannot tag, whose tags the gateway keeps in ctx.tags (besides shared images).
KEPT_TYPES = (network_acls.TAG_TYPE,)
# EC2 id prefix → (resource type, why it cannot be tagged here).
UNTAGGABLE = {
    "eni": ("network-interface", "CloudStack cannot tag NICs (its resource type Nic has no tag support); tag the "
                                 "instance instead"),
    "pg": ("placement-group", "CloudStack cannot tag affinity groups (they have no resource tag type)"),
}


async def _account(ctx: RequestContext) -> str:
    return str((await caller_account(ctx)).get("id") or "")


def refuse_untaggable(prefix: str, resource_id: str) -> None:
    """InvalidParameterValue naming why RESOURCE_ID (an eni- or pg- id) cannot be tagged; a no-op otherwise."""
    if prefix in UNTAGGABLE:
        resource_type, why = UNTAGGABLE[prefix]
        raise ERRORS["InvalidParameterValue"](
            detail=f"The resource {resource_id} ({resource_type}) cannot be tagged on this cloud: {why}")


async def object_record(ctx: RequestContext, ec2_type: str, cs_id: str) -> Any:
    """The caller's own record of EC2_TYPE (one of OBJECT_KINDS) with this cs_id, or None."""
    if ctx.objects is None or ec2_type not in OBJECT_KINDS:
        return None
    return await ctx.objects.get(OBJECT_KINDS[ec2_type], await _account(ctx), cs_id)


def _over_limit(given: str) -> Exception:
    return ERRORS["TagLimitExceeded"](
        detail=f"The maximum number of tags ({MAX_TAGS}) for resource {given} has been exceeded.")


async def change_object_tags(ctx: RequestContext, record: Any, given: str, not_found: Any,
                             add: dict[str, str] | None = None,
                             remove: Sequence[tuple[str, str | None]] | None = None) -> None:
    """Set ADD's tags on RECORD, or delete REMOVE's (a None value: whatever the value; an empty REMOVE: every tag),
    retrying on a stale version. NOT_FOUND(given) when the record went meanwhile."""
    for _ in range(10):
        tags = dict(record.data.get("tags") or {})
        if add is not None:
            tags.update(add)
            if len(tags) > MAX_TAGS:
                raise _over_limit(given)
        if remove is not None:
            tags = {k: v for k, v in tags.items()
                    if remove and not any(k == rk and (rv is None or v == rv) for rk, rv in remove)}
        if tags == (record.data.get("tags") or {}):
            return
        if await ctx.objects.update(record, dict(record.data, tags=tags)):
            return
        record = await ctx.objects.get(record.kind, record.account, record.cs_id)
        if record is None:
            raise not_found(given)
    raise ERRORS["IncorrectState"](detail=f"{given} is being changed by other requests; retry")


async def object_tag_rows(ctx: RequestContext, types: set[str] | None) -> list[tuple[str, str, str, str]]:
    """[(EC2 resource type, cs id, key, value)] of the caller's records' tags (only TYPES' when given)."""
    if ctx.objects is None:
        return []
    account = await _account(ctx)
    rows = []
    for ec2_type, kind in OBJECT_KINDS.items():
        if types is not None and ec2_type not in types:
            continue
        for record in await ctx.objects.list(kind, account):
            rows += [(ec2_type, record.cs_id, k, v) for k, v in (record.data.get("tags") or {}).items()]
    return rows


async def kept_list_visible(ctx: RequestContext, cs_id: str) -> bool:
    """Whether the network ACL list CS_ID is one of the caller's (of one of their VPCs)."""
    return await network_acls.caller_list(ctx, cs_id) is not None


async def live_kept(ctx: RequestContext, kept: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """KEPT's network-acl rows whose ACL list the caller still has (CloudStack deletes a VPC's lists with it)."""
    if not any(t == network_acls.TAG_TYPE for t, *_ in kept):
        return kept
    live = await network_acls.caller_list_ids(ctx)
    return [row for row in kept if row[0] != network_acls.TAG_TYPE or row[1] in live]
