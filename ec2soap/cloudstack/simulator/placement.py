"""Simulator: where a VM runs. Each zone has a few simulated hosts (`_hosts`, default HOSTS); a VM starts on the
first host its affinity groups allow (HostAntiAffinityProcessor / HostAffinityProcessor behaviour): no other
running member of a `host anti-affinity` group on it, and the host of the running members of a `host affinity`
group. No such host is the planner's InsufficientServerCapacityException (533). vms.py and affinity_groups.py
use this module; it holds no command.
"""
from __future__ import annotations

import uuid as uuidlib

from ec2soap.cloudstack.simulator.context import Ctx
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied

__all__ = ["HOSTS", "TYPES", "ADMIN_TYPES", "host_of", "choose_host", "groups_for", "render_groups"]

HOSTS = 4
TYPES = ("host anti-affinity", "host affinity")
# ExplicitDedicationProcessor's type: admin-controlled, so not listed to users (listAffinityGroupTypes).
ADMIN_TYPES = ("ExplicitDedication",)
_HOST_NS = uuidlib.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")
_RUNNING = ("Starting", "Running", "Stopping", "Migrating")


def host_of(zone_id: str, index: int) -> tuple[str, str]:
    """Host INDEX of the zone: (uuid, name). Host 0 keeps the one-host simulator's uuid."""
    host = uuidlib.uuid5(_HOST_NS, zone_id if index == 0 else f"{zone_id}/{index}")
    return str(host), f"SimulatedAgent.{host}"


def choose_host(ctx: Ctx, vm: dict) -> tuple[str, str]:
    zone = ctx.get("zone", vm["zoneid"]) or {}
    hosts = [host_of(vm["zoneid"], i) for i in range(int(zone.get("_hosts", HOSTS)))]
    groups = [g for g in (ctx.get("affinitygroup", gid) for gid in vm.get("_affinitygroupids", ())) if g]
    allowed = [h for h, _ in hosts]
    for group in groups:
        members = ctx.find("vm", where=lambda v: group["id"] in v.get("_affinitygroupids", ())
                           and v["id"] != vm["id"] and v.get("state") in _RUNNING and v.get("_hostid"))
        used = {m["_hostid"] for m in members}
        if group["type"] == "host anti-affinity":
            allowed = [h for h in allowed if h not in used]
        elif group["type"] == "host affinity" and used:
            allowed = [h for h in allowed if h in used]
    if not allowed:
        raise SimError(533, f"Unable to create a deployment for VM[User|{vm.get('instancename')}]", 4335)
    return next(pair for pair in hosts if pair[0] == allowed[0])


def groups_for(ctx: Ctx, p: dict, owner: dict) -> list[str]:
    """deployVirtualMachine's affinitygroupids / affinitygroupnames: the owner's groups."""
    ids, names = p.get("affinitygroupids") or [], p.get("affinitygroupnames") or []
    if ids and names:
        raise param_error("affinitygroupids parameter is mutually exclusive with affinitygroupnames parameter")
    out = []
    for gid in ids:
        group = ctx.get("affinitygroup", gid)
        if group is None:
            raise invalid_value(ctx.command, "affinitygroupids", gid)
        if group.get("accountid") != owner["id"]:
            raise permission_denied(f"Affinity Group {group['name']} does not belong to the VM's account")
        out.append(group["id"])
    for name in names:
        found = ctx.find("affinitygroup", account_id=owner["id"], name=name)
        if not found:
            raise param_error(f"Unable to find affinity group by name {name}")
        out.append(found[0]["id"])
    return list(dict.fromkeys(out))


def render_groups(ctx: Ctx, vm: dict) -> list[dict]:
    """The VM's `affinitygroup` set as UserVmResponse shows it."""
    out = []
    for gid in vm.get("_affinitygroupids", ()):
        group = ctx.get("affinitygroup", gid)
        if group:
            out.append({k: group[k] for k in ("id", "name", "description", "type", "account", "domainid",
                                              "domain") if k in group})
    return out
