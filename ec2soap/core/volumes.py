"""Volumes: CreateVolume, DeleteVolume, AttachVolume, DetachVolume, DescribeVolumes. Core: no Twisted, Spyne, lxml, SQL.

EC2 volumes are CloudStack volumes (DATADISK, and the ROOT disks of instances); sizes are GiB on the EC2 side and
bytes on CloudStack's. Device names map to CloudStack device ids by letter (device_id / device_name below).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError
from ec2soap.core import zero_snapshots
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import GIB, Tag, parse_cs_date, tags_of
from ec2soap.errors import ERRORS

log = logging.getLogger(__name__)

__all__ = ["Volume", "Attachment", "VolumePage", "OPERATIONS", "VOLUME_FILTERS", "ROOT_DEVICE_NAME",
           "device_id", "device_name", "volume_status", "gib", "time_strings", "zone_named", "visible_tags",
           "pending_command", "cs_volume", "to_volumes", "HIDDEN_TAG_KEYS", "check_new_tags", "tag_new",
           "DELETE_ON_TERMINATION_TAG", "delete_on_termination", "custom_disk_offering", "MAX_SIZE_GIB"]

# EC2's largest volume (gp2/st1: 16 TiB); CloudStack's custom.diskoffering.size.max usually refuses earlier.
MAX_SIZE_GIB = 16384
# The device name DescribeVolumes shows for a ROOT volume (CloudStack device id 0).
ROOT_DEVICE_NAME = "/dev/sda1"
# A data volume RunInstances made from a BlockDeviceMapping with DeleteOnTermination (launch_devices.py):
# TerminateInstances deletes it with the instance (CloudStack's destroyVirtualMachine volumeids) instead of
# detaching it. A tag, so it lives and dies with the volume and every gateway process sees it.
DELETE_ON_TERMINATION_TAG = "ec2:deleteOnTermination"
# Tag keys the gateway keeps on CloudStack resources for its own use; never shown in tagSet (snapshots.py).
HIDDEN_TAG_KEYS = frozenset({"ec2:description", DELETE_ON_TERMINATION_TAG, zero_snapshots.ORIGIN_TAG})

# /dev/sdf, /dev/xvdf, sdf, xvdf (and the partition form /dev/sda1 of the root device).
_DEVICE = re.compile(r"^(?:/dev/)?(?:sd|xvd)([a-z])([0-9]{0,2})$")

# CloudStack volume states (protocol.md §13) → EC2 status. Allocated/Ready and the transient states of a
# usable volume (snapshotting, resizing, ...) are available or in-use depending on the attachment.
_CREATING = {"Creating", "UploadOp", "UploadInProgress", "NotUploaded", "Copying"}
_DELETING = {"Destroy", "Destroying", "Expunging", "Expunged"}
_USABLE = {"Allocated", "Ready", "Uploaded", "Migrating", "Snapshotting", "RevertSnapshotting", "Resizing",
           "Attaching", "Restoring"}


@dataclass
class Attachment:
    volume_id: str
    instance_id: str
    device: str
    status: str
    attach_time: datetime | None
    delete_on_termination: bool = False


@dataclass
class Volume:
    volume_id: str
    size: int
    snapshot_id: str
    availability_zone: str
    status: str
    create_time: datetime | None
    attachments: list[Attachment] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    volume_type: str = "standard"
    encrypted: bool = False
    cs_id: str = field(default="", repr=False)
    created_order: str = field(default="", repr=False)

    @property
    def tag_set(self) -> list[Tag] | None:
        # EC2 quirk: tagSet is left out when a resource has no tags.
        return self.tags or None


@dataclass
class VolumePage:
    volumes: list[Volume]
    next_token: str | None = None


# -- helpers shared with snapshots.py (and usable by instances for block device mappings) --------------------------
def device_id(device: str) -> int:
    """/dev/sdb, /dev/xvdb, sdb, xvdb → 1; sdc → 2; sdd → 3; ... (CloudStack's documented deviceid ↔ xvdX order;
    the original left `d` out of its table). /dev/sda1 and xvda → 0, the ROOT slot."""
    match = _DEVICE.match((device or "").strip())
    if not match or (match.group(2) and match.group(1) != "a"):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({device}) for parameter device is invalid. {device} is not a valid EBS device name.")
    return ord(match.group(1)) - ord("a")


def device_name(deviceid: Any) -> str:
    """CloudStack device id → the EC2 device name DescribeVolumes shows (0 → /dev/sda1, 1 → /dev/sdb, ...)."""
    try:
        number = int(deviceid)
    except (TypeError, ValueError):
        return ""
    if number == 0:
        return ROOT_DEVICE_NAME
    if 0 < number < 26:
        return f"/dev/sd{chr(ord('a') + number)}"
    return str(number)


def gib(size_bytes: Any) -> int:
    """CloudStack bytes → EC2 GiB (rounded up, so a volume is never reported smaller than it is)."""
    try:
        return int(math.ceil(int(size_bytes or 0) / GIB))
    except (TypeError, ValueError):
        return 0


def time_strings(when: datetime | None) -> list[str]:
    """The forms a time filter value may take (EC2 writes .000Z; people type it with or without millis)."""
    if when is None:
        return []
    when = when.astimezone(timezone.utc)
    return [when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            when.strftime("%Y-%m-%dT%H:%M:%SZ")]


def delete_on_termination(cs: dict) -> bool:
    """Whether CloudStack volume CS goes when its instance terminates: a ROOT disk always (CloudStack deletes
    it with the VM), a data volume when RunInstances made it with DeleteOnTermination."""
    return cs.get("type") == "ROOT" or any(
        t.key == DELETE_ON_TERMINATION_TAG and t.value == "true" for t in tags_of(cs))


def _origin(cs: dict) -> str:
    """The zero snapshot (zero_snapshots.py) a volume was made from, kept in a hidden tag."""
    return next((t.value for t in tags_of(cs) if t.key == zero_snapshots.ORIGIN_TAG), "")


def visible_tags(cs: dict) -> list[Tag]:
    return [t for t in tags_of(cs) if t.key not in HIDDEN_TAG_KEYS]


def check_new_tags(tags: Sequence[tuple[str, str | None]]) -> list[dict]:
    """TagSpecification pairs → CloudStack's tags map, refusing what CreateTags would refuse (checked before
    anything is created, so a bad tag never leaves an untagged resource behind)."""
    out: dict[str, str] = {}
    for key, value in tags:
        if not key or len(key) > 127:
            raise ERRORS["InvalidParameterValue"](detail="Tag keys must be 1 to 127 characters long")
        if key.lower().startswith("aws:") or key in HIDDEN_TAG_KEYS:
            raise ERRORS["InvalidParameterValue"](detail=f"Tag key '{key}' is reserved")
        if value is not None and len(value) > 255:
            raise ERRORS["InvalidParameterValue"](detail="Tag values must be at most 255 characters long")
        if not value:
            # CloudStack quirk: a tag must have a value; EC2 allows an empty one, which CloudStack cannot keep.
            raise ERRORS["InvalidParameterValue"](
                detail=f"Tag '{key}' needs a value: this cloud cannot store an empty tag value")
        out[key] = value
    if len(out) > 50:
        raise ERRORS["TagLimitExceeded"](detail="The maximum number of tags (50) for a resource has been exceeded.")
    return [{"key": k, "value": v} for k, v in out.items()]


async def tag_new(ctx: RequestContext, cs_id: str, resourcetype: str, tags: list[dict]) -> bool:
    """createTags on a resource just made. The resource exists whatever happens here, and its id must reach the
    caller, so a failure is logged and reported as False rather than raised."""
    if not tags:
        return True
    try:
        await ctx.cloud.create_tags(resourceids=cs_id, resourcetype=resourcetype, tags=tags)
    except CloudStackError as exc:
        log.warning("request %s: %s %s made, but tagging it failed: %s", ctx.request_id, resourcetype, cs_id, exc)
        return False
    return True


async def zone_named(ctx: RequestContext, name: str) -> dict:
    """The CloudStack zone an AvailabilityZone names (zone names match case-insensitively, as in the original;
    a zone uuid is accepted too)."""
    wanted = (name or "").strip().lower()
    for zone in await ctx.cloud.list_zones(available=True):
        if str(zone.get("name", "")).lower() == wanted or str(zone.get("id", "")).lower() == wanted:
            return zone
    raise ERRORS["InvalidZone.NotFound"](zone=name)


async def pending_command(ctx: RequestContext, cs: dict) -> str | None:
    """The CloudStack command (CreateVolume, AttachVolume, ...) of the job still running on a resource, if any.

    CloudStack lists only the job's id on the resource; its `cmd` (…volume.CreateVolumeCmd) says what it does."""
    if not cs.get("jobid") or str(cs.get("jobstatus", "0")) != "0":
        return None
    try:
        job = await ctx.cloud.query_async_job_result(jobid=cs["jobid"])
    except CloudStackError:
        return None
    if not isinstance(job, dict) or str(job.get("jobstatus", "0")) != "0":
        return None
    cmd = str(job.get("cmd", "")).rsplit(".", 1)[-1]
    return cmd[:-3] if cmd.endswith("Cmd") else cmd or None


