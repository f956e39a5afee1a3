"""Instances as EC2 sees them: the dataclasses, CloudStack VM → Instance, states, and finding a caller's VMs.

Shared by instances.py (life cycle, Describe*) and instance_attributes.py. Core: no Twisted, Spyne, lxml, SQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.instance_nics import InstanceNic, vpc_nics
from ec2soap.core.model import Tag, owner_id, parse_cs_date, tags_of
from ec2soap.core.volumes import delete_on_termination
from ec2soap.errors import ERRORS

__all__ = ["InstanceState", "StateReason", "GroupRef", "Placement", "EbsDevice", "BlockDevice", "Instance",
           "Reservation", "STATES", "state_of", "device_name", "to_instances", "find_vms", "instance_filters",
           "ROOT_DEVICE_NAME", "ERROR_REASON", "offering_for_type", "UUID", "check_instance_id",
           "resolve_instance_ids", "InstanceStateChange"]


@dataclass(frozen=True)
class InstanceState:
    code: int
    name: str


STATES = {name: InstanceState(code, name) for code, name in
          ((0, "pending"), (16, "running"), (32, "shutting-down"), (48, "terminated"), (64, "stopping"),
           (80, "stopped"))}
# CloudStack VM state → EC2 state (cloudbridge.md §4.2); shutting-down is decided from the VM's pending job.
_CS_STATES = {"starting": "pending", "running": "running", "stopping": "stopping", "stopped": "stopped",
              "destroyed": "terminated", "expunging": "terminated", "error": "terminated",
              "shutdown": "stopped", "migrating": "running"}


@dataclass(frozen=True)
class InstanceStateChange:
    instance_id: str
    current_state: InstanceState
    previous_state: InstanceState


@dataclass(frozen=True)
class StateReason:
    code: str
    message: str


ERROR_REASON = StateReason("Server.InternalError", "Server.InternalError: Internal error on launch")


@dataclass(frozen=True)
class GroupRef:
    group_id: str
    group_name: str


@dataclass(frozen=True)
class Placement:
    availability_zone: str
    group_name: str | None = None  # the VM's affinity group (an EC2 placement group)


@dataclass(frozen=True)
class Monitoring:
    state: str = "disabled"


@dataclass(frozen=True)
class EbsDevice:
    volume_id: str
    status: str
    attach_time: datetime | None
    delete_on_termination: bool


@dataclass(frozen=True)
class BlockDevice:
    device_name: str
    ebs: EbsDevice


@dataclass
class Instance:
    """One EC2 instance (a CloudStack user VM). Fields without a wire element (cs_*) serve filters and grouping."""
    instance_id: str
    image_id: str
    instance_state: InstanceState
    private_dns_name: str
    dns_name: str
    instance_type: str
    launch_time: datetime | None
    placement: Placement
    reservation_id: str
    owner_id: str
    key_name: str | None = None
    reason: str = ""
    ami_launch_index: str | None = None
    private_ip_address: str | None = None
    ip_address: str | None = None
    state_reason: StateReason | None = None
    architecture: str = "x86_64"
    root_device_type: str = "ebs"
    root_device_name: str = "/dev/sda1"
    block_device_mapping: list[BlockDevice] = field(default_factory=list)
    monitoring: Monitoring = field(default_factory=Monitoring)
    platform: str | None = None
    virtualization_type: str = "hvm"
    hypervisor: str | None = None
    tags: list[Tag] = field(default_factory=list)
    groups: list[GroupRef] = field(default_factory=list)
    subnet_id: str | None = None
    vpc_id: str | None = None
    source_dest_check: bool | None = None
    network_interfaces: list[InstanceNic] | None = None  # only an instance in a VPC has them
    cs_id: str = ""
    cs_state: str = ""


@dataclass
class Reservation:
    reservation_id: str
    owner_id: str
    groups: list[GroupRef]
    instances: list[Instance]
    requester_id: str | None = None


ROOT_DEVICE_NAME = "/dev/sda1"
_MONITORING = Monitoring()  # frozen: every instance shares the one (monitoring is never enabled here)


def device_name(device_id: Any) -> str:
    """CloudStack's device id → an EC2 device name: 0 is the root (/dev/sda1), n is /dev/sd<letter n>.
    CloudStack quirk: device 3 is the CD-ROM, so data disks use 1, 2, 4, 5, …"""
    try:
        number = int(device_id)
    except (TypeError, ValueError):
        return str(device_id or "")
    if number == 0:
        return ROOT_DEVICE_NAME
    return "/dev/sd" + chr(ord("a") + number) if 0 < number < 26 else f"/dev/sd{number}"


# EC2 names the Xen family "xen"; other hypervisors keep CloudStack's name.
_HYPERVISORS = {"xenserver": "xen", "xen": "xen", "ovm": "ovm", "ovm3": "ovm"}


def _hypervisor(cs: dict) -> str | None:
    name = str(cs.get("hypervisor") or "").lower()
    return _HYPERVISORS.get(name, name or None)


_RESERVATION = re.compile(r"^r-[0-9a-f]{8}(?:[0-9a-f]{9})?$")


async def _shutting_down(ctx: RequestContext, cs: dict) -> bool:
    """True while a destroy job for the VM is in flight: CloudStack shows the VM as Stopping (or still Running
    or Stopped) with the job's id on it; the job's command says what it is."""
    jobid = cs.get("jobid")
    # A Starting VM's job is its deploy or start; only a VM that exists can be on its way out.
    if not jobid or str(cs.get("state", "")).lower() not in ("running", "stopping", "stopped"):
        return False
    try:
        job = await ctx.cloud.query_async_job_result(jobid=jobid)
    except CloudStackApiError:
        return False
    cmd = str((job or {}).get("cmd", "")).lower()
    return int((job or {}).get("jobstatus", 1) or 0) == 0 and ("destroy" in cmd or "expunge" in cmd)


async def state_of(ctx: RequestContext, cs: dict) -> tuple[InstanceState, StateReason | None]:
    """The EC2 state (and reason) of a CloudStack VM."""
    if await _shutting_down(ctx, cs):
        return STATES["shutting-down"], None
    return _listed_state(cs)


def _listed_state(cs: dict) -> tuple[InstanceState, StateReason | None]:
    """The EC2 state (and reason) CloudStack's state of the VM gives, its jobs aside."""
    cs_state = str(cs.get("state") or "").lower()
    name = _CS_STATES.get(cs_state, "terminated" if not cs_state else "running")
    return STATES[name], (ERROR_REASON if cs_state == "error" else None)


