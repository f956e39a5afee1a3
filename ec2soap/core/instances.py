"""Instances: RunInstances, DescribeInstances, DescribeInstanceStatus and the life cycle (Start, Stop, Reboot,
Terminate). Attributes, console output and passwords live in instance_attributes.py; the model in
instance_model.py. Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackJobFailed
from ec2soap.core import instance_attributes, launch_devices, launches
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.images import launch_templates
from ec2soap.core.instance_model import (STATES, UUID, GroupRef, Instance, InstanceState, InstanceStateChange,
                                         Reservation, instance_filters, offering_for_type, state_of,
                                         to_instances)
from ec2soap.core.launches import launch_once
from ec2soap.core.security_group_model import resolve_group_refs
from ec2soap.core.terminations import terminate_instances, visible_instances
from ec2soap.core.vpc_instances import (NetworkInterfaceRequest, finish_vpc_launch, plan_vpc_launch,
                                        release_addresses, reserve_addresses)
from ec2soap.errors import ERRORS

__all__ = ["InstanceStateChange", "DescribeInstancesResult", "InstanceStatus", "StatusSummary", "StatusDetail",
           "DescribeInstanceStatusResult", "OPERATIONS", "INSTANCE_FILTERS", "INSTANCE_STATUS_FILTERS"]

INSTANCE_FILTERS = instance_filters()
_GONE = ("destroyed", "expunging")
_AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


@dataclass
class DescribeInstancesResult:
    reservations: list[Reservation]
    next_token: str | None = None


@dataclass(frozen=True)
class StatusDetail:
    name: str
    status: str


@dataclass(frozen=True)
class StatusSummary:
    status: str
    details: tuple[StatusDetail, ...] = ()


@dataclass
class InstanceStatus:
    instance_id: str
    availability_zone: str
    instance_state: InstanceState
    system_status: StatusSummary
    instance_status: StatusSummary


@dataclass
class DescribeInstanceStatusResult:
    statuses: list[InstanceStatus] = field(default_factory=list)
    next_token: str | None = None


INSTANCE_STATUS_FILTERS = {
    "availability-zone": lambda s: s.availability_zone,
    "instance-state-name": lambda s: s.instance_state.name,
    "instance-state-code": lambda s: s.instance_state.code,
    "system-status.status": lambda s: s.system_status.status,
    "instance-status.status": lambda s: s.instance_status.status,
    "system-status.reachability": lambda s: [d.status for d in s.system_status.details],
    "instance-status.reachability": lambda s: [d.status for d in s.instance_status.details],
}


def _reservations(instances: Sequence[Instance]) -> list[Reservation]:
    """Instances grouped by reservation, in the order they come."""
    out: dict[str, Reservation] = {}
    for inst in instances:
        res = out.get(inst.reservation_id)
        if res is None:
            res = out[inst.reservation_id] = Reservation(inst.reservation_id, inst.owner_id, list(inst.groups), [])
        res.instances.append(inst)
    return list(out.values())


async def _describe(ctx: RequestContext, instance_ids: Sequence[str]) -> list[Instance]:
    _vms, instances = await visible_instances(ctx, instance_ids, need_volumes=True)
    if not instance_ids:
        # A stable order, so NextToken offsets mean the same thing from one page to the next.
        instances.sort(key=lambda i: (i.launch_time.timestamp() if i.launch_time else 0.0, i.instance_id))
    return instances


def _check_paging(instance_ids: Sequence[str], max_results: int | None) -> None:
    if max_results is not None and instance_ids:
        # EC2 quirk: MaxResults cannot be combined with instance ids.
        raise ERRORS["InvalidParameterCombination"](
            detail="The parameter instancesSet cannot be used with the parameter maxResults")


async def describe_instances(ctx: RequestContext, instance_ids: Sequence[str] = (), filters: Sequence[Filter] = (),
                             max_results: int | None = None, next_token: str | None = None
                             ) -> DescribeInstancesResult:
    """DescribeInstances → listVirtualMachines (+ listVolumes for block devices). Reservations regroup the
    instances one RunInstances launched (their CloudStack `group`); MaxResults counts instances, as in EC2."""
    _check_paging(instance_ids, max_results)
    instances = apply_filters(INSTANCE_FILTERS, filters, await _describe(ctx, instance_ids))
    page, token = paginate(instances, max_results, next_token)
    return DescribeInstancesResult(_reservations(page), token)


def _status_of(inst: Instance) -> InstanceStatus:
    name = inst.instance_state.name
    if name == "running":
        summary = StatusSummary("ok", (StatusDetail("reachability", "passed"),))
    elif name == "pending":
        summary = StatusSummary("initializing", (StatusDetail("reachability", "initializing"),))
    else:
        summary = StatusSummary("not-applicable")
    return InstanceStatus(inst.instance_id, inst.placement.availability_zone, inst.instance_state, summary, summary)


async def describe_instance_status(ctx: RequestContext, instance_ids: Sequence[str] = (),
                                   filters: Sequence[Filter] = (), include_all_instances: bool = False,
                                   max_results: int | None = None, next_token: str | None = None
                                   ) -> DescribeInstanceStatusResult:
    """DescribeInstanceStatus → listVirtualMachines. CloudStack has no health checks: a running VM reports
    ok/passed, a starting one initializing. Only running instances unless IncludeAllInstances, as in EC2."""
    _check_paging(instance_ids, max_results)
    _vms, instances = await visible_instances(ctx, instance_ids)
    statuses = [_status_of(i) for i in instances]
    if not include_all_instances:
        statuses = [s for s in statuses if s.instance_state.name == "running"]
    statuses = apply_filters(INSTANCE_STATUS_FILTERS, filters, statuses)
    page, token = paginate(statuses, max_results, next_token)
    return DescribeInstanceStatusResult(page, token)


# -- RunInstances ---------------------------------------------------------------------------------------------

async def _template(ctx: RequestContext, image_id: str) -> dict:
    if not (_AMI_ID.match(image_id) or UUID.match(image_id)):
        raise ERRORS["InvalidAMIID.Malformed"](image_id=image_id)
    cs_id = await ctx.ids.to_cloudstack("image", image_id)
    if cs_id is None:
        raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id)
    try:
        found = await launch_templates(ctx, cs_id)
    except CloudStackApiError as exc:
        if exc.errorcode not in (431, 531):
            raise
        found = []
    if not found:
        raise ERRORS["InvalidAMIID.NotFound"](image_id=image_id)
    if not any(t.get("isready", True) for t in found):
        raise ERRORS["InvalidAMIID.Unavailable"](image_id=image_id)
    return found[0]


async def _zone(ctx: RequestContext, zone_name: str | None) -> dict:
    zones = await ctx.cloud.list_zones(available=True)
    if not zone_name:
        if not zones:
            raise ERRORS["InsufficientInstanceCapacity"]()
        return zones[0]
    for zone in zones:
        if str(zone.get("name", "")).lower() == zone_name.lower():
            return zone
    raise ERRORS["InvalidZone.NotFound"](zone=zone_name)


async def _group_ids(ctx: RequestContext, names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """Security group names and sg- ids → CloudStack uuids (CloudStack takes names or ids, not both)."""
    if not names and not ids:
        return []
    groups = await ctx.cloud.list_security_groups()
    return await resolve_group_refs(ctx.ids, names, ids, {g.get("name"): g["id"] for g in groups},
                                    {g["id"] for g in groups})


def _user_data(value: str | None) -> str | None:
    """EC2 sends user data base64-encoded, which is what CloudStack stores."""
    if not value:
        return None
    text = "".join(value.split())
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ERRORS["InvalidParameterValue"](detail="Invalid BASE64 encoding of user data.") from None
    return base64.b64encode(raw).decode("ascii") if raw else None


async def _allowed(ctx: RequestContext) -> int | None:
    """How many more VMs the caller's account may have (None: no limit)."""
    limits = [item for item in await ctx.cloud.list_resource_limits(resourcetype=0)
              if int(item.get("max", -1)) >= 0]
    if not limits:
        return None
    limit = limits[0]
    # The account's own count (vmtotal) is CloudStack's, and cheaper than listing every VM.
    accounts = []
    if limit.get("account"):
        accounts = await ctx.cloud.list_accounts(name=limit["account"], domainid=limit.get("domainid"))
    if accounts and accounts[0].get("vmtotal") is not None:
        used = int(accounts[0]["vmtotal"])
    else:
        used = sum(1 for v in await ctx.cloud.list_virtual_machines()
                   if str(v.get("state", "")).lower() not in _GONE)
    return max(int(limit["max"]) - used, 0)


