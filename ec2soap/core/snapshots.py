"""Snapshots: CreateSnapshot, DeleteSnapshot, DescribeSnapshots. Core: no Twisted, Spyne, lxml, SQL.

A CloudStack snapshot has no description, so the EC2 Description is kept in a CloudStack tag on the snapshot,
key `ec2:description` (DESCRIPTION_TAG): it survives restarts, moves with the snapshot, goes away with it, and is
never shown in tagSet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError
from ec2soap.core import zero_snapshots
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.images import caller_account
from ec2soap.core.model import Tag, owner_id, parse_cs_date, tags_of
from ec2soap.core.volumes import HIDDEN_TAG_KEYS, check_new_tags, cs_volume, gib, tag_new, time_strings
from ec2soap.errors import ERRORS

__all__ = ["Snapshot", "SnapshotPage", "OPERATIONS", "SNAPSHOT_FILTERS", "DESCRIPTION_TAG", "snapshot_status"]

# One of volumes.HIDDEN_TAG_KEYS, so tagSet never shows it.
DESCRIPTION_TAG = "ec2:description"
MAX_DESCRIPTION = 255

# CloudStack snapshot states (Snapshot.State) → EC2 (status, progress). The in-flight percentages are the
# original's (Creating 33%, BackingUp 66%), with the states it did not know placed between them.
_PROGRESS = {"Allocated": 0, "Creating": 33, "CreatedOnPrimary": 50, "BackingUp": 66, "Copying": 80}
# A snapshot on its way out is gone for EC2 (EC2 has no `deleting` snapshot state).
_GONE = {"Destroying", "Destroyed", "Hidden"}


@dataclass
class Snapshot:
    snapshot_id: str
    volume_id: str
    status: str
    start_time: datetime | None
    progress: str
    owner_id: str
    volume_size: int
    description: str = ""
    owner_alias: str | None = None
    tags: list[Tag] = field(default_factory=list)
    encrypted: bool = False
    cs_id: str = field(default="", repr=False)
    created_order: str = field(default="", repr=False)

    @property
    def tag_set(self) -> list[Tag] | None:
        # EC2 quirk: tagSet is left out when a resource has no tags.
        return self.tags or None


@dataclass
class SnapshotPage:
    snapshots: list[Snapshot]
    next_token: str | None = None


def snapshot_status(state: str) -> tuple[str, str]:
    """CloudStack snapshot state → EC2 (status, progress)."""
    if state == "BackedUp":
        return "completed", "100%"
    if state in _PROGRESS:
        return "pending", f"{_PROGRESS[state]}%"
    return "error", "0%"


def _description(cs: dict) -> str:
    return next((t.value for t in tags_of(cs) if t.key == DESCRIPTION_TAG), "")


async def _owner_of(ctx: RequestContext, cs: dict) -> str:
    # CloudStack quirk: listSnapshots names the account but not its uuid; the caller's own uuid (what images
    # and security groups show as ownerId) comes from listAccounts, asked once per request.
    me = await caller_account(ctx) if cs.get("account") else {}
    return me["id"] if me.get("id") and me.get("name") == cs.get("account") else owner_id(cs)


async def to_snapshots(ctx: RequestContext, cs_snapshots: Sequence[dict]) -> list[Snapshot]:
    snap_ids = await ctx.ids.to_ec2_many("snapshot", [s["id"] for s in cs_snapshots])
    vol_ids = await ctx.ids.to_ec2_many("volume", [s["volumeid"] for s in cs_snapshots if s.get("volumeid")])
    out = []
    for cs in cs_snapshots:
        status, progress = snapshot_status(cs.get("state") or "")
        out.append(Snapshot(
            snapshot_id=snap_ids[cs["id"]], volume_id=vol_ids.get(cs.get("volumeid") or "", ""),
            status=status, start_time=parse_cs_date(cs.get("created")), progress=progress,
            owner_id=await _owner_of(ctx, cs), volume_size=gib(cs.get("virtualsize") or cs.get("physicalsize")),
            description=_description(cs), owner_alias=cs.get("account") or None,
            tags=[t for t in tags_of(cs) if t.key not in HIDDEN_TAG_KEYS], cs_id=cs["id"],
            created_order=cs.get("created") or ""))
    return out


async def _zero_to_snapshots(ctx: RequestContext, records: Sequence[Any]) -> list[Snapshot]:
    """The gateway's own snapshots of volumes that held only zeros (zero_snapshots.py), as EC2 shows them."""
    if not records:
        return []
    snap_ids = await ctx.ids.to_ec2_many("snapshot", [r.cs_id for r in records])
    vol_ids = await ctx.ids.to_ec2_many("volume", [r.volume_cs_id for r in records])
    me = await caller_account(ctx)
    out = []
    for record in records:
        when = datetime.fromtimestamp(record.created, timezone.utc)
        out.append(Snapshot(
            snapshot_id=snap_ids[record.cs_id], volume_id=vol_ids[record.volume_cs_id], status="completed",
            start_time=when, progress="100%", owner_id=me.get("id") or record.account, volume_size=record.size,
            description=record.description or "", owner_alias=me.get("name") or None,
            tags=[Tag(k, v) for k, v in record.tags.items()], cs_id=record.cs_id,
            created_order=when.strftime("%Y-%m-%dT%H:%M:%S%z")))
    return out


