"""RunInstances' BlockDeviceMapping and TagSpecification: checked before anything is launched (plan), carried out
once the instances exist (finish). Core: no Twisted, Spyne, lxml or SQL here.

- The root device (/dev/sda1, xvda, ...) takes VolumeSize (CloudStack's rootdisksize) and DeleteOnTermination
  true, which is all CloudStack does with a ROOT disk.
- Every other EBS entry is a new volume (VolumeSize, or SnapshotId restored at least at its size), attached at
  the device it names before the instance first boots: the instances are deployed stopped, the volumes
  created and attached, then the instances started, so they answer `pending` as usual. DeleteOnTermination
  (EC2's default for these volumes: true) is kept on the volume (volumes.DELETE_ON_TERMINATION_TAG).
- What CloudStack cannot do is refused with InvalidParameterValue naming it: instance store (VirtualName),
  EBS volume types other than standard, Iops, Throughput, encryption, a root volume kept after termination.
- TagSpecification: `instance` tags the VMs, `volume` their ROOT volumes and the mapped volumes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError, CloudStackJobFailed
from ec2soap.core import zero_snapshots
from ec2soap.core.context import RequestContext
from ec2soap.core.tag_specs import TagSpecs, split_specs
from ec2soap.core.volumes import (DELETE_ON_TERMINATION_TAG, MAX_SIZE_GIB, custom_disk_offering, device_id,
                                  device_name, gib)
from ec2soap.errors import ERRORS

__all__ = ["BlockDeviceRequest", "LaunchPlan", "TagSpecs", "plan", "finish", "RUN_TAG_TYPES"]

log = logging.getLogger(__name__)

# RunInstances' TagSpecification resource types in EC2, and why this cloud cannot tag the ones it lacks.
RUN_TAG_TYPES = ("instance", "volume", "network-interface", "spot-instances-request", "elastic-gpu")
_NO_SUCH = {
    "network-interface": "CloudStack cannot tag a NIC, so network interfaces take no tags here.",
    "spot-instances-request": "this cloud has no spot instances.",
    "elastic-gpu": "this cloud has no elastic GPUs.",
}


@dataclass(frozen=True)
class BlockDeviceRequest:
    """One BlockDeviceMapping entry of RunInstances, as the client sent it (None: not given)."""
    device_name: str | None
    virtual_name: str | None = None
    no_device: bool = False
    ebs: bool = False
    volume_size: int | None = None
    snapshot_id: str | None = None
    delete_on_termination: bool | None = None
    volume_type: str | None = None
    iops: int | None = None
    throughput: int | None = None
    encrypted: bool | None = None
    kms_key_id: str | None = None


@dataclass(frozen=True)
class DataVolume:
    device_id: int
    device: str
    size: int | None
    snapshot_cs_id: str | None
    delete_on_termination: bool
    # A snapshot of a volume that held only zeros (zero_snapshots.py): an empty volume remembers it.
    origin: str | None = None


@dataclass
class LaunchPlan:
    zone_id: str
    deploy_params: dict[str, Any] = field(default_factory=dict)
    volumes: list[DataVolume] = field(default_factory=list)
    instance_tags: list[dict] = field(default_factory=list)
    volume_tags: list[dict] = field(default_factory=list)
    disk_offering_id: str | None = None


def _invalid(index: int, detail: str) -> Exception:
    return ERRORS["InvalidParameterValue"](detail=f"BlockDeviceMapping {index}: {detail}")


def _check_ebs(index: int, entry: BlockDeviceRequest) -> None:
    if entry.volume_type not in (None, "", "standard"):
        raise _invalid(index, f"volume type '{entry.volume_type}' is not available; this cloud offers only "
                              f"'standard' volumes.")
    if entry.iops is not None:
        raise _invalid(index, "Iops cannot be set: CloudStack volumes have no provisioned IOPS here.")
    if entry.throughput is not None:
        raise _invalid(index, "Throughput cannot be set: this cloud offers only 'standard' volumes.")
    if entry.encrypted or entry.kms_key_id:
        raise _invalid(index, "encrypted EBS volumes are not available on this cloud.")
    if entry.volume_size is not None and not 1 <= entry.volume_size <= MAX_SIZE_GIB:
        raise _invalid(index, f"VolumeSize ({entry.volume_size}) must be between 1 and {MAX_SIZE_GIB} GiB.")


async def _snapshot(ctx: RequestContext, index: int, snapshot_id: str) -> tuple[str, int]:
    cs_id = await ctx.ids.to_cloudstack("snapshot", snapshot_id)
    found = await ctx.cloud.list_snapshots(id=cs_id) if cs_id else []
    if not found:
        raise ERRORS["InvalidSnapshot.NotFound"](snapshot_id=snapshot_id)
    if found[0].get("state") != "BackedUp":
        raise ERRORS["IncorrectState"](detail=f"Snapshot '{snapshot_id}' is not completed yet.")
    return cs_id, gib(found[0].get("virtualsize") or found[0].get("physicalsize"))


async def plan(ctx: RequestContext, block_devices: Sequence[BlockDeviceRequest], tag_specifications: TagSpecs,
               template: dict, zone: dict) -> LaunchPlan:
    """Check BLOCK_DEVICES and TAG_SPECIFICATIONS against what CloudStack can do, before anything is launched."""
    tags = split_specs(tag_specifications, RUN_TAG_TYPES, ("instance", "volume"), _NO_SUCH)
    out = LaunchPlan(zone_id=zone["id"], instance_tags=tags.get("instance", []), volume_tags=tags.get("volume", []))
    seen: set[int] = set()
    for index, entry in enumerate(block_devices, 1):
        if not entry.device_name:
            raise ERRORS["MissingParameter"](name=f"BlockDeviceMapping.{index}.DeviceName")
        slot = device_id(entry.device_name)
        if slot in seen:
            raise _invalid(index, f"device {entry.device_name} is mapped more than once.")
        seen.add(slot)
        if entry.virtual_name:
            raise _invalid(index, f"instance store ({entry.virtual_name}) is not available: CloudStack instances "
                                  f"have EBS-style volumes only.")
        if entry.no_device:
            if slot == 0:
                raise _invalid(index, "the root device cannot be suppressed (NoDevice).")
            # Our images map only their root device, so there is nothing else to suppress.
            continue
        if not entry.ebs:
            raise ERRORS["MissingParameter"](name=f"BlockDeviceMapping.{index}.Ebs")
        _check_ebs(index, entry)
        if slot == 0:
            out.deploy_params.update(_root(index, entry, template))
            continue
        snapshot_cs_id, size, origin = None, entry.volume_size, None
        zero = await zero_snapshots.find(ctx, entry.snapshot_id) if entry.snapshot_id else None
        if zero is not None:
            if size is not None and size < zero.size:
                raise _invalid(index, f"VolumeSize ({size} GiB) is smaller than snapshot {entry.snapshot_id} "
                                      f"({zero.size} GiB).")
            size, origin = size or zero.size, await ctx.ids.to_ec2("snapshot", zero.cs_id)
        elif entry.snapshot_id:
            snapshot_cs_id, snapshot_size = await _snapshot(ctx, index, entry.snapshot_id)
            if size is not None and size < snapshot_size:
                raise _invalid(index, f"VolumeSize ({size} GiB) is smaller than snapshot {entry.snapshot_id} "
                                      f"({snapshot_size} GiB).")
        elif size is None:
            raise ERRORS["MissingParameter"](name=f"BlockDeviceMapping.{index}.Ebs.VolumeSize")
        out.volumes.append(DataVolume(
            device_id=slot, device=device_name(slot), size=size, snapshot_cs_id=snapshot_cs_id,
            delete_on_termination=True if entry.delete_on_termination is None else entry.delete_on_termination,
            origin=origin))
    if any(v.snapshot_cs_id is None for v in out.volumes):
        out.disk_offering_id = (await custom_disk_offering(ctx, zone["id"]))["id"]
    if out.volumes:
        # Stopped until its volumes are attached, so they are there when it first boots.
        out.deploy_params["startvm"] = False
    return out


def _root(index: int, entry: BlockDeviceRequest, template: dict) -> dict[str, Any]:
    if entry.delete_on_termination is False:
        raise _invalid(index, "the root volume cannot be kept after termination: CloudStack deletes an "
                              "instance's ROOT disk with it (DeleteOnTermination must be true).")
    if entry.snapshot_id:
        raise _invalid(index, "the root volume comes from the image; a SnapshotId cannot replace it.")
    if entry.volume_size is None:
        return {}
    image_size = gib(template.get("size"))
    if entry.volume_size < image_size:
        raise _invalid(index, f"VolumeSize ({entry.volume_size} GiB) is smaller than the image's root volume "
                              f"({image_size} GiB).")
    return {"rootdisksize": entry.volume_size}


# -- after the deploy calls -----------------------------------------------------------------------------------------
async def _tag(ctx: RequestContext, cs_ids: Sequence[str], resourcetype: str, tags: list[dict]) -> None:
    """createTags on resources just made. They exist whatever happens here and their ids must reach the caller,
    so a failure is logged, not raised (as volumes.tag_new)."""
    if not tags or not cs_ids:
        return
    try:
        await ctx.cloud.create_tags(resourceids=list(cs_ids), resourcetype=resourcetype, tags=tags)
    except CloudStackError as exc:
        log.warning("request %s: %s %s launched, but tagging failed: %s", ctx.request_id, resourcetype,
                    ",".join(cs_ids), exc)


async def _make_volume(ctx: RequestContext, launch: LaunchPlan, wanted: DataVolume) -> str:
    params: dict[str, Any] = {"zoneid": launch.zone_id}
    if wanted.snapshot_cs_id:
        params["snapshotid"] = wanted.snapshot_cs_id
        if wanted.size:
            params["size"] = wanted.size
    else:
        params.update(diskofferingid=launch.disk_offering_id, size=wanted.size)
    started = await ctx.cloud.begin_create_volume(**params)
    await ctx.cloud.wait_job(started["jobid"], command="createVolume")
    return started["id"]


async def _add_volumes(ctx: RequestContext, launch: LaunchPlan, vm_id: str, jobid: str | None) -> list[str]:
    """Create and attach LAUNCH's volumes to the stopped VM, then start it (not awaited)."""
    if jobid:
        await ctx.cloud.wait_job(jobid, command="deployVirtualMachine")
    made: list[str] = []
    for wanted in launch.volumes:
        volume_id = await _make_volume(ctx, launch, wanted)
        made.append(volume_id)
        kept = [{"key": DELETE_ON_TERMINATION_TAG, "value": "true"}] if wanted.delete_on_termination else []
        if wanted.origin:
            kept.append({"key": zero_snapshots.ORIGIN_TAG, "value": wanted.origin})
        await _tag(ctx, [volume_id], "Volume", kept + launch.volume_tags)
        started = await ctx.cloud.begin_attach_volume(id=volume_id, virtualmachineid=vm_id,
                                                      deviceid=wanted.device_id)
        await ctx.cloud.wait_job(started["jobid"], command="attachVolume")
    await ctx.cloud.begin_start_virtual_machine(id=vm_id)
    return made