def _deploy_error(exc: CloudStackApiError, image_id: str, requested: int, address: str | None) -> Exception:
    """What a failed deployVirtualMachine means in EC2 terms (None: unknown, let it propagate)."""
    text = exc.errortext.lower()
    if exc.errorcode == 535:
        return ERRORS["InstanceLimitExceeded"](allowed=0, requested=requested)
    if exc.errorcode == 533:
        if "ip address" in text:
            return ERRORS["InvalidIPAddress.InUse"](address=address or "requested")
        return ERRORS["InsufficientInstanceCapacity"]()
    if exc.errorcode == 531 or (exc.errorcode == 431 and "template" in text):
        if "downloaded" in text or "not available in zone" in text:
            return ERRORS["InvalidAMIID.Unavailable"](image_id=image_id)
        return ERRORS["InvalidAMIID.NotFound"](image_id=image_id)
    if exc.errorcode == 431:
        if "key pair" in text or "keypar" in text:
            return ERRORS["InvalidKeyPair.NotFound"](key_name="")
        # A parameter CloudStack refused (user data size, IP format, security groups in this zone, …): the
        # caller's own request, so its text is safe and useful.
        return ERRORS["InvalidParameterValue"](detail=exc.errortext)
    return exc


async def run_instances(ctx: RequestContext, image_id: str, min_count: int, max_count: int,
                        instance_type: str | None = None, key_name: str | None = None,
                        security_groups: Sequence[str] = (), security_group_ids: Sequence[str] = (),
                        user_data: str | None = None, availability_zone: str | None = None,
                        private_ip_address: str | None = None,
                        tag_specifications: launch_devices.TagSpecs | None = None,
                        block_devices: Sequence[launch_devices.BlockDeviceRequest] = (),
                        subnet_id: str | None = None,
                        network_interfaces: Sequence[NetworkInterfaceRequest] = (),
                        placement_group: str | None = None, placement_group_id: str | None = None,
                        placement_tenancy: str | None = None, placement_affinity: str | None = None,
                        placement_partition_number: int | None = None, placement_host_id: str | None = None,
                        placement_spread_domain: str | None = None,
                        placement_host_resource_group_arn: str | None = None,
                        placement_availability_zone_id: str | None = None) -> Reservation:
    """RunInstances → deployVirtualMachine (one call per instance), started and not awaited: the instances
    answer pending at once. Their reservation id is stored in each VM's CloudStack `group`. BlockDeviceMapping
    and TagSpecification: launch_devices.py. A subnet, a network interface, or a zone that is Advanced (its
    default VPC) launches into a VPC tier: vpc_instances.py. Placement.GroupName/GroupId: the caller's affinity
    group (launches.placement_affinity)."""
    if min_count < 1 or max_count < 1:
        raise ERRORS["InvalidParameterValue"](detail="The MinCount and MaxCount parameters must be at least 1")
    if min_count > max_count:
        raise ERRORS["InvalidParameterValue"](
            detail=f"MinCount ({min_count}) must be less than or equal to MaxCount ({max_count})")
    instance_type = instance_type or ctx.settings.default_instance_type
    template = await _template(ctx, image_id)
    offering = await offering_for_type(ctx, instance_type)
    chosen: dict[str | None, dict] = {}

    async def zone_named(name: str | None) -> dict:
        if name not in chosen:
            chosen[name] = await _zone(ctx, name)
        return chosen[name]

    vpc = await plan_vpc_launch(ctx, zone_named, subnet_id=subnet_id, interfaces=network_interfaces,
                                availability_zone=availability_zone, private_ip_address=private_ip_address,
                                security_groups=security_groups, security_group_ids=security_group_ids)
    zone = vpc.zone if vpc is not None else await zone_named(availability_zone)
    if key_name is not None and not await ctx.cloud.list_ssh_key_pairs(name=key_name):
        raise ERRORS["InvalidKeyPair.NotFound"](key_name=key_name)
    # A VPC tier takes no CloudStack security groups: the launch's EC2 groups are recorded (vpc_instances.py).
    groups = [] if vpc is not None else await _group_ids(ctx, security_groups, security_group_ids)
    private_ip_address = vpc.private_ip if vpc is not None else private_ip_address
    userdata = _user_data(user_data)
    affinity = await launches.placement_affinity(ctx, placement_group, placement_group_id, {
        "Tenancy": placement_tenancy, "Affinity": placement_affinity, "PartitionNumber": placement_partition_number,
        "HostId": placement_host_id, "SpreadDomain": placement_spread_domain,
        "HostResourceGroupArn": placement_host_resource_group_arn,
        "AvailabilityZoneId": placement_availability_zone_id})
    launch = await launch_devices.plan(ctx, block_devices, tag_specifications or {}, template, zone)
    # One instance needs no count of what the account may still have: CloudStack refuses a deploy past the
    # limit (535), which is InstanceLimitExceeded with nothing launched, as this check would answer it.
    allowed = await _allowed(ctx) if max_count > 1 else None
    if allowed is not None and allowed < min_count:
        raise ERRORS["InstanceLimitExceeded"](allowed=allowed, requested=min_count)
    count = max_count if allowed is None else min(max_count, allowed)
    if private_ip_address and count > 1:
        raise ERRORS["InvalidParameterCombination"](
            detail="Cannot specify a private IP address when launching more than one instance")
    reservation_id = f"r-{secrets.token_hex(9)[:17]}"
    params: dict[str, Any] = {
        "zoneid": zone["id"], "templateid": template["id"], "serviceofferingid": offering["id"],
        "keypair": key_name, "securitygroupids": groups or None, "userdata": userdata,
        "group": reservation_id, "ipaddress": private_ip_address or None, "affinitygroupids": affinity,
        **launch.deploy_params,
        **(vpc.deploy_params if vpc is not None else {})}
    addresses = await reserve_addresses(ctx, vpc, count) if vpc is not None else []
    launched: list[str] = []
    deploy_jobs: dict[str, str] = {}
    for _ in range(count):
        try:
            started = await ctx.cloud.begin_deploy_virtual_machine(**params)
        except CloudStackApiError as exc:
            if launched:
                # Later failures end the launch; EC2 also launches fewer than MaxCount when it must.
                break
            await release_addresses(ctx, addresses)
            raise _deploy_error(exc, image_id, min_count, private_ip_address) from None
        launched.append(started["id"])
        deploy_jobs[started["id"]] = started.get("jobid")
    await launch_devices.finish(ctx, launch, launched, deploy_jobs)
    if vpc is not None:
        await finish_vpc_launch(ctx, vpc, launched, addresses)
    by_id = {v["id"]: v for v in await ctx.cloud.list_virtual_machines(ids=launched)}
    instances = await to_instances(ctx, [by_id[i] for i in launched if i in by_id])
    for index, inst in enumerate(instances):
        # EC2 quirk: a new instance is pending in the answer even if a fast cloud has started it already.
        inst.instance_state, inst.state_reason, inst.ami_launch_index = STATES["pending"], None, str(index)
    first_groups: list[GroupRef] = instances[0].groups if instances else []
    owner = instances[0].owner_id if instances else ""
    return Reservation(reservation_id, owner, list(first_groups), instances)


