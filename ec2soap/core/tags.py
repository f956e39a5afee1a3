"""Tags: CreateTags, DeleteTags, DescribeTags over CloudStack's resource tags. Core: no Twisted, Spyne, lxml, SQL.

A ResourceId is an EC2 id whose prefix names the kind (i-, ami-, vol-, snap-, sg-, eipalloc-, vpc-, subnet-,
igw-, rtb-, acl-); the original's "<type>:<uuid>" form (instance:9f3c…) is still accepted for CloudStack's types.
Internet gateways, route tables and VPC security groups are the gateway's records, and network ACLs are lists
CloudStack cannot tag: core/object_tags.py keeps their tags; eni- and pg- are refused (CloudStack cannot tag NICs
or affinity groups).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core import object_tags, zero_snapshots
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import CS_TO_EC2_RESOURCE, EC2_TO_CS_RESOURCE, ID_KIND_OF_RESOURCE
from ec2soap.core.volumes import HIDDEN_TAG_KEYS
from ec2soap.errors import ERRORS

__all__ = ["ResourceTag", "TagPage", "TAG_FILTERS", "OPERATIONS", "resolve_resource"]

# The EC2 prefix of each resource type (the IdMap's prefixes; the store itself is not imported by the core).
_PREFIXES = {"i": "instance", "ami": "image", "vol": "volume", "snap": "snapshot", "sg": "security-group",
             "eipalloc": "elastic-ip", "vpc": "vpc", "subnet": "subnet", "igw": "internet-gateway",
             "rtb": "route-table", "acl": "network-acl", "eni": "network-interface", "pg": "placement-group"}
_EC2_ID = re.compile(r"^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The original's type names (and CloudStack's own) in "<type>:<uuid>" ids.
_LEGACY_TYPES = {**{t: t for t in EC2_TO_CS_RESOURCE}, "uservm": "instance", "template": "image",
                 "securitygroup": "security-group", "publicipaddress": "elastic-ip", "address": "elastic-ip"}
_NOT_FOUND = {
    "instance": lambda v: ERRORS["InvalidInstanceID.NotFound"](instance_id=v),
    "image": lambda v: ERRORS["InvalidAMIID.NotFound"](image_id=v),
    "volume": lambda v: ERRORS["InvalidVolume.NotFound"](volume_id=v),
    "snapshot": lambda v: ERRORS["InvalidSnapshot.NotFound"](snapshot_id=v),
    "security-group": lambda v: ERRORS["InvalidGroup.NotFound"](group=v),
    "elastic-ip": lambda v: ERRORS["InvalidAllocationID.NotFound"](allocation_id=v),
    "vpc": lambda v: ERRORS["InvalidVpcID.NotFound"](vpc_id=v),
    "subnet": lambda v: ERRORS["InvalidSubnetID.NotFound"](subnet_id=v),
    "internet-gateway": lambda v: ERRORS["InvalidInternetGatewayID.NotFound"](igw_id=v),
    "route-table": lambda v: ERRORS["InvalidRouteTableID.NotFound"](route_table_id=v),
    "network-acl": lambda v: ERRORS["InvalidNetworkAclID.NotFound"](acl_id=v),
}
MAX_TAGS = object_tags.MAX_TAGS


@dataclass
class ResourceTag:
    resource_id: str
    resource_type: str
    key: str
    value: str
    cs_id: str = ""


@dataclass
class TagPage:
    items: list[ResourceTag]
    next_token: str | None = None


TAG_FILTERS = {
    "resource-id": lambda t: [t.resource_id, t.cs_id],
    "resource-type": lambda t: t.resource_type,
    "key": lambda t: t.key,
    "value": lambda t: t.value,
}


@dataclass(frozen=True)
class _Resource:
    ec2_type: str     # instance, image, ...
    cs_id: str
    given: str        # as the caller named it, for error messages
    # A snapshot the gateway keeps itself (zero_snapshots.py): its tags are in our store, not CloudStack's.
    zero: Any = None
    # Another account's image the caller may launch: EC2 lets them tag it, CloudStack does not, so the gateway
    # keeps those tags (theirs alone) in ctx.tags, under the EC2 type; so it does for network ACLs.
    kept: bool = False
    # The gateway's own record (internet gateway, route table, VPC security group): tags in its data.
    record: Any = None


async def resolve_resource(ctx: RequestContext, resource_id: str) -> _Resource:
    """An EC2 ResourceId (or the original's <type>:<uuid>) → its EC2 type and CloudStack uuid."""
    if ":" in resource_id:
        kind, _, value = resource_id.partition(":")
        ec2_type = _LEGACY_TYPES.get(kind.strip().lower())
        if ec2_type is None or not value:
            raise ERRORS["InvalidID"](resource_id=resource_id)
        if not _UUID.match(value):
            resource = await resolve_resource(ctx, value)
            if resource.ec2_type != ec2_type:
                raise ERRORS["InvalidID"](resource_id=resource_id)
            return _Resource(ec2_type, resource.cs_id, resource_id)
        return _Resource(ec2_type, value.lower(), resource_id)
    match = _EC2_ID.match(resource_id)
    ec2_type = _PREFIXES.get(match.group(1)) if match else None
    if ec2_type is None:
        raise ERRORS["InvalidID"](resource_id=resource_id)
    object_tags.refuse_untaggable(match.group(1), resource_id)
    cs_id = await ctx.ids.to_cloudstack(ID_KIND_OF_RESOURCE[ec2_type], resource_id)
    if cs_id is None:
        raise _NOT_FOUND[ec2_type](resource_id)
    return _Resource(ec2_type, cs_id, resource_id)


def _check_tag(key: str, value: str | None) -> None:
    if not key or len(key) > 127:
        raise ERRORS["InvalidParameterValue"](detail="Tag keys must be 1 to 127 characters long")
    if key.lower().startswith("aws:"):
        raise ERRORS["InvalidParameterValue"](
            detail="Tag keys starting with 'aws:' are reserved for internal use")
    if key in HIDDEN_TAG_KEYS:
        raise ERRORS["InvalidParameterValue"](detail=f"Tag key '{key}' is reserved")
    if value is not None and len(value) > 255:
        raise ERRORS["InvalidParameterValue"](detail="Tag values must be at most 255 characters long")


# How the caller's own view of each resource type is asked for one uuid, and the states EC2 no longer shows.
_VISIBLE_BY: dict[str, tuple[str, dict[str, str], frozenset[str]]] = {
    "instance": ("list_virtual_machines", {}, frozenset({"expunging", "expunged"})),
    "image": ("list_templates", {"templatefilter": "executable"}, frozenset()),
    "volume": ("list_volumes", {}, frozenset({"expunged"})),
    "snapshot": ("list_snapshots", {}, frozenset({"destroying", "destroyed", "hidden"})),
    "security-group": ("list_security_groups", {}, frozenset()),
    "elastic-ip": ("list_public_ip_addresses", {}, frozenset({"releasing"})),
    "vpc": ("list_vp_cs", {}, frozenset({"inactive"})),
    "subnet": ("list_networks", {}, frozenset({"destroy"})),
}


async def _require_visible(ctx: RequestContext, resource: _Resource) -> None:
    """The resource's NotFound unless the caller's own CloudStack view lists it. Every tag action asks this
    first: the id map is global, and CloudStack's listTags is scoped to the caller, so another account's
    resource would otherwise look like one without tags (DeleteTags answered true and did nothing)."""
    command, params, gone = _VISIBLE_BY[resource.ec2_type]
    try:
        found = await getattr(ctx.cloud, command)(id=resource.cs_id, **params)
    except CloudStackApiError as exc:
        # 431: no such resource; 531: someone else's. EC2 says NotFound to both.
        if exc.errorcode not in (431, 531):
            raise
        found = []
    if not any(str(c.get("id", "")).lower() == resource.cs_id.lower() and str(c.get("state", "")).lower() not in gone
               for c in found):
        raise _NOT_FOUND[resource.ec2_type](resource.given)


async def _someone_elses(ctx: RequestContext, resource: _Resource) -> bool:
    """Whether the image the caller sees belongs to another account (public or shared with the caller)."""
    found = await ctx.cloud.list_templates(templatefilter="executable", id=resource.cs_id)
    me = await zero_snapshots.account_of(ctx)
    return bool(found) and bool(me) and found[0].get("accountid") not in (None, me)


async def _resources(ctx: RequestContext, resource_ids: Sequence[str]) -> list[_Resource]:
    """The named resources, each one the caller can see (else its NotFound, before anything changes)."""
    if not resource_ids:
        raise ERRORS["MissingParameter"](name="ResourceId.1")
    out = []
    for resource_id in dict.fromkeys(resource_ids):
        resource = await resolve_resource(ctx, resource_id)
        if resource.ec2_type in object_tags.OBJECT_KINDS:
            record = await object_tags.object_record(ctx, resource.ec2_type, resource.cs_id)
            if record is not None:
                out.append(replace(resource, record=record))
                continue
            if resource.ec2_type != "security-group":  # an EC2-Classic group is CloudStack's
                raise _NOT_FOUND[resource.ec2_type](resource.given)
        if resource.ec2_type in object_tags.KEPT_TYPES:
            if not await object_tags.kept_list_visible(ctx, resource.cs_id):
                raise _NOT_FOUND[resource.ec2_type](resource.given)
            if ctx.tags is None:
                raise ERRORS["InvalidParameterValue"](
                    detail=f"{resource.given} cannot be tagged: CloudStack cannot tag network ACL lists and this "
                           f"gateway keeps no tags")
            out.append(replace(resource, kept=True))
            continue
        zero = await zero_snapshots.find_by_cs_id(ctx, resource.cs_id) if resource.ec2_type == "snapshot" else None
        if zero is not None:
            out.append(replace(resource, zero=zero))
            continue
        await _require_visible(ctx, resource)
        if resource.ec2_type == "image" and ctx.tags is not None and await _someone_elses(ctx, resource):
            resource = replace(resource, kept=True)
        out.append(resource)
    return out


def _not_found_from(exc: CloudStackApiError, resources: list[_Resource]) -> Exception | None:
    """CloudStack refuses a resource it does not know (431) or that is another account's (531): the
    resource's own NotFound for the caller."""
    if exc.errorcode not in (431, 531):
        return None
    named = next((r for r in resources if r.cs_id in exc.errortext), resources[0])
    return _NOT_FOUND[named.ec2_type](named.given)


async def _tags_on(ctx: RequestContext, resource: _Resource) -> list[dict]:
    return await ctx.cloud.list_tags(resourcetype=EC2_TO_CS_RESOURCE[resource.ec2_type], resourceid=resource.cs_id)


async def create_tags(ctx: RequestContext, resource_ids: Sequence[str],
                      tags: Sequence[tuple[str, str | None]]) -> bool:
    """CreateTags → createTags (one call per resource, waited for). A key the resource has already gets
    the new value, as in EC2 (CloudStack refuses a second tag with a key: the old one is deleted first)."""
    if not tags:
        raise ERRORS["MissingParameter"](name="Tag.1.Key")
    wanted: dict[str, str] = {}
    for key, value in tags:
        _check_tag(key, value)
        value = value or ""
        if value == "":
            # CloudStack quirk: a tag must have a value; EC2 allows an empty one, which CloudStack cannot keep.
            raise ERRORS["InvalidParameterValue"](
                detail=f"Tag '{key}' needs a value: this cloud cannot store an empty tag value")
        wanted[key] = value
    resources = await _resources(ctx, resource_ids)
    for resource in resources:
        if resource.zero is not None:
            if len({k.lower() for k in resource.zero.tags} | {k.lower() for k in wanted}) > MAX_TAGS:
                raise ERRORS["TagLimitExceeded"](detail=f"The maximum number of tags ({MAX_TAGS}) for resource "
                                                        f"{resource.given} has been exceeded.")
            await ctx.snapshots.change_tags(resource.zero.account, resource.cs_id, add=wanted)
            continue
        if resource.record is not None:
            await object_tags.change_object_tags(ctx, resource.record, resource.given, _NOT_FOUND[resource.ec2_type],
                                                 add=wanted)
            continue
        if resource.kept:
            me = await zero_snapshots.account_of(ctx)
            existing_keys = {k.lower() for _t, _c, k, _v in await ctx.tags.list(me, resource.ec2_type,
                                                                                 [resource.cs_id])}
            if len(existing_keys | {k.lower() for k in wanted}) > MAX_TAGS:
                raise ERRORS["TagLimitExceeded"](detail=f"The maximum number of tags ({MAX_TAGS}) for resource "
                                                        f"{resource.given} has been exceeded.")
            await ctx.tags.put(me, resource.ec2_type, resource.cs_id, wanted)
            continue
        existing = await _tags_on_checked(ctx, resource)
        if len({t["key"].lower() for t in existing} | {k.lower() for k in wanted}) > MAX_TAGS:
            raise ERRORS["TagLimitExceeded"](detail=f"The maximum number of tags ({MAX_TAGS}) for resource "
                                                    f"{resource.given} has been exceeded.")
        keys = {k.lower() for k in wanted}
        kept = {(t["key"], t["value"]) for t in existing} & set(wanted.items())
        stale = [t for t in existing if t["key"].lower() in keys and (t["key"], t["value"]) not in kept]
        cs_type = EC2_TO_CS_RESOURCE[resource.ec2_type]
        if stale:
            await ctx.cloud.delete_tags(resourcetype=cs_type, resourceids=[resource.cs_id],
                                        tags=[{"key": t["key"], "value": t["value"]} for t in stale])
        pairs = [{"key": k, "value": v} for k, v in wanted.items() if (k, v) not in kept]
        if not pairs:
            continue
        try:
            await ctx.cloud.create_tags(resourcetype=cs_type, resourceids=[resource.cs_id], tags=pairs)
        except CloudStackApiError as exc:
            error = _not_found_from(exc, [resource])
            if error is None:
                raise
            raise error from None
    return True


async def _tags_on_checked(ctx: RequestContext, resource: _Resource) -> list[dict]:
    """The resource's tags; and a check that the caller may see the resource at all."""
    try:
        tags = await _tags_on(ctx, resource)
    except CloudStackApiError as exc:
        error = _not_found_from(exc, [resource])
        if error is None:
            raise
        raise error from None
    return tags


async def delete_tags(ctx: RequestContext, resource_ids: Sequence[str],
                      tags: Sequence[tuple[str, str | None]] = ()) -> bool:
    """DeleteTags → deleteTags (waited for). A key alone deletes that key whatever its value, key and value only
    that pair, no tags at all every tag of the resources; tags that are not there are not an error (EC2)."""
    for key, value in tags:
        _check_tag(key, value)
    resources = await _resources(ctx, resource_ids)
    for resource in resources:
        if resource.zero is not None:
            await ctx.snapshots.change_tags(resource.zero.account, resource.cs_id,
                                            remove=list(tags) or [(k, None) for k in resource.zero.tags])
            continue
        if resource.record is not None:
            await object_tags.change_object_tags(ctx, resource.record, resource.given, _NOT_FOUND[resource.ec2_type],
                                                 remove=list(tags))
            continue
        if resource.kept:
            await ctx.tags.remove(await zero_snapshots.account_of(ctx), resource.ec2_type, resource.cs_id, list(tags))
            continue
        existing = await _tags_on_checked(ctx, resource)
        # Matched here, exactly: CloudStack compares keys and values case-insensitively, EC2 does not.
        doomed = [t for t in existing if t["key"] not in HIDDEN_TAG_KEYS
                  and (not tags or any(t["key"] == k and (v is None or t["value"] == v) for k, v in tags))]
        if not doomed:
            continue
        try:
            await ctx.cloud.delete_tags(resourcetype=EC2_TO_CS_RESOURCE[resource.ec2_type],
                                        resourceids=[resource.cs_id],
                                        tags=[{"key": t["key"], "value": t["value"]} for t in doomed])
        except CloudStackApiError as exc:
            # Deleted meanwhile by another request: the outcome the caller wanted.
            if exc.errorcode != 431 or "Unable to find any tags" not in exc.errortext:
                raise
    return True


def _wanted_types(filters: Sequence[Filter]) -> set[str] | None:
    """The resource types an exact resource-type filter allows (every filter must hold), None for any."""
    wanted: set[str] | None = None
    for flt in filters:
        if flt.name == "resource-type" and not any(c in v for v in flt.values for c in "*?\\"):
            wanted = set(flt.values) if wanted is None else wanted & set(flt.values)
    return wanted


async def _cloudstack_tags(ctx: RequestContext, filters: Sequence[Filter], types: set[str] | None) -> list[ResourceTag]:
    """The caller's tags CloudStack keeps, on resources EC2 has a name for."""
    cs_types = set(EC2_TO_CS_RESOURCE) if types is None else types & set(EC2_TO_CS_RESOURCE)
    if not cs_types:
        return []
    params: dict[str, Any] = {}
    if len(cs_types) == 1:
        params["resourcetype"] = EC2_TO_CS_RESOURCE[next(iter(cs_types))]
    for flt in filters:
        # One exact key narrows the CloudStack query; wildcards are matched here.
        if flt.name == "key" and len(flt.values) == 1 and not any(c in flt.values[0] for c in "*?\\"):
            params["key"] = flt.values[0]
    cs_tags = [t for t in await ctx.cloud.list_tags(**params)
               if str(t.get("resourcetype", "")).lower() in CS_TO_EC2_RESOURCE]
    rows = [(CS_TO_EC2_RESOURCE[t["resourcetype"].lower()], t["resourceid"], t.get("key", ""), t.get("value", ""))
            for t in cs_tags]
    return await _named(ctx, rows)


async def _named(ctx: RequestContext, rows: Sequence[tuple[str, str, str, str]]) -> list[ResourceTag]:
    """ResourceTags of ROWS [(EC2 type, cs id, key, value)], each resource named by its EC2 id."""
    by_kind: dict[str, list[str]] = {}
    for ec2_type, cs_id, _k, _v in rows:
        by_kind.setdefault(ID_KIND_OF_RESOURCE[ec2_type], []).append(cs_id)
    ids: dict[tuple[str, str], str] = {}
    for kind, cs_ids in by_kind.items():
        for cs_id, ec2_id in (await ctx.ids.to_ec2_many(kind, cs_ids)).items():
            ids[(kind, cs_id)] = ec2_id
    return [ResourceTag(resource_id=ids[(ID_KIND_OF_RESOURCE[t], c)], resource_type=t, key=k, value=v, cs_id=c)
            for t, c, k, v in rows]


async def describe_tags(ctx: RequestContext, filters: Sequence[Filter] = (), max_results: int | None = None,
                        next_token: str | None = None) -> TagPage:
    """DescribeTags → listTags, and the tags the gateway keeps (zero snapshots, others' images, network ACLs, its
    own VPC records). Tags on resources EC2 has no name for (rules, ...) are left out."""
    types = _wanted_types(filters)
    items = await _cloudstack_tags(ctx, filters, types)
    if types is None or "snapshot" in types:
        zeros = await zero_snapshots.records_of(ctx)
        items += await _named(ctx, [("snapshot", r.cs_id, k, v) for r in zeros for k, v in r.tags.items()])
    kept_types = {"image", *object_tags.KEPT_TYPES} if types is None else types & {"image", *object_tags.KEPT_TYPES}
    if ctx.tags is not None and kept_types:
        kept = [row for row in await ctx.tags.list(await zero_snapshots.account_of(ctx)) if row[0] in kept_types]
        items += await _named(ctx, await object_tags.live_kept(ctx, kept))
    items += await _named(ctx, await object_tags.object_tag_rows(ctx, types))
    # The gateway's own bookkeeping on CloudStack resources (descriptions, DeleteOnTermination, ...) is no tag.
    items = [t for t in items if t.key not in HIDDEN_TAG_KEYS]
    # EC2 lists tags by resource, then key.
    items.sort(key=lambda t: (t.resource_type, t.resource_id, t.key))
    page, token = paginate(apply_filters(TAG_FILTERS, filters, items), max_results, next_token)
    return TagPage(page, token)


OPERATIONS: dict[str, Any] = {
    "DescribeTags": describe_tags,
    "CreateTags": create_tags,
    "DeleteTags": delete_tags,
}