def volume_status(cs: dict, command: str | None = None) -> str:
    """CloudStack state (+ the running job's command) → EC2 volume status. Unlike the original, an attached
    volume is `in-use`; a volume whose createVolume job still runs is `creating`."""
    state = cs.get("state") or ""
    if state in _DELETING:
        return "deleting"
    if state in _CREATING or (command == "CreateVolume" and state == "Allocated"):
        return "creating"
    if state in _USABLE:
        return "in-use" if cs.get("virtualmachineid") else "available"
    return "error"


async def _volume_cs_id(ctx: RequestContext, volume_id: str) -> str:
    cs_id = await ctx.ids.to_cloudstack("volume", volume_id) if volume_id else None
    if cs_id is None:
        raise ERRORS["InvalidVolume.NotFound"](volume_id=volume_id)
    return cs_id


async def cs_volume(ctx: RequestContext, volume_id: str) -> dict:
    """The caller's CloudStack volume that VOLUME_ID names (an EC2 id or a CloudStack uuid)."""
    cs_id = await _volume_cs_id(ctx, volume_id)
    try:
        found = await ctx.cloud.list_volumes(id=cs_id)
    except CloudStackApiError as exc:
        if exc.errorcode == 431:
            found = []
        else:
            raise
    if not found or found[0].get("state") == "Expunged":
        raise ERRORS["InvalidVolume.NotFound"](volume_id=volume_id)
    return found[0]


