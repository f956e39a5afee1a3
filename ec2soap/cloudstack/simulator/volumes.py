"""Simulator: volumes and snapshots (VolumeApiServiceImpl / SnapshotManagerImpl behaviour), plus the helpers the
compute families share: pending-job markers, new volumes and their renderers (tags: ctx.tags).

Volumes are kind "volume", snapshots kind "snapshot"; VMs (kind "vm") are only read here. No HTTP or SQL schema
knowledge beyond the engine's Ctx and the job table.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, JobStarted, Listing, SimError, cs_date,
                                                 invalid_value, keyword_filter, param_error, public_fields)
from ec2soap.store.prepared import Prepared
from ec2soap.store.tables import cs_job

__all__ = ["COMMANDS", "JOB_ACTIONS", "pending_job", "new_volume", "render_volume", "render_snapshot",
           "GB", "MAX_DATA_DISKS"]

GB = 1024 ** 3
# Data disks per VM: the hypervisor capability max.data.volumes.limit (6 for XenServer and the Simulator).
MAX_DATA_DISKS = 6
# Snapshot states that still count as "in progress" for deleteSnapshot.
_SNAPSHOT_BUSY = ("Allocated", "Creating", "CreatedOnPrimary", "BackingUp", "Copying")


# -- helpers shared with vms.py ------------------------------------------------------------------------------------
_PENDING_JOBS = Prepared(select(cs_job.c.uuid, cs_job.c.due, cs_job.c.instance_id).where(
    cs_job.c.status == 0, cs_job.c.instance_id.is_not(None)).order_by(cs_job.c.due))


def pending_job(ctx: Ctx, instance_id: str) -> tuple[str, float] | None:
    """(jobid, due) of the newest unfinished job bound to an object; CloudStack's views join it (§13)."""
    def pending() -> dict[str, tuple[str, float]]:
        newest: dict[str, tuple[str, float]] = {}
        for row in _PENDING_JOBS(ctx.conn):
            newest[row.instance_id] = (row.uuid, row.due)
        return newest
    # The unfinished jobs change only as jobs start and finish (the read cache's "job" kind).
    return ctx.memo("pending-jobs", lambda: ctx.sim.listings.fetch(("pending-jobs",), pending, "job")).get(
        instance_id)


# -- volumes -----------------------------------------------------------------------------------------------------
def new_volume(ctx: Ctx, owner: dict, zone: dict, *, vtype: str, size: int, state: str, name: str | None = None,
               extra: dict | None = None) -> dict:
    """Insert a volume row (ROOT for deployVirtualMachine, DATADISK for createVolume)."""
    doc = {"id": ctx.new_uuid(), "type": vtype, "size": size, "virtualsize": size, "state": state,
           "zoneid": zone["id"], "zonename": zone.get("name"), "created": cs_date(ctx.now),
           "storagetype": "shared", "provisioningtype": "thin", "hypervisor": zone.get("_hypervisor", "Simulator"),
           "destroyed": False, "isextractable": vtype == "DATADISK", "displayvolume": True,
           "quiescevm": False, "supportsstoragesnapshot": False, **accounts.owner_fields(ctx, owner), **(extra or {})}
    # CloudStack quirk: a data volume with no name gets a random UUID string as its name (getRandomVolumeName).
    doc["name"] = name or ctx.new_uuid()
    return ctx.insert("volume", doc, account_id=owner["id"])


# Up to this many volumes in one request read their VM by id; past it every VM is read once (expunged ones too,
# which the whole history grows), so a listing of one VM's volumes does not decode every VM ever deployed.
_VM_BY_ID = 8


def _volume_vm(ctx: Ctx, vm_id: str) -> dict | None:
    looked_up = ctx.memo("volume-vm-lookups", lambda: [0])
    looked_up[0] += 1
    if looked_up[0] <= _VM_BY_ID:
        return ctx.get("vm", vm_id, removed=True)
    return ctx.memo("vms-by-id", lambda: {v["id"]: v for v in ctx.find("vm", removed=True)}).get(vm_id)


