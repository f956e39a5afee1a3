"""Simulator: affinity groups (AffinityGroupServiceImpl behaviour). A group is kind "affinitygroup"; a VM's
groups are its `_affinitygroupids`; placement.py places VMs by them."""
from __future__ import annotations

from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields
from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, JobStarted, Listing, keyword_filter, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.placement import ADMIN_TYPES, TYPES
from ec2soap.cloudstack.simulator.vms import render_vm

__all__ = ["COMMANDS", "JOB_ACTIONS"]


def _render(ctx: Ctx, group: dict, command: str = "listAffinityGroups") -> dict:
    members = ctx.find("vm", where=lambda v: group["id"] in v.get("_affinitygroupids", ()))
    out = dict(group, virtualmachineIds=[v["id"] for v in members])
    return public_fields(out, spec.command(command)["response"])


def _create(ctx: Ctx, p: dict) -> JobStarted:
    kind = p["type"]
    if kind not in TYPES + ADMIN_TYPES:
        raise param_error(f"Unable to create affinity group, invalid affinity group type: {kind}. Valid values "
                          f"are {','.join(TYPES + ADMIN_TYPES)}")
    if kind in ADMIN_TYPES:
        if not ctx.caller.is_admin:
            raise permission_denied("Cannot create the affinity group")
        raise param_error(f"Affinity groups of type {kind} need dedicated resources, which this cloud has none of")
    owner = owner_account(ctx, p)
    if ctx.find("affinitygroup", account_id=owner["id"], name=p["name"]):
        raise param_error(f"Unable to create affinity group, a group with name {p['name']} already exists.")
    group = ctx.insert("affinitygroup", {"name": p["name"], "description": p.get("description"), "type": kind,
                                         **owner_fields(ctx, owner)}, account_id=owner["id"])
    return ctx.start_job("affinity_create", {"id": group["id"]}, instance_type="AffinityGroup",
                         object_id=group["id"])


def _job_create(ctx: Ctx, args: dict) -> dict:
    group = ctx.get("affinitygroup", args["id"])
    if group is None:
        raise SimError(530, f"Unable to find affinity group {args['id']}", 4250)
    return {"affinitygroup": _render(ctx, group, "createAffinityGroup")}


def _list(ctx: Ctx, p: dict) -> Listing:
    if p.get("id") and ctx.get("affinitygroup", p["id"], removed=True) is None:
        raise invalid_value(ctx.command, "id", p["id"])
    rows = ctx.find("affinitygroup", account_id=ctx.scope_accounts(p))
    for name in ("id", "name", "type"):
        if p.get(name):
            rows = [g for g in rows if g.get(name) == p[name]]
    if p.get("virtualmachineid"):
        vm = ctx.owned(ctx.get("vm", p["virtualmachineid"]), "vm", "virtualmachineid", p["virtualmachineid"])
        rows = [g for g in rows if g["id"] in vm.get("_affinitygroupids", ())]
    rows = keyword_filter(rows, p.get("keyword"), "name", "description")
    return Listing([_render(ctx, g) for g in rows])


def _list_types(ctx: Ctx, p: dict) -> Listing:
    return Listing([{"type": t} for t in TYPES])


def _delete(ctx: Ctx, p: dict) -> JobStarted:
    if p.get("id"):
        group = ctx.get("affinitygroup", p["id"])
    elif p.get("name"):
        owner = owner_account(ctx, p)
        found = ctx.find("affinitygroup", account_id=owner["id"], name=p["name"])
        group = found[0] if found else None
    else:
        raise param_error("Either the affinity group Id or group name must be specified to delete the group")
    if group is None:
        raise param_error(f"Unable to find affinity group {p.get('id') or p.get('name')}")
    ctx.owned(group, "affinitygroup", "id", group["id"])
    # DeleteAffinityGroupCmd names its job's resource only when called with the id.
    return ctx.start_job("affinity_delete", {"id": group["id"]},
                         instance_type="AffinityGroup" if p.get("id") else None)


def _job_delete(ctx: Ctx, args: dict) -> Any:
    group = ctx.get("affinitygroup", args["id"])
    if group is None:
        raise param_error(f"Unable to find affinity group by id {args['id']}")
    # The group's VM mappings go with it: CloudStack does not refuse a group in use.
    for vm in ctx.find("vm", where=lambda v: group["id"] in v.get("_affinitygroupids", ())):
        vm["_affinitygroupids"] = [g for g in vm["_affinitygroupids"] if g != group["id"]]
        ctx.save("vm", vm)
    ctx.remove("affinitygroup", group["id"])
    return SUCCESS


def _update_vm(ctx: Ctx, p: dict) -> JobStarted:
    vm = ctx.require("vm", p, "id")
    ids, names = p.get("affinitygroupids"), p.get("affinitygroupnames")
    if ids is not None and names is not None:
        raise param_error("affinitygroupids parameter is mutually exclusive with affinitygroupnames parameter")
    # updateVMAffinityGroups runs in the job: its checks fail the job.
    return ctx.start_job("affinity_update_vm", {"id": vm["id"], "ids": ids, "names": names})


def _job_update_vm(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None:
        raise param_error(f"Unable to find a virtual machine with id {args['id']}")
    if vm["state"] != "Stopped":
        raise param_error(f"Unable update affinity groups of the virtual machine {vm.get('instancename')} in state "
                          f"{vm['state']}; make sure the virtual machine is stopped and not in an error state "
                          f"before updating.")
    chosen = []
    for gid in args.get("ids") or []:
        group = ctx.get("affinitygroup", gid)
        if group is None:
            raise param_error(f"Unable to find affinity group by id {gid}")
        chosen.append(group)
    for name in args.get("names") or []:
        found = ctx.find("affinitygroup", account_id=vm["accountid"], name=name)
        if not found:
            raise param_error(f"Unable to find affinity group by name {name}")
        chosen.append(found[0])
    for group in chosen:
        if group.get("accountid") != vm["accountid"]:
            raise permission_denied(f"Affinity Group {group['name']} does not belong to the VM's account")
    vm["_affinitygroupids"] = list(dict.fromkeys(g["id"] for g in chosen))
    ctx.save("vm", vm)
    return {"virtualmachine": render_vm(ctx, vm, command="updateVMAffinityGroup")}


COMMANDS = {
    "createAffinityGroup": _create,
    "listAffinityGroups": _list,
    "listAffinityGroupTypes": _list_types,
    "deleteAffinityGroup": _delete,
    "updateVMAffinityGroup": _update_vm,
}
JOB_ACTIONS = {
    "affinity_create": _job_create,
    "affinity_delete": _job_delete,
    "affinity_update_vm": _job_update_vm,
}
