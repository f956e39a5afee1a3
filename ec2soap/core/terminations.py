"""Terminated instances as EC2 users see them: TerminateInstances (answered at once, shutting-down), the record
we keep of each terminated instance so DescribeInstances shows it for an hour whatever CloudStack's settings,
and the expunge that lets DeleteSecurityGroup follow the terminated waiter. Core: no Twisted, Spyne, SQL.

CloudStack quirk: a destroyed VM stays (hidden from its owner unless allow.user.view.destroyed.vm) until
expunge.delay (a day by default) has passed, holding its security groups and, until then, its volumes.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.instance_model import (STATES, Instance, InstanceState, InstanceStateChange, Placement,
                                         StateReason, resolve_instance_ids,
                                         to_instances)
from ec2soap.core.model import Tag, caller_account as model_caller_account
from ec2soap.core.volumes import delete_on_termination
from ec2soap.core.vpc_instances import release_launch_resources
from ec2soap.errors import ERRORS

__all__ = ["TERMINATED_REASON", "caller_account_id", "visible_instances", "terminate_instances", "expunge_advice",
           "to_facts", "from_facts"]

log = logging.getLogger(__name__)
_GONE = ("destroyed", "expunging")
TERMINATED_REASON = StateReason("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated "
                                                                "shutdown")


# -- the record ---------------------------------------------------------------------------------------------------

def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_facts(inst: Instance, terminated_at: float) -> dict:
    """What EC2 keeps of a terminated instance, as JSON: no addresses, block devices or security groups."""
    when = datetime.fromtimestamp(terminated_at, timezone.utc)
    return {
        "instance_id": inst.instance_id, "image_id": inst.image_id, "instance_type": inst.instance_type,
        "launch_time": _time(inst.launch_time), "availability_zone": inst.placement.availability_zone,
        "reservation_id": inst.reservation_id, "owner_id": inst.owner_id, "key_name": inst.key_name,
        "ami_launch_index": inst.ami_launch_index, "architecture": inst.architecture,
        "root_device_type": inst.root_device_type, "root_device_name": inst.root_device_name,
        "platform": inst.platform, "virtualization_type": inst.virtualization_type,
        "hypervisor": inst.hypervisor, "tags": [asdict(t) for t in inst.tags],
        # EC2's stateTransitionReason for a terminate: "User initiated (YYYY-MM-DD HH:MM:SS GMT)".
        "reason": f"User initiated ({when:%Y-%m-%d %H:%M:%S} GMT)",
        "cs_id": inst.cs_id,
    }


def from_facts(facts: dict) -> Instance:
    launch = facts.get("launch_time")
    return Instance(
        instance_id=facts["instance_id"], image_id=facts.get("image_id") or "",
        instance_state=STATES["terminated"], private_dns_name="", dns_name="",
        instance_type=facts.get("instance_type") or "",
        launch_time=datetime.fromisoformat(launch) if launch else None,
        placement=Placement(facts.get("availability_zone") or ""),
        reservation_id=facts.get("reservation_id") or "", owner_id=facts.get("owner_id") or "",
        key_name=facts.get("key_name"), reason=facts.get("reason") or "",
        ami_launch_index=facts.get("ami_launch_index"), state_reason=TERMINATED_REASON,
        architecture=facts.get("architecture") or "x86_64", root_device_type=facts.get("root_device_type") or "ebs",
        root_device_name=facts.get("root_device_name") or "/dev/sda1", platform=facts.get("platform"),
        virtualization_type=facts.get("virtualization_type") or "hvm", hypervisor=facts.get("hypervisor"),
        tags=[Tag(t["key"], t["value"]) for t in facts.get("tags") or ()], groups=[],
        cs_id=facts.get("cs_id") or "", cs_state="Destroyed")


# -- whose, and what is visible -------------------------------------------------------------------------------------

async def caller_account_id(ctx: RequestContext) -> str:
    """The uuid of the account the caller's keys belong to, which our records are kept under: found by the
    keys (an admin's listAccounts shows every account, model.caller_account the first), remembered per
    access key since it never changes."""
    known = ctx.records.accounts.get(ctx.access_key) if ctx.records is not None else None
    if known:
        return known
    account = ""
    try:
        users = await ctx.cloud.list_users()
    except CloudStackApiError:
        users = []
    for user in users:
        if user.get("apikey") == ctx.access_key and user.get("accountid"):
            account = str(user["accountid"])
    if not account:
        account = str((await model_caller_account(ctx)).get("id") or "")
    if ctx.records is not None and account:
        ctx.records.accounts[ctx.access_key] = account
    return account


# Later than any termination time: records.terminated(SINCE=this, CS_IDS) answers the records of CS_IDS only.
_NO_RECORD_SINCE = 2.0 ** 62

# Instance ids up to this many are asked of listVirtualMachines by id (the rest of the caller's VMs are neither
# listed nor rendered); more are filtered from the whole listing, so the request stays short.
_BY_ID_LIMIT = 50


async def _listed_vms(ctx: RequestContext, wanted: dict[str, Any], params: dict[str, Any]) -> list[dict]:
    """listVirtualMachines(**PARAMS), by the WANTED VMs' ids when there are few: the same VMs as the whole
    listing keeps for them. An id CloudStack refuses (431 for a purged row, or another account's) asks for the
    whole listing instead, which answers as before."""
    cs_ids = list(dict.fromkeys(wanted.values()))
    if cs_ids and len(cs_ids) <= _BY_ID_LIMIT and not {"id", "ids"} & set(params):
        try:
            return await ctx.cloud.list_virtual_machines(ids=cs_ids, **params)
        except CloudStackApiError:
            pass
    return await ctx.cloud.list_virtual_machines(**params)


async def visible_instances(ctx: RequestContext, instance_ids: Sequence[str] = (), *,
                            volumes: Sequence[dict] | None = None, need_volumes: bool = False,
                            **params: Any) -> tuple[list[dict], list[Instance]]:
    """(live VMs, instances) the caller sees: CloudStack's VMs that are not destroyed, and the instances we
    terminated within the retention (from our record, whatever CloudStack still lists). INSTANCE_IDS, when
    given, are answered in that order; an id neither knows is InvalidInstanceID.NotFound. A destroyed VM we
    have no record of (destroyed outside the gateway) shows as CloudStack shows it."""
    wanted = await resolve_instance_ids(ctx, instance_ids)
    vms = await _listed_vms(ctx, wanted, params)
    gone_ids = [v["id"] for v in vms if str(v.get("state", "")).lower() in _GONE]
    records: dict[str, Any] = {}
    if ctx.records is not None:
        since = ctx.clock() - ctx.settings.terminated_retention
        # Named instances need only their own records, whenever terminated (a SINCE no record reaches): the
        # account's others, hundreds within the retention, are neither read nor decoded.
        ask_since, ask_ids = (_NO_RECORD_SINCE, list(dict.fromkeys(wanted.values()))) if instance_ids \
            else (since, gone_ids)
        for record in await ctx.records.terminated(await caller_account_id(ctx), ask_since, ask_ids):
            records[record.cs_id] = record if record.terminated >= since else None
    # A VM we terminated is shown from our record (or no more, after the retention) once CloudStack has it
    # destroyed; a destroy that failed leaves it live, and CloudStack's view wins.
    live = [v for v in vms if not (v["id"] in records and str(v.get("state", "")).lower() in _GONE)]
    live_ids = {v["id"] for v in live}
    kept = {cs_id: from_facts(r.facts) for cs_id, r in records.items() if r is not None and cs_id not in live_ids}
    if instance_ids:
        by_id = {v["id"]: v for v in live}
        order = []
        for value in dict.fromkeys(instance_ids):
            cs_id = wanted[value]
            if cs_id not in by_id and cs_id not in kept:
                raise ERRORS["InvalidInstanceID.NotFound"](instance_id=value)
            order.append(cs_id)
        live = [by_id[c] for c in order if c in by_id]
    if need_volumes and volumes is None:
        volumes = await ctx.cloud.list_volumes() if live else []
    converted = {i.cs_id: i for i in await to_instances(ctx, live, volumes=volumes)}
    for vm in live:
        if records.get(vm["id"]) is not None and vm.get("jobid"):
            # Our destroy is in flight (possibly as admin, whose job the caller cannot look up). A destroy that
            # failed leaves no job on the VM, and its state shows again.
            converted[vm["id"]].instance_state, converted[vm["id"]].state_reason = STATES["shutting-down"], None
    if instance_ids:
        return live, [converted.get(c) or kept[c] for c in order]
    return live, list(converted.values()) + list(kept.values())


# -- TerminateInstances -------------------------------------------------------------------------------------------

async def _user_may_expunge(ctx: RequestContext) -> bool:
    """Whether the caller's own keys may expunge (listCapabilities' allowuserexpungerecovervm)."""
    try:
        capabilities = await ctx.cloud.list_capabilities()
    except CloudStackApiError:
        capabilities = {}
    if isinstance(capabilities, list):
        capabilities = capabilities[0] if capabilities else {}
    return str((capabilities or {}).get("allowuserexpungerecovervm", "")).lower() == "true"


async def _may_expunge(ctx: RequestContext) -> Any:
    """The client that may expunge at destroy time: the gateway's admin client when there is one (an admin may
    always expunge, so nothing need be asked: one listCapabilities fewer per TerminateInstances), else the
    caller's when allow.user.expunge.recover.vm is set, else None."""
    if ctx.admin is not None:
        return ctx.admin
    return ctx.cloud if await _user_may_expunge(ctx) else None