SNAPSHOT_FILTERS = {
    "snapshot-id": lambda s: s.snapshot_id,
    "volume-id": lambda s: s.volume_id,
    "status": lambda s: s.status,
    "start-time": lambda s: time_strings(s.start_time),
    "progress": lambda s: s.progress,
    "owner-id": lambda s: s.owner_id,
    "owner-alias": lambda s: s.owner_alias,
    "volume-size": lambda s: s.volume_size,
    "description": lambda s: s.description,
    "encrypted": lambda s: s.encrypted,
}


def _owned_by(snapshot: Snapshot, owners: Sequence[str]) -> bool:
    # Every snapshot a caller lists is its own: CloudStack has no public or shared volume snapshots, so
    # `amazon`, `all` or another account's id select nothing.
    return any(o in ("self", snapshot.owner_id) for o in owners)


async def describe_snapshots(ctx: RequestContext, snapshot_ids: Sequence[str] = (), owners: Sequence[str] = (),
                             restorable_by: Sequence[str] = (), filters: Sequence[Filter] = (),
                             max_results: int | None = None, next_token: str | None = None) -> SnapshotPage:
    """DescribeSnapshots → listSnapshots (one call: sizes come from the snapshot, no listVolumes per volume as
    the original did)."""
    if snapshot_ids and max_results is not None:
        raise ERRORS["InvalidParameterCombination"](
            detail="The parameter snapshotSet cannot be used with the parameter maxResults")
    wanted = await ctx.ids.to_cloudstack_many("snapshot", snapshot_ids) if snapshot_ids else {}
    for given, cs_id in wanted.items():
        if cs_id is None:
            raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=given)
    cs_snapshots = [s for s in await ctx.cloud.list_snapshots() if s.get("state") not in _GONE]
    zeros = await zero_snapshots.records_of(ctx)
    if snapshot_ids:
        present = {s["id"] for s in cs_snapshots} | {r.cs_id for r in zeros}
        for given, cs_id in wanted.items():
            if cs_id not in present:
                raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=given)
        keep = set(wanted.values())
        cs_snapshots = [s for s in cs_snapshots if s["id"] in keep]
        zeros = [r for r in zeros if r.cs_id in keep]
    snapshots = await to_snapshots(ctx, cs_snapshots) + await _zero_to_snapshots(ctx, zeros)
    if owners:
        snapshots = [s for s in snapshots if _owned_by(s, owners)]
    if restorable_by:
        snapshots = [s for s in snapshots if _owned_by(s, restorable_by)]
    snapshots = apply_filters(SNAPSHOT_FILTERS, filters, snapshots)
    snapshots.sort(key=lambda s: (s.created_order, s.snapshot_id))
    # EC2 quirk: MaxResults above 1000 is not an error, it just gets 1000.
    if max_results is not None:
        max_results = min(max_results, 1000)
    page, token = paginate(snapshots, max_results, next_token, minimum=5, maximum=1000)
    return SnapshotPage(page, token)