def render_volume(ctx: Ctx, doc: dict) -> dict:
    out = dict(doc)
    vm = _volume_vm(ctx, doc["virtualmachineid"]) if doc.get("virtualmachineid") else None
    if vm:
        out.update(vmname=vm.get("name"), vmdisplayname=vm.get("displayname"), vmstate=vm.get("state"),
                   vmtype="User")
    out["tags"] = ctx.tags.of("Volume", doc["id"])
    job = pending_job(ctx, doc["id"])
    if job:
        out["jobid"], out["jobstatus"] = job[0], 0
    return public_fields(out, spec.command("listVolumes")["response"])


def _volume(ctx: Ctx, p: dict, param: str = "id") -> dict:
    return ctx.require("volume", p, param)


def _list_volumes(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, podid=None, clusterid=None)
    scope = ctx.scope_accounts(p)
    ids = set(p.get("ids") or []) | ({p["id"]} if p.get("id") else set())
    vm_id = p.get("virtualmachineid")
    rows = ctx.find("volume", account_id=scope, ids=ids or None, contains=vm_id or None,
                    where=(lambda v: v.get("virtualmachineid") == vm_id) if vm_id else None)
    for key in ("zoneid", "diskofferingid"):
        if p.get(key):
            rows = [v for v in rows if v.get(key) == p[key]]
    if p.get("type"):
        rows = [v for v in rows if v["type"].lower() == p["type"].lower()]
    if p.get("state"):
        rows = [v for v in rows if v["state"].lower() == p["state"].lower()]
    if p.get("name"):
        rows = [v for v in rows if v.get("name") == p["name"]]
    if "displayvolume" in p and ctx.caller.is_admin:
        rows = [v for v in rows if v.get("displayvolume", True) == p["displayvolume"]]
    if p.get("hostid"):
        # A volume is on the host of the VM it is attached to.
        rows = [v for v in rows if v.get("virtualmachineid")
                and (ctx.get("vm", v["virtualmachineid"], removed=True) or {}).get("_hostid") == p["hostid"]]
    rows = keyword_filter(rows, p.get("keyword"), "name")
    rows = ctx.tags.filter(rows, "Volume", p.get("tags"))
    return Listing([render_volume(ctx, v) for v in rows])


def _disk_offering(ctx: Ctx, offering_id: str) -> dict:
    offering = ctx.get("diskoffering", offering_id)
    if offering is None:
        raise invalid_value(ctx.command, "diskofferingid", offering_id)
    return offering


def _create_volume(ctx: Ctx, p: dict) -> JobStarted:
    """createVolume: the row exists at once (Allocated); the job creates it from the snapshot or leaves a
    disk-offering volume Allocated until it is first attached, as CloudStack allocates storage lazily."""
    owner = accounts.owner_account(ctx, p)
    if not p.get("diskofferingid") and not p.get("snapshotid"):
        raise param_error("At least one of disk Offering ID or snapshot ID must be passed whilst creating volume")
    extra: dict[str, Any] = {}
    if p.get("snapshotid"):
        snapshot = ctx.require("snapshot", p, "snapshotid")
        if snapshot["state"] != "BackedUp":
            raise param_error(f"Snapshot id={snapshot['id']} is not in BackedUp state yet and can't be used "
                              f"for volume creation")
        zone = ctx.lookup("zone", snapshot["zoneid"], "zoneid")
        size = int(snapshot.get("virtualsize") or 0)
        source = ctx.get("volume", snapshot.get("volumeid"), removed=True) or {}
        extra.update(snapshotid=snapshot["id"], diskofferingid=source.get("diskofferingid"),
                     diskofferingname=source.get("diskofferingname"),
                     diskofferingdisplaytext=source.get("diskofferingdisplaytext"))
    else:
        if not p.get("zoneid"):
            raise param_error("Missing parameter zoneid: it is required when creating a volume from a disk "
                              "offering")
        zone = ctx.lookup("zone", p["zoneid"], "zoneid")
        offering = _disk_offering(ctx, p["diskofferingid"])
        if offering.get("iscustomized"):
            if not p.get("size"):
                raise param_error("This disk offering requires a custom size specified")
            size = int(p["size"]) * GB
        else:
            if p.get("size"):
                raise param_error("This disk offering does not allow custom size")
            size = int(offering.get("disksize") or 0) * GB
        extra.update(diskofferingid=offering["id"], diskofferingname=offering.get("name"),
                     diskofferingdisplaytext=offering.get("displaytext"))
    if size <= 0:
        raise param_error("Invalid size for custom volume creation: size must be greater than 0")
    vm = None
    if p.get("virtualmachineid"):
        vm = ctx.require("vm", p, "virtualmachineid")
        _check_attachable_vm(ctx, vm, zone["id"])
    accounts.check_limit(ctx, "volume", account=owner)
    if "displayvolume" in p:
        extra["displayvolume"] = p["displayvolume"]
    volume = new_volume(ctx, owner, zone, vtype="DATADISK", size=size, state="Allocated", name=p.get("name"),
                        extra={k: v for k, v in extra.items() if v is not None})
    return ctx.start_job("volume_create", {"id": volume["id"], "vm": vm["id"] if vm else None},
                         instance_type="Volume", instance_id=volume["id"], object_id=volume["id"])