async def _undo(ctx: RequestContext, vm_ids: Sequence[str], volume_ids: Sequence[str]) -> None:
    """Best effort: take back what a launch that failed half-way made."""
    for vm_id in vm_ids:
        try:
            await ctx.cloud.begin_destroy_virtual_machine(id=vm_id)
        except CloudStackError as exc:
            log.warning("request %s: could not destroy %s after a failed launch: %s", ctx.request_id, vm_id, exc)
    for volume_id in volume_ids:
        try:
            await ctx.cloud.delete_volume(id=volume_id)
        except CloudStackError:
            # Still attached to the destroyed VM: CloudStack deletes it with the VM's expunge.
            log.info("request %s: volume %s goes with its destroyed VM", ctx.request_id, volume_id)


async def finish(ctx: RequestContext, launch: LaunchPlan, vm_ids: Sequence[str], jobs: dict[str, str]) -> None:
    """After the deploy calls: the mapped volumes (created, attached, then the VMs started) and the tags."""
    made: list[str] = []
    if launch.volumes:
        try:
            for vm_id in vm_ids:
                made += await _add_volumes(ctx, launch, vm_id, jobs.get(vm_id))
        except (CloudStackApiError, CloudStackJobFailed) as exc:
            await _undo(ctx, vm_ids, made)
            raise _volume_error(exc) from None
    await _tag(ctx, vm_ids, "UserVm", launch.instance_tags)
    if launch.volume_tags and vm_ids:
        roots = [v["id"] for v in await ctx.cloud.list_volumes(type="ROOT") if v.get("virtualmachineid") in vm_ids]
        await _tag(ctx, roots, "Volume", launch.volume_tags)


def _volume_error(exc: Exception) -> Exception:
    code = getattr(exc, "errorcode", None)
    text = str(getattr(exc, "errortext", "") or exc).lower()
    if code == 535:
        return ERRORS["VolumeLimitExceeded"]()
    if code == 533:
        return ERRORS["InsufficientInstanceCapacity"]()
    if "maximum number of data disks" in text:
        return ERRORS["InvalidParameterValue"](
            detail="BlockDeviceMapping asks for more volumes than this cloud attaches to one instance.")
    if code == 431 and "deviceid" in text.replace(" ", ""):
        return ERRORS["InvalidParameterValue"](
            detail="BlockDeviceMapping names a device this cloud's hypervisor does not give to volumes.")
    return exc