async def run_instances_once(ctx: RequestContext, client_token: str | None = None,
                             disable_api_termination: bool = False, **params: Any) -> Reservation:
    """RunInstances as the adapters call it: run_instances at most once per ClientToken, and
    DisableApiTermination kept in our store (launches.py)."""
    return await launch_once(ctx, run_instances, params, client_token, disable_api_termination)


# -- Start, Stop, Reboot, Terminate ---------------------------------------------------------------------------

# The state-change commands _state_changes starts, each through its typed begin_ method.
_BEGIN: dict[str, Any] = {
    "startVirtualMachine": lambda cloud: cloud.begin_start_virtual_machine,
    "stopVirtualMachine": lambda cloud: cloud.begin_stop_virtual_machine,
    "rebootVirtualMachine": lambda cloud: cloud.begin_reboot_virtual_machine,
}


async def _state_changes(ctx: RequestContext, instance_ids: Sequence[str], command: str, action: str,
                         decide: Any, extra: dict[str, Any] | None = None) -> list[InstanceStateChange]:
    """Check every instance first (DECIDE(cs_state) → "call", "skip" or "refuse"), then start the jobs together
    and wait for each (bounded by the client): the answer holds each instance's state before and after."""
    if not instance_ids:
        raise ERRORS["MissingParameter"](name="InstanceId")
    vms, instances = await visible_instances(ctx, instance_ids)
    by_id = {v["id"]: v for v in vms}
    plan = []
    for inst in instances:
        # An instance we terminated (shown from our record) is gone for CloudStack.
        vm = by_id.get(inst.cs_id, {"id": inst.cs_id, "state": "Destroyed"})
        verdict = decide(str(vm.get("state", "")).lower(), inst.instance_state.name)
        if verdict == "refuse":
            raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action=action)
        plan.append((vm, inst, verdict))
    jobs = []
    for vm, inst, verdict in plan:
        if verdict != "call":
            jobs.append(None)
            continue
        try:
            jobs.append(await _BEGIN[command](ctx.cloud)(id=vm["id"], **(extra or {})))
        except CloudStackApiError as exc:
            if exc.errorcode != 431:
                raise
            # CloudStack changed its mind between our list and the call (another request moved the VM).
            raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action=action) from None
    out = []
    for (vm, inst, _verdict), job in zip(plan, jobs):
        current = inst.instance_state
        if job is not None:
            try:
                result = await ctx.cloud.wait_job(job["jobid"], command=command)
            except CloudStackJobFailed as exc:
                if exc.errorcode not in (431, 530):
                    raise
                raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action=action) from None
            if isinstance(result, dict):
                current, _reason = await state_of(ctx, result)
        out.append(InstanceStateChange(inst.instance_id, current, inst.instance_state))
    return out