def _volume_create(ctx: Ctx, args: dict) -> dict:
    volume = ctx.get("volume", args["id"])
    if volume is None:
        raise SimError(530, f"Volume {args['id']} was deleted before it could be created", 4250)
    if volume.get("snapshotid"):
        volume["state"] = "Ready"
    ctx.save("volume", volume)
    if args.get("vm"):
        vm = ctx.get("vm", args["vm"])
        if vm is None or vm["state"] not in ("Running", "Stopped"):
            raise param_error("Please specify a VM that is either running or stopped.")
        _attach(ctx, volume, vm, None)
    return {"volume": render_volume(ctx, volume)}


def _delete_volume(ctx: Ctx, p: dict) -> Any:
    volume = _volume(ctx, p)
    if volume.get("virtualmachineid") or volume["type"] == "ROOT":
        raise param_error("Please specify a volume that is not attached to any VM.")
    if pending_job(ctx, volume["id"]):
        raise param_error(f"Volume {volume['name']} is being worked on by another operation; retry later")
    ctx.tags.drop("Volume", volume["id"])
    volume["state"] = "Expunged"
    ctx.save("volume", volume)
    ctx.remove("volume", volume["id"])
    return SUCCESS


def _check_attachable_vm(ctx: Ctx, vm: dict, zone_id: str) -> None:
    if vm["state"] not in ("Running", "Stopped"):
        raise param_error("Please specify a VM that is either running or stopped.")
    if vm.get("zoneid") != zone_id:
        raise param_error("Please specify a VM that is in the same zone as the volume.")


def _data_disks(ctx: Ctx, vm_id: str) -> list[dict]:
    return ctx.find("volume", where=lambda v: v.get("virtualmachineid") == vm_id and v["type"] == "DATADISK",
                    contains=vm_id)


def _next_device_id(ctx: Ctx, vm: dict, wanted: int | None) -> int:
    disks = _data_disks(ctx, vm["id"])
    used = {v.get("deviceid") for v in ctx.scan("volume", where=lambda v: v.get("virtualmachineid") == vm["id"],
                                                      contains=vm["id"])}
    if len(disks) >= MAX_DATA_DISKS:
        raise param_error(f"The specified VM already has the maximum number of data disks ({MAX_DATA_DISKS}) "
                          f"attached. Please specify another VM.")
    if wanted is not None:
        if wanted == 0:
            raise param_error("deviceId 0 is reserved for the ROOT volume")
        if wanted in used:
            raise param_error(f"deviceId {wanted} is used by vm {vm['id']}")
        return wanted
    # CloudStack quirk: device id 3 is never handed out automatically (it is kept for the CD-ROM).
    return next(i for i in range(1, MAX_DATA_DISKS + 3) if i != 3 and i not in used)


def _attach(ctx: Ctx, volume: dict, vm: dict, deviceid: int | None) -> None:
    volume.update(virtualmachineid=vm["id"], deviceid=_next_device_id(ctx, vm, deviceid),
                  attached=cs_date(ctx.now), state="Ready")
    ctx.save("volume", volume)


