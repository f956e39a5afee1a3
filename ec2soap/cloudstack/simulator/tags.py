"""Simulator: resource tags — listTags, createTags, deleteTags (TaggedResourceManagerImpl behaviour, protocol.md §12).

Other families use tags_for() in their renderers, filter_by_tags() for their lists' `tags` map parameter and
delete_tags_for() when they remove a resource. A tag doc is the ResourceTagResponse fields plus private keys.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, Listing, SimError, keyword_filter, param_error,
                                                 permission_denied)

__all__ = ["COMMANDS", "JOB_ACTIONS", "RESOURCE_TYPES", "KINDS", "canonical_type", "tags_for", "delete_tags_for",
           "filter_by_tags", "render_tag"]

# ResourceTag.ResourceObjectType names of CloudStack 4.18, in its own order (protocol.md §12).
RESOURCE_TYPES = (
    "UserVm", "Template", "ISO", "Volume", "Snapshot", "Backup", "Network", "DomainRouter", "Nic", "LoadBalancer",
    "PortForwardingRule", "FirewallRule", "SecurityGroup", "SecurityGroupRule", "PublicIpAddress", "Project",
    "Account", "Vpc", "NetworkACL", "StaticRoute", "VMSnapshot", "RemoteAccessVpn", "Zone", "ServiceOffering",
    "Storage", "PrivateGateway", "NetworkACLList", "VpnGateway", "CustomerGateway", "VpnConnection", "User",
    "DiskOffering", "AutoScaleVmProfile", "AutoScaleVmGroup", "LBStickinessPolicy", "LBHealthCheckPolicy",
    "SnapshotPolicy", "GuestOs", "NetworkOffering", "VpcOffering", "Domain",
)
_BY_LOWER = {t.lower(): t for t in RESOURCE_TYPES}

# Resource type → the simulator's entity kind. Types without a kind name nothing the simulator keeps.
KINDS = {
    "UserVm": "vm", "Template": "template", "ISO": "template", "Volume": "volume", "Snapshot": "snapshot",
    "Network": "network", "SecurityGroup": "securitygroup", "PublicIpAddress": "ipaddress", "Zone": "zone",
    "Account": "account", "User": "user", "Domain": "domain", "ServiceOffering": "serviceoffering",
    "DiskOffering": "diskoffering",
}

_FIELDS = tuple(spec.commands()["listTags"]["response"])


def canonical_type(resourcetype: str) -> str:
    """CloudStack's spelling of RESOURCETYPE, matched case-insensitively; unknown → 431."""
    found = _BY_LOWER.get(str(resourcetype).lower())
    if found is None:
        raise param_error(f"Invalid resource type {resourcetype}")
    return found


def render_tag(tag: dict) -> dict:
    """ResourceTagResponse: the stored fields CloudStack documents, nothing private."""
    return {k: tag[k] for k in _FIELDS if tag.get(k) not in (None, "")}


def _tags_of(ctx: Ctx, resourcetype: str, resource_id: str) -> list[dict]:
    def by_resource() -> dict[tuple[str, str], list[dict]]:
        table: dict[tuple[str, str], list[dict]] = {}
        for tag in ctx.find("tag"):
            table.setdefault((tag["resourcetype"], tag["resourceid"]), []).append(tag)
        return table
    return list(ctx.memo("tags-by-resource", by_resource).get((resourcetype, resource_id), ()))


def tags_for(ctx: Ctx, resourcetype: str, resource_id: str) -> list[dict]:
    """The rendered tags of one resource, for other families' `tags` response fields ([] when none)."""
    return [render_tag(t) for t in _tags_of(ctx, canonical_type(resourcetype), resource_id)]


def delete_tags_for(ctx: Ctx, resourcetype: str, resource_id: str) -> None:
    """Forget every tag of a resource that is going away."""
    for tag in _tags_of(ctx, canonical_type(resourcetype), resource_id):
        ctx.remove("tag", tag["id"])


def filter_by_tags(ctx: Ctx, items: list[dict], resourcetype: str, tags_param: Iterable[dict] | None) -> list[dict]:
    """ITEMS (docs with an `id`) that carry at least one of the requested key/value pairs.

    CloudStack quirk: the list commands join resource_tags with one OR group per pair, so tags[0] and tags[1]
    widen the result instead of narrowing it; a pair without a value matches on the key alone."""
    wanted = [(t.get("key"), t.get("value")) for t in (tags_param or ()) if t.get("key")]
    if not wanted:
        return items
    kind = canonical_type(resourcetype)
    by_resource: dict[str, list[dict]] = {}
    for tag in ctx.find("tag", where=lambda t: t["resourcetype"] == kind):
        by_resource.setdefault(tag["resourceid"], []).append(tag)

    def matches(item: dict) -> bool:
        return any(tag["key"] == key and (value is None or tag["value"] == value)
                   for tag in by_resource.get(item["id"], ()) for key, value in wanted)
    return [i for i in items if matches(i)]


# -- resources --------------------------------------------------------------------------------------------------

def _find_rule_owner(ctx: Ctx, rule_id: str) -> dict | None:
    from ec2soap.cloudstack.simulator import security_groups

    found = security_groups.find_rule(ctx, rule_id)
    return found[0] if found else None


# Types whose resource is not a doc of its own: the doc whose owner owns the resource.
_RESOLVERS: dict[str, Callable[[Ctx, str], dict | None]] = {"SecurityGroupRule": _find_rule_owner}