def _device_order(volume: dict) -> int:
    return int(volume.get("deviceid") or 0)


def _default_nic(cs: dict) -> dict:
    nics = cs.get("nic") or []
    return next((n for n in nics if n.get("isdefault")), nics[0] if nics else {})


async def to_instances(ctx: RequestContext, vms: Sequence[dict], *,
                       volumes: Sequence[dict] | None = None) -> list[Instance]:
    """CloudStack VMs → Instances, minting the EC2 ids they need in a few batches. VOLUMES (the caller's
    listVolumes), when given, fill blockDeviceMapping."""
    if not vms:
        return []
    instance_ids = await ctx.ids.to_ec2_many("instance", [v["id"] for v in vms])
    image_ids = await ctx.ids.to_ec2_many("image", [v.get("templateid") for v in vms if v.get("templateid")])
    group_ids = await ctx.ids.to_ec2_many("security-group", [g["id"] for v in vms
                                                             for g in v.get("securitygroup") or () if g.get("id")])
    # A VM we launched carries its reservation in `group`; any other VM is a reservation of its own.
    foreign = [v["id"] for v in vms if not _RESERVATION.match(str(v.get("group") or ""))]
    reservations = await ctx.ids.to_ec2_many("reservation", foreign)
    by_vm: dict[str, list[dict]] = {}
    for volume in volumes or ():
        if volume.get("virtualmachineid"):
            by_vm.setdefault(volume["virtualmachineid"], []).append(volume)
    volume_ids = await ctx.ids.to_ec2_many("volume", [v["id"] for vs in by_vm.values() for v in vs])
    in_vpcs = await vpc_nics(ctx, vms)
    # Profiled (DescribeInstances of 50): the loop's own time led the core's CPU. What many VMs share is made
    # once per call: an offering's EC2 type, and the frozen placements and group references.
    types: dict[tuple[Any, Any], str] = {}
    placements: dict[tuple[str, str | None], Placement] = {}
    group_refs: dict[tuple[str, str], GroupRef] = {}
    out = []
    for cs in vms:
        cs_id = cs["id"]
        get = cs.get
        # Only a VM with a job can be on its way out (_shutting_down): the others' state is CloudStack's.
        state, reason = await state_of(ctx, cs) if get("jobid") else _listed_state(cs)
        nic = _default_nic(cs)
        public_ip = get("publicip") or None
        offering = (get("serviceofferingid", ""), get("serviceofferingname", ""))
        instance_type = types.get(offering)
        if instance_type is None:
            instance_type = types[offering] = await ctx.offerings.type_for(*offering)
        devices = []
        attached = by_vm.get(cs_id)
        if attached:
            for volume in sorted(attached, key=_device_order) if len(attached) > 1 else attached:
                devices.append(BlockDevice(device_name(volume.get("deviceid")), EbsDevice(
                    volume_id=volume_ids[volume["id"]], status="attached",
                    attach_time=parse_cs_date(volume.get("attached") or volume.get("created")),
                    delete_on_termination=delete_on_termination(volume))))
        keys = [k for k in str(get("keypairs") or get("keypair") or "").split(",") if k]
        os_name = str(get("osdisplayname") or get("templatedisplaytext") or "")
        nics = in_vpcs.get(cs_id, [])
        affinity = [str(g.get("name")) for g in get("affinitygroup") or () if g.get("name")]
        where = (str(get("zonename") or ""), affinity[0] if affinity else None)
        placement = placements.get(where)
        if placement is None:
            placement = placements[where] = Placement(*where)
        if nics:
            # CloudStack has no groups on a VPC tier's NIC: the instance shows its primary interface's.
            groups = [GroupRef(g.group_id, g.group_name) for g in nics[0].groups]
        else:
            groups = []
            for g in get("securitygroup") or ():
                if g.get("id"):
                    ref_key = (group_ids[g["id"]], str(g.get("name", "")))
                    ref = group_refs.get(ref_key)
                    if ref is None:
                        ref = group_refs[ref_key] = GroupRef(*ref_key)
                    groups.append(ref)
        out.append(Instance(
            instance_id=instance_ids[cs_id],
            image_id=image_ids.get(get("templateid"), ""),
            instance_state=state,
            private_dns_name=str(get("name") or ""),
            dns_name=public_ip or "",
            instance_type=instance_type,
            launch_time=parse_cs_date(get("created")),
            placement=placement,
            reservation_id=str(get("group")) if cs_id not in reservations else reservations[cs_id],
            owner_id=owner_id(cs),
            key_name=keys[0] if keys else None,
            private_ip_address=nic.get("ipaddress") or None,
            ip_address=public_ip,
            state_reason=reason,
            root_device_name=device_name(get("rootdeviceid", 0)),
            block_device_mapping=devices,
            platform="windows" if "windows" in os_name.lower() else None,
            hypervisor=_hypervisor(cs),
            tags=tags_of(cs),
            groups=groups,
            subnet_id=nics[0].subnet_id if nics else None,
            vpc_id=nics[0].vpc_id if nics else None,
            source_dest_check=True if nics else None,
            network_interfaces=nics or None,
            monitoring=_MONITORING,
            cs_id=cs_id,
            cs_state=str(get("state") or ""),
        ))
    return out


_INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


async def offering_for_type(ctx: RequestContext, instance_type: str) -> dict:
    """The compute offering for an EC2 type: the operator's mapping first, else the offering of that name."""
    target = await ctx.offerings.offering_for(instance_type) or instance_type
    try:
        if UUID.match(target):
            found = await ctx.cloud.list_service_offerings(id=target)
        else:
            found = await ctx.cloud.list_service_offerings(name=target)
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
        found = []
    found = [o for o in found if o.get("name") == target or o.get("id") == target]
    if not found:
        raise ERRORS["InvalidParameterValue"](detail=f"Invalid value '{instance_type}' for InstanceType.")
    return found[0]


def check_instance_id(value: str) -> None:
    if not (_INSTANCE_ID.match(value) or UUID.match(value)):
        raise ERRORS["InvalidInstanceID.Malformed"](instance_id=value)


async def resolve_instance_ids(ctx: RequestContext, instance_ids: Sequence[str]) -> dict[str, Any]:
    """INSTANCE_IDS (EC2 ids or uuids) → their CloudStack uuids; a malformed id is InvalidParameterValue and one
    never minted is InvalidInstanceID.NotFound."""
    for value in instance_ids:
        check_instance_id(value)
    wanted = await ctx.ids.to_cloudstack_many("instance", instance_ids) if instance_ids else {}
    for value in instance_ids:
        if wanted.get(value) is None:
            raise ERRORS["InvalidInstanceID.NotFound"](instance_id=value)
    return wanted