async def _cs_snapshot(ctx: RequestContext, snapshot_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("snapshot", snapshot_id) if snapshot_id else None
    found: list = []
    if cs_id is not None:
        try:
            found = await ctx.cloud.list_snapshots(id=cs_id)
        except CloudStackApiError as exc:
            if exc.errorcode != 431:
                raise
    if not found or found[0].get("state") in _GONE:
        raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=snapshot_id)
    return found[0]


async def create_snapshot(ctx: RequestContext, volume_id: str, description: str | None = None,
                          tags: Sequence[tuple[str, str | None]] = ()) -> Snapshot:
    """CreateSnapshot → createSnapshot (started, not awaited: the answer says `pending`), then one createTags
    for the description and the TagSpecification tags."""
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value for parameter description is invalid: at most {MAX_DESCRIPTION} characters.")
    new_tags = check_new_tags(tags)
    volume = await cs_volume(ctx, volume_id)
    if zero_snapshots.holds_only_zeros(volume) and ctx.snapshots is not None:
        # CloudStack has no storage for it yet, so it cannot snapshot it; it holds only zeros (zero_snapshots.py).
        record = await zero_snapshots.record_new(ctx, volume, gib(volume.get("size")), description,
                                                 {t["key"]: t["value"] for t in new_tags})
        return (await _zero_to_snapshots(ctx, [record]))[0]
    try:
        started = await ctx.cloud.begin_create_snapshot(volumeid=volume["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 535:
            raise ERRORS["SnapshotLimitExceeded"]() from None
        if exc.errorcode == 431 and "state" in exc.errortext.lower():
            # CloudStack quirk: a volume gets storage only when first attached; before that there is nothing to
            # snapshot, and CloudStack refuses.
            raise ERRORS["IncorrectState"](
                detail=f"Volume '{volume_id}' cannot be snapshotted yet: CloudStack allocates its storage when it "
                       f"is first attached to an instance (state {volume.get('state')}).") from None
        raise
    cs_id = started["id"]
    description_tag = [{"key": DESCRIPTION_TAG, "value": description}] if description else []
    tagged = await tag_new(ctx, cs_id, "Snapshot", description_tag + new_tags)
    try:
        listed = await ctx.cloud.list_snapshots(id=cs_id)
    except CloudStackError:
        listed = []
    cs = listed[0] if listed else {"id": cs_id, "volumeid": volume["id"], "virtualsize": volume.get("size"),
                                   "state": "Creating", "account": volume.get("account")}
    snapshot = (await to_snapshots(ctx, [{**cs, "state": cs.get("state") if cs.get("state") in _PROGRESS
                                          else "Creating"}]))[0]
    snapshot.description = (description or "") if tagged else ""
    if tagged and new_tags and not snapshot.tags:
        snapshot.tags = [Tag(t["key"], t["value"]) for t in new_tags]
    if snapshot.start_time is None:
        snapshot.start_time = datetime.fromtimestamp(ctx.clock(), timezone.utc)
    return snapshot


async def delete_snapshot(ctx: RequestContext, snapshot_id: str) -> bool:
    """DeleteSnapshot → deleteSnapshot (waits for the job); a snapshot the gateway keeps itself is forgotten."""
    zero = await zero_snapshots.find(ctx, snapshot_id)
    if zero is not None:
        await ctx.snapshots.delete(zero.account, zero.cs_id)
        return True
    cs = await _cs_snapshot(ctx, snapshot_id)
    try:
        await ctx.cloud.delete_snapshot(id=cs["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "status" in exc.errortext.lower():
            raise ERRORS["IncorrectState"](
                detail=f"Snapshot '{snapshot_id}' is still being taken; delete it once it is completed.") from None
        if exc.errorcode == 431 and "destroyed" in exc.errortext.lower():
            raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=snapshot_id) from None
        raise
    return True


OPERATIONS: dict[str, Any] = {
    "DescribeSnapshots": describe_snapshots,
    "CreateSnapshot": create_snapshot,
    "DeleteSnapshot": delete_snapshot,
}