def _start_verdict(cs_state: str, ec2_state: str) -> str:
    if ec2_state == "shutting-down" or cs_state in _GONE or cs_state in ("error", "stopping"):
        return "refuse"
    return "call" if cs_state in ("stopped", "shutdown") else "skip"


async def start_instances(ctx: RequestContext, instance_ids: Sequence[str]) -> list[InstanceStateChange]:
    """StartInstances → startVirtualMachine. A running or pending instance is left as it is (EC2 answers its
    state twice); a stopping or terminated one is IncorrectInstanceState."""
    return await _state_changes(ctx, instance_ids, "startVirtualMachine", "started", _start_verdict)


async def stop_instances(ctx: RequestContext, instance_ids: Sequence[str],
                         force: bool = False) -> list[InstanceStateChange]:
    """StopInstances → stopVirtualMachine (forced= Force). A stopped instance stays stopped; a pending or
    terminated one is IncorrectInstanceState."""
    def verdict(cs_state: str, ec2_state: str) -> str:
        if ec2_state == "shutting-down" or cs_state in _GONE or cs_state in ("error", "starting"):
            return "refuse"
        if cs_state == "stopped" or (cs_state == "stopping" and not force):
            return "skip"
        return "call"
    return await _state_changes(ctx, instance_ids, "stopVirtualMachine", "stopped", verdict,
                                {"forced": True} if force else None)


async def reboot_instances(ctx: RequestContext, instance_ids: Sequence[str]) -> bool:
    """RebootInstances → rebootVirtualMachine. Only running instances reboot; others are
    IncorrectInstanceState (CloudStack would fail the job with a bare 530)."""
    def verdict(cs_state: str, ec2_state: str) -> str:
        return "call" if cs_state == "running" and ec2_state == "running" else "refuse"
    await _state_changes(ctx, instance_ids, "rebootVirtualMachine", "rebooted", verdict)
    return True


OPERATIONS: dict[str, Any] = {
    "RunInstances": run_instances_once,
    "DescribeInstances": describe_instances,
    "DescribeInstanceStatus": describe_instance_status,
    "StartInstances": start_instances,
    "StopInstances": stop_instances,
    "RebootInstances": reboot_instances,
    "TerminateInstances": terminate_instances,
    **instance_attributes.OPERATIONS,
}