async def _cs_instance(ctx: RequestContext, instance_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("instance", instance_id) if instance_id else None
    found: list = []
    if cs_id is not None:
        try:
            found = await ctx.cloud.list_virtual_machines(id=cs_id)
        except CloudStackApiError as exc:
            if exc.errorcode != 431:
                raise
    if not found or found[0].get("state") in ("Expunging", "Expunged"):
        raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id)
    return found[0]


async def to_volumes(ctx: RequestContext, cs_volumes: Sequence[dict], *,
                     commands: dict | None = None) -> list[Volume]:
    """CloudStack volumes → Volume objects, minting the EC2 ids they need in three batches."""
    commands = commands if commands is not None else {}
    vol_ids = await ctx.ids.to_ec2_many("volume", [v["id"] for v in cs_volumes])
    vm_ids = await ctx.ids.to_ec2_many("instance", [v["virtualmachineid"] for v in cs_volumes
                                                    if v.get("virtualmachineid")])
    snap_ids = await ctx.ids.to_ec2_many("snapshot", [v["snapshotid"] for v in cs_volumes if v.get("snapshotid")])
    out = []
    for cs in cs_volumes:
        command = commands.get(cs["id"])
        volume_id = vol_ids[cs["id"]]
        attachments = []
        if cs.get("virtualmachineid"):
            attachments.append(Attachment(
                volume_id=volume_id, instance_id=vm_ids[cs["virtualmachineid"]],
                device=device_name(cs.get("deviceid")),
                status="detaching" if command == "DetachVolume" else "attached",
                attach_time=parse_cs_date(cs.get("attached")) or parse_cs_date(cs.get("created")),
                delete_on_termination=delete_on_termination(cs)))
        out.append(Volume(
            volume_id=volume_id, size=gib(cs.get("size")),
            snapshot_id=snap_ids.get(cs.get("snapshotid") or "", "") or _origin(cs),
            availability_zone=cs.get("zonename") or "", status=volume_status(cs, command),
            create_time=parse_cs_date(cs.get("created")), attachments=attachments, tags=visible_tags(cs),
            cs_id=cs["id"], created_order=cs.get("created") or ""))
    return out