def _attach_volume(ctx: Ctx, p: dict) -> JobStarted:
    volume = _volume(ctx, p)
    vm = ctx.require("vm", p, "virtualmachineid")
    if volume.get("virtualmachineid"):
        raise param_error("Please specify a volume that is not attached to any VM.")
    if volume["type"] == "ROOT":
        raise param_error("Please specify a data volume; ROOT volumes can only be attached as device 0")
    if volume["state"] not in ("Allocated", "Ready"):
        raise param_error(f"Volume {volume['name']} state is {volume['state']}; it must be Allocated or Ready "
                          f"to be attached")
    _check_attachable_vm(ctx, vm, volume["zoneid"])
    if not ctx.caller.is_admin and vm.get("accountid") != volume.get("accountid"):
        raise SimError(531, "Volume and VM belong to different accounts", 4365)
    _next_device_id(ctx, vm, p.get("deviceid"))
    return ctx.start_job("volume_attach", {"id": volume["id"], "vm": vm["id"], "deviceid": p.get("deviceid")},
                         instance_type="Volume", instance_id=volume["id"])


def _volume_attach(ctx: Ctx, args: dict) -> dict:
    volume, vm = ctx.get("volume", args["id"]), ctx.get("vm", args["vm"])
    if volume is None or vm is None:
        raise SimError(530, "The volume or the VM no longer exists", 4250)
    if volume.get("virtualmachineid"):
        raise param_error("Please specify a volume that is not attached to any VM.")
    _check_attachable_vm(ctx, vm, volume["zoneid"])
    _attach(ctx, volume, vm, args.get("deviceid"))
    return {"volume": render_volume(ctx, volume)}


def _detach_volume(ctx: Ctx, p: dict) -> JobStarted:
    if p.get("id"):
        volume = _volume(ctx, p)
    elif p.get("deviceid") is not None and p.get("virtualmachineid"):
        vm = ctx.require("vm", p, "virtualmachineid")
        found = ctx.find("volume", where=lambda v: v.get("virtualmachineid") == vm["id"]
                         and v.get("deviceid") == p["deviceid"], contains=vm["id"])
        if not found:
            raise param_error(f"Unable to find volume with ID: deviceid {p['deviceid']} on VM {vm['id']}")
        volume = found[0]
    else:
        raise param_error("Please provide either a volume id, or a tuple(device id, instance id)")
    if volume["type"] == "ROOT":
        raise param_error("Please specify a data volume.")
    if not volume.get("virtualmachineid"):
        raise param_error("The specified volume is not attached to a VM.")
    vm = ctx.get("vm", volume["virtualmachineid"])
    if vm is None or vm["state"] not in ("Running", "Stopped", "Destroyed"):
        raise param_error("Please specify a VM that is either running or stopped.")
    return ctx.start_job("volume_detach", {"id": volume["id"]}, instance_type="Volume", instance_id=volume["id"])


def detach(ctx: Ctx, volume: dict) -> None:
    for key in ("virtualmachineid", "deviceid", "attached"):
        volume.pop(key, None)
    ctx.save("volume", volume)


def _volume_detach(ctx: Ctx, args: dict) -> dict:
    volume = ctx.get("volume", args["id"])
    if volume is None or not volume.get("virtualmachineid"):
        raise param_error("The specified volume is not attached to a VM.")
    detach(ctx, volume)
    return {"volume": render_volume(ctx, volume)}


# -- snapshots ---------------------------------------------------------------------------------------------------
def render_snapshot(ctx: Ctx, doc: dict) -> dict:
    out = dict(doc)
    out["tags"] = ctx.tags.of("Snapshot", doc["id"])
    job = pending_job(ctx, doc["id"])
    if job:
        out["jobid"], out["jobstatus"] = job[0], 0
    return public_fields(out, spec.command("listSnapshots")["response"])


def _list_snapshots(ctx: Ctx, p: dict) -> Listing:
    rows = ctx.find("snapshot", account_id=ctx.scope_accounts(p))
    ids = set(p.get("ids") or []) | ({p["id"]} if p.get("id") else set())
    if ids:
        rows = [s for s in rows if s["id"] in ids]
    for key in ("volumeid", "zoneid", "name"):
        if p.get(key):
            rows = [s for s in rows if s.get(key) == p[key]]
    if p.get("snapshottype"):
        rows = [s for s in rows if s.get("snapshottype", "").lower() == p["snapshottype"].lower()]
    if p.get("intervaltype"):
        rows = [s for s in rows if s.get("intervaltype", "").lower() == p["intervaltype"].lower()]
    rows = keyword_filter(rows, p.get("keyword"), "name")
    rows = ctx.tags.filter(rows, "Snapshot", p.get("tags"))
    return Listing([render_snapshot(ctx, s) for s in rows])