async def _destroy(ctx: RequestContext, expunger: Any, cs_id: str, going: dict) -> None:
    """destroyVirtualMachine, expunged by EXPUNGER (the caller's client or the admin's) when there is one."""
    if expunger is not None and expunger is not ctx.cloud:
        try:
            await expunger.begin_destroy_virtual_machine(id=cs_id, expunge=True, **going)
            return
        except CloudStackApiError as exc:
            if exc.errorcode == 431:
                raise
            # The gateway's admin keys failed (revoked, wrong): the caller's own destroy still terminates the
            # instance (expunged when the caller may, else after expunge.delay). Never the caller's AuthFailure.
            log.warning("request %s: expunging VM %s with the admin keys failed (%s): destroying it as the "
                        "caller", ctx.request_id, cs_id, exc.errorcode)
        expunger = ctx.cloud if await _user_may_expunge(ctx) else None
    extra = {"expunge": True} if expunger is not None else {}
    await ctx.cloud.begin_destroy_virtual_machine(id=cs_id, **extra, **going)


def _refuse_protected(instances: Sequence[Instance], protected: set[str]) -> None:
    """The whole call is refused when any instance it names has termination protection on, as in EC2."""
    for inst in instances:
        if inst.cs_id in protected:
            raise ERRORS["OperationNotPermitted"](
                detail=f"The instance '{inst.instance_id}' may not be terminated. Modify its "
                       f"'disableApiTermination' instance attribute and try again.")