async def _commands_of(ctx: RequestContext, cs_volumes: Sequence[dict]) -> dict[str, str]:
    """{volume uuid: command} for the volumes a job is still working on (usually none)."""
    out = {}
    for cs in cs_volumes:
        if cs.get("jobid"):
            command = await pending_command(ctx, cs)
            if command:
                out[cs["id"]] = command
    return out


VOLUME_FILTERS = {
    "volume-id": lambda v: v.volume_id,
    "size": lambda v: v.size,
    "snapshot-id": lambda v: v.snapshot_id,
    "availability-zone": lambda v: v.availability_zone,
    "status": lambda v: v.status,
    "create-time": lambda v: time_strings(v.create_time),
    "volume-type": lambda v: v.volume_type,
    "encrypted": lambda v: v.encrypted,
    "attachment.attach-time": lambda v: [t for a in v.attachments for t in time_strings(a.attach_time)],
    "attachment.device": lambda v: [a.device for a in v.attachments],
    "attachment.instance-id": lambda v: [a.instance_id for a in v.attachments],
    "attachment.status": lambda v: [a.status for a in v.attachments],
    # The original refused this one; EC2 has it and we know the answer.
    "attachment.delete-on-termination": lambda v: [a.delete_on_termination for a in v.attachments],
}


# -- operations -----------------------------------------------------------------------------------------------
async def describe_volumes(ctx: RequestContext, volume_ids: Sequence[str] = (), filters: Sequence[Filter] = (),
                           max_results: int | None = None, next_token: str | None = None) -> VolumePage:
    """DescribeVolumes → listVolumes (one call; ids, filters and pages are applied here)."""
    if volume_ids and max_results is not None:
        raise ERRORS["InvalidParameterCombination"](
            detail="The parameter volumeSet cannot be used with the parameter maxResults")
    wanted = await ctx.ids.to_cloudstack_many("volume", volume_ids) if volume_ids else {}
    for given, cs_id in wanted.items():
        if cs_id is None:
            raise ERRORS["InvalidVolume.NotFound"](volume_id=given)
    # EC2 deletes a root volume (DeleteOnTermination) as its instance terminates; CloudStack keeps it, state
    # Destroy, until the VM is expunged (expunge.delay).
    cs_volumes = [v for v in await ctx.cloud.list_volumes() if v.get("state") != "Expunged"
                  and not (v.get("type") == "ROOT" and v.get("state") in ("Destroy", "Expunging"))]
    if volume_ids:
        present = {v["id"] for v in cs_volumes}
        for given, cs_id in wanted.items():
            if cs_id not in present:
                raise ERRORS["InvalidVolume.NotFound"](volume_id=given)
        keep = set(wanted.values())
        cs_volumes = [v for v in cs_volumes if v["id"] in keep]
    volumes = await to_volumes(ctx, cs_volumes, commands=await _commands_of(ctx, cs_volumes))
    volumes = apply_filters(VOLUME_FILTERS, filters, volumes)
    # A stable order keeps NextToken pages consistent between calls.
    volumes.sort(key=lambda v: (v.created_order, v.volume_id))
    # EC2 quirk: MaxResults above 500 is not an error, it just gets 500 (awscli always asks for 1000).
    if max_results is not None:
        max_results = min(max_results, 500)
    page, token = paginate(volumes, max_results, next_token, minimum=5, maximum=500)
    return VolumePage(page, token)