def _create_snapshot(ctx: Ctx, p: dict) -> JobStarted:
    volume = _volume(ctx, p, "volumeid")
    if volume["state"] != "Ready":
        raise param_error(f"VolumeId: {volume['id']} is not in Ready state but {volume['state']}. "
                          f"Cannot take snapshot.")
    owner = ctx.get("account", volume["accountid"]) or ctx.caller.account
    accounts.check_limit(ctx, "snapshot", account=owner)
    vm = ctx.get("vm", volume.get("virtualmachineid")) if volume.get("virtualmachineid") else None
    stamp = cs_date(ctx.now)[:19].replace("-", "").replace("T", "").replace(":", "")
    # CloudStack's default snapshot name: <vm display name>_<volume name>_<yyyyMMddHHmmss>.
    default_name = f"{vm['displayname']}_{volume['name']}_{stamp}" if vm else f"{volume['name']}_{stamp}"
    snapshot = ctx.insert("snapshot", {
        "id": ctx.new_uuid(), "name": p.get("name") or default_name, "state": "Creating",
        "snapshottype": "MANUAL", "intervaltype": "MANUAL", "volumeid": volume["id"],
        "volumename": volume["name"], "volumetype": volume["type"], "zoneid": volume["zoneid"],
        "virtualsize": volume["size"], "physicalsize": volume["size"], "created": cs_date(ctx.now),
        "revertable": False, "locationtype": (p.get("locationtype") or "PRIMARY").upper(),
        **accounts.owner_fields(ctx, owner)}, account_id=owner["id"])
    return ctx.start_job("snapshot_create", {"id": snapshot["id"]}, instance_type="Snapshot",
                         instance_id=snapshot["id"], object_id=snapshot["id"])


def _snapshot_create(ctx: Ctx, args: dict) -> dict:
    snapshot = ctx.get("snapshot", args["id"])
    if snapshot is None:
        raise SimError(530, f"Snapshot {args['id']} was deleted before it was backed up", 4250)
    snapshot["state"] = "BackedUp"
    ctx.save("snapshot", snapshot)
    return {"snapshot": render_snapshot(ctx, snapshot)}


def _delete_snapshot(ctx: Ctx, p: dict) -> JobStarted:
    snapshot = ctx.require("snapshot", p)
    if snapshot["state"] in _SNAPSHOT_BUSY:
        raise param_error(f"Can't delete snapshot {snapshot['id']} due to it is in {snapshot['state']} Status")
    return ctx.start_job("snapshot_delete", {"id": snapshot["id"]}, instance_type="Snapshot",
                         instance_id=snapshot["id"])


def _snapshot_delete(ctx: Ctx, args: dict) -> Any:
    snapshot = ctx.get("snapshot", args["id"])
    if snapshot is None:
        raise param_error(f"Snapshot with id: {args['id']} is already destroyed")
    ctx.tags.drop("Snapshot", snapshot["id"])
    snapshot["state"] = "Destroyed"
    ctx.save("snapshot", snapshot)
    ctx.remove("snapshot", snapshot["id"])
    return SUCCESS


COMMANDS = {
    "listVolumes": _list_volumes,
    "createVolume": _create_volume,
    "deleteVolume": _delete_volume,
    "attachVolume": _attach_volume,
    "detachVolume": _detach_volume,
    "listSnapshots": _list_snapshots,
    "createSnapshot": _create_snapshot,
    "deleteSnapshot": _delete_snapshot,
}
JOB_ACTIONS = {
    "volume_create": _volume_create,
    "volume_attach": _volume_attach,
    "volume_detach": _volume_detach,
    "snapshot_create": _snapshot_create,
    "snapshot_delete": _snapshot_delete,
}