async def find_vms(ctx: RequestContext, instance_ids: Sequence[str] = (), **params: Any) -> list[dict]:
    """The caller's VMs, or those INSTANCE_IDS name in that order (EC2 ids or CloudStack uuids). An id the
    caller cannot see (unknown, another user's, expunged) is InvalidInstanceID.NotFound, like EC2."""
    wanted = await resolve_instance_ids(ctx, instance_ids)
    vms = await ctx.cloud.list_virtual_machines(**params)
    if not instance_ids:
        return vms
    by_id = {v["id"]: v for v in vms}
    out = []
    for value in dict.fromkeys(instance_ids):
        vm = by_id.get(wanted[value])
        if vm is None:
            raise ERRORS["InvalidInstanceID.NotFound"](instance_id=value)
        out.append(vm)
    return out


def instance_filters() -> dict[str, Any]:
    """DescribeInstances filters: the original's list (cloudbridge.md §4.4) and the common EC2 ones."""
    return {
        "availability-zone": lambda i: i.placement.availability_zone,
        "hypervisor": lambda i: i.hypervisor,
        "image-id": lambda i: i.image_id,
        "instance-id": lambda i: i.instance_id,
        "instance-type": lambda i: i.instance_type,
        "instance-state-code": lambda i: i.instance_state.code,
        "instance-state-name": lambda i: i.instance_state.name,
        "ip-address": lambda i: i.ip_address,
        "owner-id": lambda i: i.owner_id,
        "root-device-name": lambda i: i.root_device_name,
        "root-device-type": lambda i: i.root_device_type,
        "private-ip-address": lambda i: i.private_ip_address,
        "private-dns-name": lambda i: i.private_dns_name,
        "dns-name": lambda i: i.dns_name,
        "group-id": lambda i: [g.group_id for g in i.groups],
        "group-name": lambda i: [g.group_name for g in i.groups],
        "instance.group-id": lambda i: [g.group_id for g in i.groups],
        "instance.group-name": lambda i: [g.group_name for g in i.groups],
        "key-name": lambda i: i.key_name,
        "reservation-id": lambda i: i.reservation_id,
        "architecture": lambda i: i.architecture,
        "platform": lambda i: i.platform,
        "virtualization-type": lambda i: i.virtualization_type,
        "monitoring-state": lambda i: i.monitoring.state,
        "launch-time": lambda i: i.launch_time.strftime("%Y-%m-%dT%H:%M:%S.000Z") if i.launch_time else None,
        "state-reason-code": lambda i: i.state_reason.code if i.state_reason else None,
        "block-device-mapping.device-name": lambda i: [b.device_name for b in i.block_device_mapping],
        "block-device-mapping.volume-id": lambda i: [b.ebs.volume_id for b in i.block_device_mapping],
        "vpc-id": lambda i: i.vpc_id,
        "subnet-id": lambda i: i.subnet_id,
        "placement-group-name": lambda i: i.placement.group_name,
        "source-dest-check": lambda i: None if i.source_dest_check is None else str(i.source_dest_check).lower(),
        **_NIC_FILTERS,
    }


def _nic_values(get: Any) -> Any:
    def values(inst: Instance) -> list[str]:
        out = []
        for nic in inst.network_interfaces or ():
            value = get(nic)
            out += [v for v in (value if isinstance(value, list) else [value]) if v not in (None, "")]
        return out
    return values


# DescribeInstances' network-interface.* filters (each over every interface of the instance).
_NIC_FILTERS = {f"network-interface.{name}": _nic_values(get) for name, get in {
    "network-interface-id": lambda n: n.network_interface_id,
    "subnet-id": lambda n: n.subnet_id,
    "vpc-id": lambda n: n.vpc_id,
    "owner-id": lambda n: n.owner_id,
    "status": lambda n: n.status,
    "description": lambda n: n.description,
    "mac-address": lambda n: n.mac_address,
    "private-dns-name": lambda n: n.private_dns_name,
    "source-dest-check": lambda n: str(n.source_dest_check).lower(),
    "group-id": lambda n: [g.group_id for g in n.groups],
    "group-name": lambda n: [g.group_name for g in n.groups],
    "attachment.attachment-id": lambda n: n.attachment.attachment_id,
    "attachment.device-index": lambda n: str(n.attachment.device_index),
    "attachment.status": lambda n: n.attachment.status,
    "attachment.delete-on-termination": lambda n: str(n.attachment.delete_on_termination).lower(),
    "addresses.private-ip-address": lambda n: [a.private_ip_address for a in n.private_ip_addresses],
    "addresses.primary": lambda n: [str(a.primary).lower() for a in n.private_ip_addresses],
    "private-ip-address": lambda n: [a.private_ip_address for a in n.private_ip_addresses],
    "association.public-ip": lambda n: n.association.public_ip if n.association else None,
    "association.ip-owner-id": lambda n: n.association.ip_owner_id if n.association else None,
}.items()}