async def custom_disk_offering(ctx: RequestContext, zone_id: str) -> dict:
    """The disk offering that takes a size: customized, preferably without storage tags (as the original) and
    not one that asks for encryption."""
    offerings = [o for o in await ctx.cloud.list_disk_offerings(zoneid=zone_id)
                 if o.get("iscustomized") and not o.get("encrypt")]
    offerings.sort(key=lambda o: bool(o.get("tags")))
    if not offerings:
        raise ERRORS["InternalError"]("No custom-size disk offering is available in this cloud; ask the operator "
                                      "to create one (CloudStack createDiskOffering customized=true).")
    return offerings[0]


def _check_size(size: int | None) -> None:
    if size is not None and not 1 <= size <= MAX_SIZE_GIB:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({size}) for parameter size is invalid. Volume size must be between 1 and "
                   f"{MAX_SIZE_GIB} GiB.")


async def create_volume(ctx: RequestContext, availability_zone: str, size: int | None = None,
                        snapshot_id: str | None = None, volume_type: str | None = None,
                        tags: Sequence[tuple[str, str | None]] = ()) -> Volume:
    """CreateVolume → createVolume (started, not awaited: the answer says `creating`), then createTags for
    TagSpecification. Size picks the custom-size disk offering; SnapshotId restores a snapshot (at least its
    size)."""
    if not availability_zone:
        raise ERRORS["MissingParameter"](name="AvailabilityZone")
    if volume_type not in (None, "", "standard"):
        # CloudStack has no EBS volume types; pretending to give gp2 or io1 would be a lie.
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({volume_type}) for parameter volumeType is invalid. This cloud offers only "
                   f"'standard' volumes.")
    if size is None and not snapshot_id:
        raise ERRORS["MissingParameter"](name="Size or SnapshotId")
    origin = None
    zero = await zero_snapshots.find(ctx, snapshot_id) if snapshot_id else None
    if zero is not None:
        # A snapshot of a volume that held only zeros: the new volume is an empty one of (at least) its size.
        if size is not None and size < zero.size:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Volume of {size}GiB is too small; minimum is {zero.size}GiB.")
        size, snapshot_id = size or zero.size, None
        origin = await ctx.ids.to_ec2("snapshot", zero.cs_id)
    _check_size(size)
    new_tags = check_new_tags(tags)
    zone = await zone_named(ctx, availability_zone)
    params: dict[str, Any] = {"zoneid": zone["id"]}
    if snapshot_id:
        snap_cs_id = await ctx.ids.to_cloudstack("snapshot", snapshot_id)
        found = await ctx.cloud.list_snapshots(id=snap_cs_id) if snap_cs_id else []
        if not found:
            raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=snapshot_id)
        snapshot_size = gib(found[0].get("virtualsize"))
        if size is not None and size < snapshot_size:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Volume of {size}GiB is too small; minimum is {snapshot_size}GiB.")
        if found[0].get("state") != "BackedUp":
            raise ERRORS["IncorrectState"](detail=f"Snapshot '{snapshot_id}' is not completed yet.")
        params["snapshotid"] = snap_cs_id
        if size is not None and size > snapshot_size:
            params["size"] = size
    else:
        params["diskofferingid"] = (await custom_disk_offering(ctx, zone["id"]))["id"]
        params["size"] = size
    try:
        started = await ctx.cloud.begin_create_volume(**params)
    except CloudStackApiError as exc:
        raise _create_error(exc, snapshot_id) from None
    kept = [{"key": zero_snapshots.ORIGIN_TAG, "value": origin}] if origin else []
    tagged = await tag_new(ctx, started["id"], "Volume", new_tags + kept)
    made = {"id": started["id"], "size": (size or 0) * GIB, "zonename": zone.get("name"),
            "snapshotid": params.get("snapshotid"), "state": "Creating"}
    try:
        listed = await ctx.cloud.list_volumes(id=started["id"])
    except CloudStackError:
        listed = []
    if listed:
        made = {**listed[0], "state": "Creating"}
    volume = (await to_volumes(ctx, [made]))[0]
    if volume.create_time is None:
        volume.create_time = datetime.fromtimestamp(ctx.clock(), timezone.utc)
    if tagged and new_tags and not volume.tags:
        volume.tags = [Tag(t["key"], t["value"]) for t in new_tags]
    if origin and tagged:
        volume.snapshot_id = origin
    return volume


