"""EC2 placement groups: CreatePlacementGroup, DeletePlacementGroup, DescribePlacementGroups, and the group a
RunInstances Placement.GroupName names (affinity_group_ids).

A placement group is a CloudStack affinity group of the caller's account: strategy `spread` is a
"host anti-affinity" group (no two running members on one host), `cluster` a "host affinity" group (every
running member on one host). `partition` has no CloudStack counterpart and is refused, never faked; so are
PartitionCount and SpreadLevel `rack`. Affinity groups of other types (ExplicitDedication, ...) are not
placement groups and are not shown. CloudStack cannot tag affinity groups (ResourceObjectType has none), so a
TagSpecification is refused and a tag:* filter matches no group. CloudStack deletes a group with members; EC2
refuses that (InvalidPlacementGroup.InUse), so the members are checked first. Core: no Twisted, Spyne, lxml or
SQL here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters
from ec2soap.core.model import Tag
from ec2soap.core.names import check_ascii_name
from ec2soap.core.tag_specs import TagPairs, refuse_tags
from ec2soap.errors import ERRORS

__all__ = ["PlacementGroup", "PLACEMENT_GROUP_FILTERS", "OPERATIONS", "affinity_group_ids", "STRATEGIES"]

# EC2 strategy → CloudStack affinity group type (listAffinityGroupTypes' user types).
STRATEGIES = {"spread": "host anti-affinity", "cluster": "host affinity"}
_STRATEGY_OF = {kind: strategy for strategy, kind in STRATEGIES.items()}
_GONE = ("Destroyed", "Expunging", "Expunged", "Error")
_UNTAGGABLE = "CloudStack cannot tag affinity groups. Create the placement group without TagSpecification."


@dataclass
class PlacementGroup:
    group_name: str
    strategy: str
    group_id: str
    state: str = "available"
    tags: list[Tag] = field(default_factory=list)
    cs_id: str = ""
    member_ids: list[str] = field(default_factory=list)

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


PLACEMENT_GROUP_FILTERS = {
    "group-name": lambda g: g.group_name,
    "group-id": lambda g: g.group_id,
    "strategy": lambda g: g.strategy,
    "state": lambda g: g.state,
}


async def _groups(ctx: RequestContext, **params: Any) -> list[PlacementGroup]:
    rows = [g for g in await ctx.cloud.list_affinity_groups(**params) if g.get("type") in _STRATEGY_OF]
    ids = await ctx.ids.to_ec2_many("placement-group", [g["id"] for g in rows])
    return [PlacementGroup(group_name=g["name"], strategy=_STRATEGY_OF[g["type"]], group_id=ids[g["id"]],
                           cs_id=g["id"], member_ids=list(g.get("virtualmachineIds") or ())) for g in rows]


async def _named(ctx: RequestContext, name: str) -> PlacementGroup:
    if not name:
        raise ERRORS["MissingParameter"](name="GroupName")
    found = [g for g in await _groups(ctx, name=name) if g.group_name == name]
    if not found:
        raise ERRORS["InvalidPlacementGroup.Unknown"](name=name)
    return found[0]


async def affinity_group_ids(ctx: RequestContext, name: str) -> list[str]:
    """RunInstances Placement.GroupName → the deployVirtualMachine affinitygroupids (the caller's group of that
    name); InvalidPlacementGroup.Unknown when the caller has none."""
    return [(await _named(ctx, name)).cs_id]


async def create_placement_group(ctx: RequestContext, group_name: str = "", strategy: str = "",
                                 partition_count: int | None = None, spread_level: str | None = None,
                                 tags: TagPairs = ()) -> bool:
    """CreatePlacementGroup → createAffinityGroup of the strategy's type (names unique per account)."""
    if not group_name:
        raise ERRORS["MissingParameter"](name="GroupName")
    check_ascii_name(group_name, "GroupName", max_length=255)
    if not strategy:
        raise ERRORS["MissingParameter"](name="Strategy")
    if strategy == "partition":
        raise ERRORS["InvalidParameterValue"](
            detail="The placement strategy 'partition' is not supported on this cloud: CloudStack affinity "
                   "groups offer only 'spread' (host anti-affinity) and 'cluster' (host affinity)")
    if strategy not in STRATEGIES:
        raise ERRORS["InvalidParameterValue"](detail=f"Value ({strategy}) for parameter strategy is invalid. "
                                              f"Valid values: cluster, spread, partition")
    if partition_count is not None:
        raise ERRORS["InvalidParameterValue"](
            detail="PartitionCount applies to the 'partition' strategy, which this cloud does not support")
    if spread_level not in (None, "", "host"):
        raise ERRORS["InvalidParameterValue"](
            detail=f"SpreadLevel '{spread_level}' is not supported on this cloud: a spread group keeps its "
                   f"instances on distinct hosts ('host') only")
    if spread_level and strategy != "spread":
        raise ERRORS["InvalidParameterValue"](detail="SpreadLevel applies to the 'spread' strategy only")
    refuse_tags("placement-group", tags, _UNTAGGABLE)
    if await ctx.cloud.list_affinity_groups(name=group_name):
        raise ERRORS["InvalidPlacementGroup.Duplicate"](name=group_name)
    created = await ctx.cloud.create_affinity_group(name=group_name, type=STRATEGIES[strategy],
                                                     description=f"EC2 placement group ({strategy})")
    await ctx.ids.to_ec2("placement-group", created["id"])
    return True


async def delete_placement_group(ctx: RequestContext, group_name: str = "") -> bool:
    """DeletePlacementGroup → deleteAffinityGroup; a group with instances that are not terminated is
    InvalidPlacementGroup.InUse (CloudStack would drop the members' mappings instead)."""
    group = await _named(ctx, group_name)
    if group.member_ids:
        members = set(group.member_ids)
        vms = await ctx.cloud.list_virtual_machines(listall=True)
        if any(vm["id"] in members and vm.get("state") not in _GONE for vm in vms):
            raise ERRORS["InvalidPlacementGroup.InUse"](name=group_name)
    await ctx.cloud.delete_affinity_group(id=group.cs_id)
    return True


async def describe_placement_groups(ctx: RequestContext, group_names: Sequence[str] = (),
                                    group_ids: Sequence[str] = (),
                                    filters: Sequence[Filter] = ()) -> list[PlacementGroup]:
    """DescribePlacementGroups → listAffinityGroups (the caller's spread and cluster groups); an unknown name
    or id is InvalidPlacementGroup.Unknown, as EC2 answers."""
    groups = await _groups(ctx)
    names = {g.group_name for g in groups}
    for name in group_names:
        if name not in names:
            raise ERRORS["InvalidPlacementGroup.Unknown"](name=name)
    ids = {g.group_id for g in groups}
    for gid in group_ids:
        if gid not in ids:
            raise ERRORS["InvalidPlacementGroup.Unknown"](name=gid)
    if group_names:
        groups = [g for g in groups if g.group_name in set(group_names)]
    if group_ids:
        groups = [g for g in groups if g.group_id in set(group_ids)]
    groups = apply_filters(PLACEMENT_GROUP_FILTERS, filters, groups)
    groups.sort(key=lambda g: g.group_name)
    return groups


OPERATIONS: dict[str, Any] = {
    "CreatePlacementGroup": create_placement_group,
    "DeletePlacementGroup": delete_placement_group,
    "DescribePlacementGroups": describe_placement_groups,
}
