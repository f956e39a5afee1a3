"""The simulator's tag service, `ctx.tags`: every family renders, filters and forgets resource tags through it.

The tags family (tags.py) serves listTags/createTags/deleteTags on top of the same stored docs (kind "tag").
A family whose resources own tags through another doc (a security group rule through its group) registers a
resolver as TAG_RESOLVERS = {resource type: function(ctx, id) → owning doc}; `ctx.tags.owner_doc` uses them.

The `tags` filter of the list commands is decided once here, from CloudStack 4.18 (commit 77961d6):
- BaseListTaggedResourcesCmd.getTags() reads the map with TaggedResources.parseKeyValueMap(tags, false)
  (api/src/main/java/org/apache/cloudstack/api/TaggedResources.java lines 36-48, 65-71): a pair without a value
  is InvalidParameterValueException "No value is passed in for key K" (431).
- QueryManagerImpl (server/src/main/java/com/cloud/api/query/QueryManagerImpl.java) ANDs key = K and value = V
  inside one pair and ORs the pairs: lines 1148-1157 (listVirtualMachines), 1353-1361 (listSecurityGroups),
  2191-2199 (listVolumes), 3418-3425 with 3576-3583 (listZones, an OR of (key AND value) groups in the join).
So tags[0] and tags[1] widen a list; they never narrow it.
Divergence kept on purpose: CloudStack's toMap refuses a key given twice (an internal error); the simulator ORs
both pairs (test_tags.test_list_filter_by_tags_is_an_or relies on it).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.errors import param_error

__all__ = ["TagService", "RESOURCE_TYPES", "UNTAGGABLE", "KINDS", "canonical_type", "render_tag", "requested_pairs"]

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
# The types whose resourceTagsSupport flag is false in 4.18 (ResourceTag.ResourceObjectType's first argument):
# createTags refuses them with InvalidParameterValue (431) inside its job (TaggedResourceManagerImpl.createTags).
UNTAGGABLE = frozenset({
    "DomainRouter", "Nic", "Zone", "ServiceOffering", "Storage", "PrivateGateway", "NetworkACLList", "VpnGateway",
    "CustomerGateway", "VpnConnection", "DiskOffering", "AutoScaleVmProfile", "AutoScaleVmGroup",
    "LBStickinessPolicy", "LBHealthCheckPolicy", "GuestOs", "NetworkOffering", "Domain",
})

# Resource type → the simulator's entity kind. Types without a kind name nothing the simulator keeps.
KINDS = {
    "UserVm": "vm", "Template": "template", "ISO": "template", "Volume": "volume", "Snapshot": "snapshot",
    "Network": "network", "SecurityGroup": "securitygroup", "PublicIpAddress": "ipaddress", "Zone": "zone",
    "Account": "account", "User": "user", "Domain": "domain", "ServiceOffering": "serviceoffering",
    "DiskOffering": "diskoffering",
}

_FIELDS = tuple(spec.command("listTags")["response"])


def canonical_type(resourcetype: str) -> str:
    """CloudStack's spelling of RESOURCETYPE, matched case-insensitively; unknown → 431."""
    found = _BY_LOWER.get(str(resourcetype).lower())
    if found is None:
        raise param_error(f"Invalid resource type {resourcetype}")
    return found


def render_tag(tag: dict) -> dict:
    """ResourceTagResponse: the stored fields CloudStack documents, nothing private."""
    return {k: tag[k] for k in _FIELDS if tag.get(k) not in (None, "")}


def requested_pairs(tags_param: Iterable[dict] | None) -> list[tuple[str, str]]:
    """A list command's `tags` map as (key, value) pairs, in the order given; entries without a key are ignored
    and a key without a value is CloudStack's 431 (TaggedResources.getValue)."""
    pairs = []
    for entry in tags_param or ():
        key = entry.get("key")
        if not key:
            continue
        if entry.get("value") is None:
            raise param_error(f"No value is passed in for key {key}")
        pairs.append((key, entry["value"]))
    return pairs


class TagService:
    """Tags as one request sees them (built once per request from the stored docs, dropped at the next write)."""

    def __init__(self, ctx: Any):
        self._ctx = ctx

    def rows(self, resourcetype: str, resource_id: str) -> list[dict]:
        """The stored tag docs of one resource (RESOURCETYPE in CloudStack's spelling)."""
        def by_resource() -> dict[tuple[str, str], list[dict]]:
            table: dict[tuple[str, str], list[dict]] = {}
            for tag in self._ctx.find("tag"):
                table.setdefault((tag["resourcetype"], tag["resourceid"]), []).append(tag)
            return table
        return list(self._ctx.memo("tags-by-resource", by_resource).get((resourcetype, resource_id), ()))

    def of(self, resourcetype: str, resource_id: str) -> list[dict]:
        """The rendered tags of one resource, for a `tags` response field ([] when none)."""
        return [render_tag(t) for t in self.rows(canonical_type(resourcetype), resource_id)]

    def drop(self, resourcetype: str, resource_id: str) -> None:
        """Forget every tag of a resource that is going away."""
        for tag in self.rows(canonical_type(resourcetype), resource_id):
            self._ctx.remove("tag", tag["id"])

    def having(self, items: list[dict], resourcetype: str, pairs: Iterable[tuple[str, str | None]]) -> list[dict]:
        """ITEMS (docs with an `id`) carrying at least one of PAIRS, each pair matched on key and value (a None
        value matches the key alone). No pairs: ITEMS unfiltered."""
        wanted = list(pairs)
        if not wanted:
            return items
        kind = canonical_type(resourcetype)

        def matches(item: dict) -> bool:
            return any(tag["key"] == key and (value is None or tag["value"] == value)
                       for tag in self.rows(kind, item["id"]) for key, value in wanted)
        return [i for i in items if matches(i)]

    def filter(self, items: list[dict], resourcetype: str, tags_param: Iterable[dict] | None) -> list[dict]:
        """A list command's `tags` filter (see the module docstring): ITEMS carrying any requested pair."""
        return self.having(items, resourcetype, requested_pairs(tags_param))

    def owner_doc(self, resourcetype: str, resource_id: str) -> dict | None:
        """The doc owning a taggable resource (the resource itself, or what a family's resolver names), None
        when the simulator keeps no such resource. Templates and ISOs are told apart by their format."""
        resolvers: dict[str, Callable[[Any, str], dict | None]] = self._ctx.sim.tag_resolvers
        if resourcetype in resolvers:
            return resolvers[resourcetype](self._ctx, resource_id)
        kind = KINDS.get(resourcetype)
        doc = self._ctx.get(kind, resource_id) if kind else None
        if doc is not None and resourcetype in ("Template", "ISO") and \
                (str(doc.get("format", "")).upper() == "ISO") != (resourcetype == "ISO"):
            return None
        return doc
