"""Snapshots of volumes that hold only zeros. Core: no Twisted, Spyne, lxml or SQL here.

CloudStack allocates a volume's storage when it is first attached (state Allocated until then) and refuses to
snapshot it before: there is nothing to copy. EC2 users snapshot new volumes routinely, and such a volume holds
only zeros, so its snapshot is served faithfully without CloudStack: the gateway records it (ctx.snapshots,
store/snapshot_records.py) under a uuid it mints, so the IdMap gives it a snap- id like any other; it is
`completed` at once, with the volume's size. A volume created from it is a new empty volume of that size
(at least), which remembers the snapshot in a hidden tag (ORIGIN_TAG) so DescribeVolumes shows its SnapshotId.
DescribeSnapshots, DeleteSnapshot, CreateVolume, RunInstances' BlockDeviceMapping, the tag actions and filters
treat it like any snapshot (snapshots.py, volumes.py, launch_devices.py and tags.py ask this module).
"""
from __future__ import annotations

import uuid
from typing import Any, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.model import caller_account

__all__ = ["ORIGIN_TAG", "holds_only_zeros", "account_of", "find", "find_by_cs_id", "records_of", "record_new"]

# On a volume made from a zero snapshot: that snapshot's EC2 id (CloudStack's snapshotid stays empty).
ORIGIN_TAG = "ec2:snapshotId"


def holds_only_zeros(cs_volume: dict) -> bool:
    """True for a data volume CloudStack has not given storage yet (never attached, or attached to a VM never
    started) and that was not made from a CloudStack snapshot. A ROOT volume not yet allocated is not empty:
    CloudStack writes the template onto it when the VM first starts."""
    return (cs_volume.get("state") == "Allocated" and cs_volume.get("type") != "ROOT"
            and not cs_volume.get("snapshotid"))


async def account_of(ctx: RequestContext) -> str:
    return str((await caller_account(ctx)).get("id") or "")


async def find(ctx: RequestContext, snapshot_id: str) -> Any:
    """The caller's zero snapshot SNAPSHOT_ID names (an EC2 id or our uuid), or None (also when the gateway keeps
    none)."""
    if ctx.snapshots is None or not snapshot_id:
        return None
    cs_id = await ctx.ids.to_cloudstack("snapshot", snapshot_id)
    if cs_id is None:
        return None
    return await ctx.snapshots.get(await account_of(ctx), cs_id)


async def find_by_cs_id(ctx: RequestContext, cs_id: str) -> Any:
    """The caller's zero snapshot whose (minted) uuid is CS_ID, or None."""
    if ctx.snapshots is None or not cs_id:
        return None
    return await ctx.snapshots.get(await account_of(ctx), cs_id)


async def records_of(ctx: RequestContext, cs_ids: Sequence[str] | None = None) -> list[Any]:
    """The caller's zero snapshots (those with CS_IDS only, when given)."""
    if ctx.snapshots is None:
        return []
    return await ctx.snapshots.list(await account_of(ctx), list(cs_ids) if cs_ids is not None else None)


async def record_new(ctx: RequestContext, cs_volume: dict, size_gib: int, description: str | None,
                     tags: dict[str, str]) -> Any:
    """Record the snapshot of CS_VOLUME (which holds only zeros) → the stored record."""
    return await ctx.snapshots.add(cs_id=str(uuid.uuid4()), account=await account_of(ctx),
                                   volume_cs_id=cs_volume["id"], size=size_gib, created=ctx.clock(),
                                   description=description or None, tags=dict(tags))
