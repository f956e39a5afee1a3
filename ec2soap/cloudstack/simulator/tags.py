"""Simulator: resource tags — listTags, createTags, deleteTags (TaggedResourceManagerImpl behaviour, protocol.md §12).

Tags are docs of kind "tag" (the ResourceTagResponse fields plus private keys). Other families never import this
module: they render, filter and forget tags through the engine's tag service, ctx.tags (tagging.py), which also
holds the one `tags[i]` list filter. Resources that are not docs of their own are resolved through the
TAG_RESOLVERS the families register.
"""
from __future__ import annotations

from typing import Any, Iterable

from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, Listing, keyword_filter
from ec2soap.cloudstack.simulator.errors import SimError, param_error, permission_denied
from ec2soap.cloudstack.simulator.tagging import UNTAGGABLE, canonical_type, render_tag

__all__ = ["COMMANDS", "JOB_ACTIONS"]


def _resource_owner(ctx: Ctx, resourcetype: str, resource_id: str) -> str:
    """The account id owning the resource, or 431 when the simulator knows no such resource."""
    doc = ctx.tags.owner_doc(resourcetype, resource_id)
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
            if resourcetype in UNTAGGABLE:
                raise param_error(f"The resource type {resourcetype} doesn't support resource tags")
            owner = _resource_owner(ctx, resourcetype, resource_id)
            if not ctx.caller.is_admin and owner != ctx.caller.account_id:
                raise permission_denied(f"Account '{ctx.caller.account.get('name')}' doesn't have permissions to "
                                        f"create tags for resource '{resource_id}({key})'.")
            if value is None or value == "":
                raise param_error(f"Value for the key {key} is either null or empty")
            # CloudStack quirk: a second tag with the same key (compared case-insensitively by MySQL's unique
            # key) is a database constraint error, surfaced as a 530 CloudRuntimeException.
            if any(t["key"].lower() == key.lower() for t in ctx.tags.rows(resourcetype, resource_id)):
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
        for tag in ctx.tags.rows(resourcetype, resource_id):
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