def _resource_owner(ctx: Ctx, resourcetype: str, resource_id: str) -> str:
    """The account id owning the resource, or 431 when the simulator knows no such resource."""
    if resourcetype in _RESOLVERS:
        doc = _RESOLVERS[resourcetype](ctx, resource_id)
    else:
        kind = KINDS.get(resourcetype)
        doc = ctx.get(kind, resource_id) if kind else None
        if doc is not None and resourcetype in ("Template", "ISO") and \
                (str(doc.get("format", "")).upper() == "ISO") != (resourcetype == "ISO"):
            doc = None
    if doc is None:
        raise param_error(f"Unable to find resource by id {resource_id} and type {resourcetype}")
    if resourcetype == "Account":
        return doc["id"]
    # Resources without an owner (zones, offerings, public system templates) belong to SYSTEM.
    return doc.get("accountid") or _system_account_id(ctx)


def _system_account_id(ctx: Ctx) -> str:
    found = ctx.find("account", name="system")
    return found[0]["id"] if found else ""


def _owner_fields(ctx: Ctx, account_id: str) -> dict:
    account = ctx.get("account", account_id, removed=True) or {}
    domain = ctx.get("domain", account.get("domainid"), removed=True) or {}
    return {"account": account.get("name", ""), "domainid": account.get("domainid", ""),
            "domain": domain.get("name", "ROOT")}


def _tag_pairs(tags_param: Iterable[dict] | None) -> list[tuple[str, str | None]]:
    """The `tags` map as (key, value) pairs; a later entry for the same key wins, as in CloudStack's HashMap."""
    pairs: dict[str, str | None] = {}
    for entry in tags_param or ():
        key = entry.get("key")
        if key is None or key == "":
            continue
        pairs[key] = entry.get("value")
    return list(pairs.items())


# -- commands ---------------------------------------------------------------------------------------------------

def _list_tags(ctx: Ctx, p: dict) -> Listing:
    """listTags: the caller's tags (listall/account per §9), filtered by type, resource, key, value, keyword."""
    tags = ctx.find("tag", account_id=ctx.scope_accounts(p))
    if p.get("resourcetype"):
        wanted = p["resourcetype"].lower()
        tags = [t for t in tags if t["resourcetype"].lower() == wanted]
    for name in ("resourceid", "key", "value", "customer"):
        if p.get(name):
            tags = [t for t in tags if t.get(name) == p[name]]
    tags = keyword_filter(tags, p.get("keyword"), "key", "value")
    return Listing([render_tag(t) for t in tags])


def _create_tags(ctx: Ctx, p: dict) -> Any:
    """createTags: queued; every check runs in the job, as in CreateTagsCmd.execute()."""
    return ctx.start_job("tags_create", {"resourcetype": p["resourcetype"], "resourceids": p["resourceids"],
                                         "tags": p["tags"], "customer": p.get("customer")})


def _delete_tags(ctx: Ctx, p: dict) -> Any:
    return ctx.start_job("tags_delete", {"resourcetype": p["resourcetype"], "resourceids": p["resourceids"],
                                         "tags": p.get("tags")})


def _job_create_tags(ctx: Ctx, args: dict) -> Any:
    resourcetype = canonical_type(args["resourcetype"])
    pairs = _tag_pairs(args["tags"])
    if not pairs:
        raise param_error("Unable to create tags: no tags specified")
    for key, value in pairs:
        for resource_id in args["resourceids"]:
            owner = _resource_owner(ctx, resourcetype, resource_id)
            if not ctx.caller.is_admin and owner != ctx.caller.account_id:
                raise permission_denied(f"Account '{ctx.caller.account.get('name')}' doesn't have permissions to "
                                        f"create tags for resource '{resource_id}({key})'.")
            if value is None or value == "":
                raise param_error(f"Value for the key {key} is either null or empty")
            # CloudStack quirk: a second tag with the same key (compared case-insensitively by MySQL's unique
            # key) is a database constraint error, surfaced as a 530 CloudRuntimeException.
            if any(t["key"].lower() == key.lower() for t in _tags_of(ctx, resourcetype, resource_id)):
                raise SimError(530, f"tag {key} already on {resourcetype} with id {resource_id}", 4250)
            tag = {"key": key, "value": value, "resourcetype": resourcetype, "resourceid": resource_id,
                   "accountid": owner, **_owner_fields(ctx, owner)}
            if args.get("customer"):
                tag["customer"] = args["customer"]
            ctx.insert("tag", tag, account_id=owner)
    return SUCCESS


def _job_delete_tags(ctx: Ctx, args: dict) -> Any:
    resourcetype = canonical_type(args["resourcetype"])
    pairs = _tag_pairs(args.get("tags"))
    doomed = []
    for resource_id in args["resourceids"]:
        for tag in _tags_of(ctx, resourcetype, resource_id):
            # CloudStack quirk: deleteTags compares keys and values case-insensitively.
            if not pairs or any(tag["key"].lower() == k.lower() and (v is None or tag["value"].lower() == v.lower())
                                for k, v in pairs):
                doomed.append(tag)
    if not doomed:
        raise param_error("Unable to find any tags which conform to specified delete parameters.")
    for tag in doomed:
        if not ctx.caller.is_admin and tag["accountid"] != ctx.caller.account_id:
            raise permission_denied(f"Account {ctx.caller.account.get('name')} does not have permission to "
                                    f"operate with resource {tag['resourceid']}")
    for tag in doomed:
        ctx.remove("tag", tag["id"])
    return SUCCESS


COMMANDS = {
    "listTags": _list_tags,
    "createTags": _create_tags,
    "deleteTags": _delete_tags,
}
JOB_ACTIONS = {
    "tags_create": _job_create_tags,
    "tags_delete": _job_delete_tags,
}