async def _volumes_of(ctx: RequestContext, instance_ids: Sequence[str]) -> list[dict]:
    """listVolumes of the one VM INSTANCE_IDS name (what the caller's whole listing holds of it), else all."""
    cs_ids = set((await resolve_instance_ids(ctx, instance_ids)).values())
    if len(cs_ids) == 1:
        try:
            return await ctx.cloud.list_volumes(virtualmachineid=next(iter(cs_ids)))
        except CloudStackApiError:
            pass  # a VM CloudStack will not name to the caller: the whole listing (it holds none of its volumes)
    return await ctx.cloud.list_volumes()


async def terminate_instances(ctx: RequestContext, instance_ids: Sequence[str]) -> list[Any]:
    """TerminateInstances → detachVolume for each data volume, then destroyVirtualMachine (expunge=true where
    the caller or the gateway's admin keys may), started and not awaited: the answer is shutting-down at once
    and the waiters then see terminated. Termination protection (our record) refuses the whole call, as EC2."""
    if not instance_ids:
        raise ERRORS["MissingParameter"](name="InstanceId")
    # One listVolumes serves both the answer's block devices and the volumes that go or stay with the VMs: those
    # of the one VM named, when one is.
    volumes = await _volumes_of(ctx, instance_ids)
    # The answer is state changes only: the instances need no block devices (whose volume ids would be minted).
    vms, instances = await visible_instances(ctx, instance_ids, volumes=())
    live = {v["id"]: v for v in vms}
    doomed = [i for i in instances if i.cs_id in live
              and str(live[i.cs_id].get("state", "")).lower() not in _GONE
              and i.instance_state.name != "shutting-down"]
    if ctx.records is not None and not doomed:
        _refuse_protected(instances, await ctx.records.protected(live))
    expunger = await _may_expunge(ctx) if doomed else None
    data_volumes: dict[str, list[str]] = {}
    # Data volumes RunInstances made with DeleteOnTermination (launch_devices.py) go with the instance.
    deleted_volumes: dict[str, list[str]] = {}
    if doomed:
        for volume in volumes:
            if volume.get("virtualmachineid") in live and volume.get("type") != "ROOT":
                target = deleted_volumes if delete_on_termination(volume) else data_volumes
                target.setdefault(volume["virtualmachineid"], []).append(volume["id"])
    now = ctx.clock()
    if ctx.records is not None and doomed:
        # Recorded before any destroy starts, so an instance on its way out always has its record (a crash
        # between the two cannot make it vanish); a destroy that fails leaves the VM live, and CloudStack's
        # view of a live VM wins over the record. Termination protection (of any live VM named) is read in the
        # same transaction, which records nothing when one has it.
        _refuse_protected(instances, await ctx.records.record_terminated(
            await caller_account_id(ctx), [(i.cs_id, i.instance_id, to_facts(i, now)) for i in doomed], now,
            unless_protected=list(live)))
    for inst in doomed:
        # EC2 detaches the volumes that outlive the instance as it terminates; CloudStack would keep them
        # attached to the destroyed VM until it is expunged (a day by default). CloudStack's per-VM work queue
        # runs the detaches before the destroy.
        for volume_id in data_volumes.get(inst.cs_id, ()):
            try:
                await ctx.cloud.begin_detach_volume(id=volume_id)
            except CloudStackApiError as exc:
                if exc.errorcode != 431:
                    raise
        going = {"volumeids": deleted_volumes[inst.cs_id]} if inst.cs_id in deleted_volumes else {}
        try:
            await _destroy(ctx, expunger, inst.cs_id, going)
        except CloudStackApiError as exc:
            if exc.errorcode != 431:
                raise
            raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action="terminated") from None
    await release_launch_resources(ctx, [i.cs_id for i in doomed if i.vpc_id])
    changes = []
    doomed_ids = {i.cs_id for i in doomed}
    for inst in instances:
        current: InstanceState = STATES["shutting-down"] if inst.cs_id in doomed_ids else inst.instance_state
        changes.append(InstanceStateChange(inst.instance_id, current, inst.instance_state))
    return changes


def expunge_advice() -> str:
    """Why a terminated instance still holds a security group, and what the operator can do about it."""
    return ("CloudStack keeps destroyed instances, with their security groups, until expunge.delay has passed "
            "(one day by default); the gateway could not expunge them. The CloudStack operator can set "
            "allow.user.expunge.recover.vm to true or give the gateway CloudStack admin keys "
            "(cloudstack_admin_api_key), so that TerminateInstances expunges at once.")