def _create_error(exc: CloudStackApiError, snapshot_id: str | None) -> Exception:
    text = exc.errortext.lower()
    if exc.errorcode == 535:
        return ERRORS["VolumeLimitExceeded"]()
    if exc.errorcode == 431 and snapshot_id and "snapshot" in text:
        if "state" in text:
            return ERRORS["IncorrectState"](detail=f"Snapshot '{snapshot_id}' is not completed yet.")
        return ERRORS["InvalidSnapshot.NotFound"](snapshot_id=snapshot_id)
    if exc.errorcode == 431 and "size" in text:
        return ERRORS["InvalidParameterValue"](detail=f"Value for parameter size is invalid: {exc.errortext}")
    return exc


async def delete_volume(ctx: RequestContext, volume_id: str) -> bool:
    """DeleteVolume → deleteVolume. An attached volume (a ROOT disk included) is VolumeInUse."""
    cs = await cs_volume(ctx, volume_id)
    if cs.get("virtualmachineid"):
        instance = await ctx.ids.to_ec2("instance", cs["virtualmachineid"])
        raise ERRORS["VolumeInUse"](volume_id=volume_id, instance_id=instance)
    if await pending_command(ctx, cs) == "AttachVolume":
        # Being attached: CloudStack names the VM only once the attach is done.
        raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' is attaching; it cannot be deleted.")
    try:
        await ctx.cloud.delete_volume(id=cs["id"])
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
        if "attached" in exc.errortext:
            raise ERRORS["VolumeInUse"](volume_id=volume_id, instance_id="an instance") from None
        raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' cannot be deleted now: another operation "
                                              f"is working on it; retry later.") from None
    return True


async def attach_volume(ctx: RequestContext, volume_id: str, instance_id: str, device: str) -> Attachment:
    """AttachVolume → attachVolume deviceid=<from Device>, answering `attaching` without waiting for the job."""
    wanted_device = device_id(device)
    cs = await cs_volume(ctx, volume_id)
    vm = await _cs_instance(ctx, instance_id)
    if cs.get("virtualmachineid"):
        attached_to = await ctx.ids.to_ec2("instance", cs["virtualmachineid"])
        raise ERRORS["VolumeInUse"](volume_id=volume_id, instance_id=attached_to)
    command = await pending_command(ctx, cs)
    # An attach still running is not visible on the volume yet (CloudStack names the VM only once it is done).
    status = "attaching" if command == "AttachVolume" else volume_status(cs, command)
    if status != "available":
        raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' is in the '{status}' state.")
    if vm.get("state") not in ("Running", "Stopped"):
        raise ERRORS["IncorrectState"](detail=f"Instance '{instance_id}' is not 'running' or 'stopped'.")
    if vm.get("zoneid") != cs.get("zoneid"):
        raise ERRORS["InvalidVolume.ZoneMismatch"](volume_id=volume_id, instance_id=instance_id)
    in_use = {str(v.get("deviceid")) for v in await ctx.cloud.list_volumes(virtualmachineid=vm["id"])}
    if str(wanted_device) in in_use:
        raise ERRORS["InvalidDevice.InUse"](device=device)
    try:
        # Started, not awaited: EC2 answers `attaching` at once and DescribeVolumes shows the end of it.
        await ctx.cloud.begin_attach_volume(id=cs["id"], virtualmachineid=vm["id"], deviceid=wanted_device)
    except CloudStackApiError as exc:
        raise _attach_error(exc, volume_id, instance_id, device) from None
    return Attachment(volume_id=await ctx.ids.to_ec2("volume", cs["id"]),
                      instance_id=await ctx.ids.to_ec2("instance", vm["id"]),
                      device=device, status="attaching", attach_time=datetime.fromtimestamp(ctx.clock(), timezone.utc))


def _attach_error(exc: CloudStackApiError, volume_id: str, instance_id: str, device: str) -> Exception:
    text = exc.errortext.lower()
    if exc.errorcode == 431 and "deviceid" in text.replace(" ", ""):
        if "used" in text:
            return ERRORS["InvalidDevice.InUse"](device=device)
        # CloudStack quirk: some hypervisors keep device id 3 for the CD-ROM and refuse it for disks.
        return ERRORS["InvalidParameterValue"](
            detail=f"Value ({device}) for parameter device is invalid. CloudStack refused it: {exc.errortext}")
    if exc.errorcode == 431 and "maximum number of data disks" in text:
        return ERRORS["AttachmentLimitExceeded"](instance_id=instance_id)
    if exc.errorcode == 431 and "same zone" in text:
        return ERRORS["InvalidVolume.ZoneMismatch"](volume_id=volume_id, instance_id=instance_id)
    if exc.errorcode == 431 and "not attached to any vm" in text:
        return ERRORS["VolumeInUse"](volume_id=volume_id, instance_id="an instance")
    if exc.errorcode == 431 and "running or stopped" in text:
        return ERRORS["IncorrectState"](detail=f"Instance '{instance_id}' is not 'running' or 'stopped'.")
    return exc


async def detach_volume(ctx: RequestContext, volume_id: str, instance_id: str | None = None,
                        device: str | None = None, force: bool = False) -> Attachment:
    """DetachVolume → detachVolume, answering `detaching` without waiting for the job. InstanceId/Device, when
    given, must name the current attachment. Force is accepted; CloudStack has no forced detach, so it changes
    nothing."""
    cs = await cs_volume(ctx, volume_id)
    if not cs.get("virtualmachineid"):
        raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' is in the '{volume_status(cs)}' state.")
    command = await pending_command(ctx, cs)
    current = (await to_volumes(ctx, [cs], commands={cs["id"]: command} if command else None))[0].attachments[0]
    if current.status == "detaching":
        raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' is already detaching.")
    if instance_id:
        vm_cs_id = await ctx.ids.to_cloudstack("instance", instance_id)
        if vm_cs_id != cs["virtualmachineid"]:
            raise ERRORS["InvalidAttachment.NotFound"](volume_id=volume_id, detail=f" to instance '{instance_id}'")
    if device and device_id(device) != int(cs.get("deviceid", -1)):
        raise ERRORS["InvalidAttachment.NotFound"](volume_id=volume_id, detail=f" as device '{device}'")
    if cs.get("type") == "ROOT":
        raise ERRORS["OperationNotPermitted"](
            detail=f"Volume '{volume_id}' is the root volume of '{current.instance_id}'; CloudStack does not "
                   f"detach root volumes.")
    try:
        # Started, not awaited: EC2 answers `detaching` at once.
        await ctx.cloud.begin_detach_volume(id=cs["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "not attached" in exc.errortext:
            raise ERRORS["IncorrectState"](detail=f"Volume '{volume_id}' is in the 'available' state.") from None
        if exc.errorcode == 431 and "running or stopped" in exc.errortext:
            raise ERRORS["IncorrectState"](
                detail=f"Instance '{current.instance_id}' is not 'running' or 'stopped'.") from None
        raise
    current.status = "detaching"
    if device:
        current.device = device
    return current


OPERATIONS: dict[str, Any] = {
    "DescribeVolumes": describe_volumes,
    "CreateVolume": create_volume,
    "DeleteVolume": delete_volume,
    "AttachVolume": attach_volume,
    "DetachVolume": detach_volume,
}
