"""Simulator: user VMs (UserVmManagerImpl / VirtualMachineManagerImpl behaviour): deploy, the start/stop/reboot/
destroy/expunge life cycle with real async jobs, passwords and user data (checked in vm_inputs.py).

VMs are kind "vm"; each has a ROOT volume (kind "volume") and one NIC on the zone's guest network. Jobs on one
VM run one after another, like CloudStack's VM work queue.
"""
from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts, volumes
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, JobStarted, Listing, SimError, cs_date,
                                                 invalid_value, param_error, permission_denied, public_fields)
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields
from ec2soap.cloudstack.simulator.nics import forget_secondary_ips, implement_networks, network_nics
from ec2soap.cloudstack.simulator.placement import choose_host, groups_for, render_groups
from ec2soap.cloudstack.simulator.vm_inputs import (checked_userdata, encrypt_password, guest_nic, key_pairs_for,
                                                    security_groups_for, set_password, usable_template,
                                                    usable_zone)
from ec2soap.cloudstack.simulator.volumes import GB, pending_job

__all__ = ["COMMANDS", "JOB_ACTIONS", "ADMIN_ONLY", "advance", "render_vm", "encrypt_password"]

_HOSTNAME = re.compile(r"^(?![0-9])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HOSTNAME_ERROR = ("Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', "
                   "and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with "
                   "\"-\" and can't start with digit")
_GONE = ("Destroyed", "Expunging")
_HOST_NS = uuidlib.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


# -- rendering -----------------------------------------------------------------------------------------------------
def _render_group(ctx: Ctx, group: dict) -> dict:
    try:
        from ec2soap.cloudstack.simulator.security_groups import render_security_group
    except ImportError:
        render_security_group = None
    if render_security_group is not None:
        return render_security_group(ctx, group)
    out = {k: v for k, v in group.items() if not k.startswith("_")}
    out.setdefault("ingressrule", [])
    out.setdefault("egressrule", [])
    out["tags"] = []
    return out


def render_vm(ctx: Ctx, vm: dict, *, password: str | None = None, userdata: bool = False,
              command: str = "listVirtualMachines") -> dict:
    """UserVmResponse: stored fields plus security groups, tags, pending job; admins also see the host."""
    out = dict(vm)
    every_group = ctx.memo("groups-by-id", lambda: {g["id"]: g for g in ctx.find("securitygroup", removed=True)})
    groups = [every_group.get(gid) for gid in vm.get("_securitygroupids", ())]
    out["securitygroup"] = [_render_group(ctx, g) for g in groups if g]
    out["tags"] = ctx.tags.of("UserVm", vm["id"])
    out["affinitygroup"] = render_groups(ctx, vm)
    if ctx.caller.is_admin:
        if vm.get("_hostid"):
            out["hostid"], out["hostname"] = vm["_hostid"], vm["_hostname"]
    else:
        out.pop("instancename", None)
    if password is not None:
        out["password"] = password
    if userdata and vm.get("_userdata"):
        out["userdata"] = vm["_userdata"]
    def nat_by_vm() -> dict[str, dict]:
        table: dict[str, dict] = {}
        for ip in ctx.find("ipaddress"):
            if ip.get("virtualmachineid") and ip.get("isstaticnat", True):
                table.setdefault(ip["virtualmachineid"], ip)
        return table
    nat = ctx.memo("nat-by-vm", nat_by_vm).get(vm["id"])
    if nat:
        out["publicip"], out["publicipid"] = nat.get("ipaddress"), nat["id"]
    job = pending_job(ctx, vm["id"])
    if job:
        out["jobid"], out["jobstatus"] = job[0], 0
    return public_fields(out, spec.command(command)["response"])


def _result(ctx: Ctx, vm: dict, **kwargs: Any) -> dict:
    return {"virtualmachine": render_vm(ctx, vm, **kwargs)}


# -- listVirtualMachines -------------------------------------------------------------------------------------------
def _list_vms(ctx: Ctx, p: dict) -> Listing:
    scope = ctx.scope_accounts(p)
    state = (p.get("state") or "").lower()
    ids = set(p.get("ids") or []) | ({p["id"]} if p.get("id") else set())
    if state == "expunged":
        # Expunged VMs are removed rows; only a root admin may list them.
        if not ctx.caller.is_admin:
            return Listing([])
        live = {v["id"] for v in ctx.find("vm", account_id=scope)}
        rows = [v for v in ctx.find("vm", account_id=scope, removed=True) if v["id"] not in live]
    else:
        rows = ctx.find("vm", account_id=scope, ids=ids or None)
        if state == "present":
            rows = [v for v in rows if v["state"] not in _GONE]
        elif state:
            rows = [v for v in rows if v["state"].lower() == state]
        # CloudStack quirk: users do not see their Destroyed/Expunging VMs unless allow.user.view.destroyed.vm.
        if not ctx.caller.is_admin and not ctx.config_true("allow.user.view.destroyed.vm"):
            rows = [v for v in rows if v["state"] not in _GONE]
    if ids:
        rows = [v for v in rows if v["id"] in ids]
    for key in ("zoneid", "templateid", "serviceofferingid", "hypervisor", "groupid"):
        if p.get(key):
            rows = [v for v in rows if v.get(key) == p[key]]
    if p.get("name"):
        # The name filter is a substring match (listApis description).
        rows = [v for v in rows if p["name"].lower() in v["name"].lower()]
    if p.get("keyword"):
        kw = p["keyword"].lower()
        rows = [v for v in rows if kw in v["name"].lower() or kw in v.get("displayname", "").lower()
                or kw == v["state"].lower() or any(kw in n.get("ipaddress", "") for n in v.get("nic", []))]
    if "haenable" in p:
        rows = [v for v in rows if v.get("haenable") == p["haenable"]]
    if p.get("keypair"):
        rows = [v for v in rows if p["keypair"] in (v.get("keypairs") or "").split(",")]
    if p.get("securitygroupid"):
        rows = [v for v in rows if p["securitygroupid"] in v.get("_securitygroupids", ())]
    if p.get("networkid"):
        rows = [v for v in rows if any(n.get("networkid") == p["networkid"] for n in v.get("nic", []))]
    if p.get("affinitygroupid"):
        rows = [v for v in rows if p["affinitygroupid"] in v.get("_affinitygroupids", ())]
    if p.get("vpcid"):
        tiers = {n["id"] for n in ctx.find("network", where=lambda n: n.get("vpcid") == p["vpcid"])}
        rows = [v for v in rows if any(n.get("networkid") in tiers for n in v.get("nic", []))]
    if p.get("hostid"):
        rows = [v for v in rows if v.get("_hostid") == p["hostid"]]
    if p.get("userid"):
        rows = [v for v in rows if v.get("userid") == p["userid"]]
    for absent in ("isoid", "backupofferingid", "autoscalevmgroupid", "podid", "clusterid", "storageid"):
        # No simulated VM has an ISO attached, a backup offering or an autoscale group, and the simulator's
        # one pod, cluster and storage pool are not offered as filters: CloudStack finds nothing for these.
        if p.get(absent):
            rows = []
    if not ctx.caller.is_admin:
        rows = [v for v in rows if v.get("displayvm", True)]
    elif "displayvm" in p:
        rows = [v for v in rows if v.get("displayvm", True) == p["displayvm"]]
    rows = ctx.tags.filter(rows, "UserVm", p.get("tags"))
    return Listing([render_vm(ctx, v, userdata=bool(p.get("userdata"))) for v in rows])


# -- deployVirtualMachine ------------------------------------------------------------------------------------------
def _check_hostname(ctx: Ctx, name: str, owner: dict, exclude: str | None = None) -> None:
    if not _HOSTNAME.match(name):
        raise param_error(_HOSTNAME_ERROR)
    clash = ctx.scan("vm", account_id=owner["id"], where=lambda v: v["name"].lower() == name.lower()
                     and v["id"] != exclude and v["state"] not in _GONE)
    if clash:
        raise param_error(f"The vm with hostName {name} already exists in the network domain of account "
                          f"{owner['name']}")


def _instance_name(ctx: Ctx, owner: dict, number: int) -> str:
    ordinal = next((i for i, a in enumerate(ctx.find("account"), 1) if a["id"] == owner["id"]), 2)
    return f"i-{ordinal}-{number}-VM"


def _deploy(ctx: Ctx, p: dict) -> JobStarted:
    """deployVirtualMachine: the VM, its ROOT volume and NIC exist at once (create-style async, §8); the job
    places it on the zone's capacity and starts it, or fails with 533 leaving the VM in Error."""
    owner = owner_account(ctx, p)
    zone = usable_zone(ctx, p["zoneid"])
    offering = ctx.lookup("serviceoffering", p["serviceofferingid"], "serviceofferingid")
    template = usable_template(ctx, p["templateid"], zone, owner)
    disk_offering = None
    if p.get("diskofferingid"):
        disk_offering = ctx.lookup("diskoffering", p["diskofferingid"], "diskofferingid")
        if disk_offering.get("iscustomized") and not p.get("size"):
            raise param_error("This disk offering requires a custom size specified")
    accounts.check_limit(ctx, "vm", account=owner)
    accounts.check_limit(ctx, "volume", 2 if disk_offering else 1, account=owner)
    groups = security_groups_for(ctx, p, owner, zone)
    affinity = groups_for(ctx, p, owner)
    pairs = key_pairs_for(ctx, p, owner)
    userdata = checked_userdata(p.get("userdata"))
    vm_id = ctx.new_uuid()
    name = p.get("name") or f"VM-{vm_id}"
    _check_hostname(ctx, name, owner)
    number = ctx.next_counter("vm_number")
    start = p.get("startvm", True)
    user = ctx.caller.user if owner["id"] == ctx.caller.account_id else \
        (ctx.find("user", account_id=owner["id"]) or [ctx.caller.user])[0]
    vm = {
        "id": vm_id, "name": name, "displayname": p.get("displayname") or name,
        **owner_fields(ctx, owner), "userid": user["id"], "username": user.get("username"),
        "created": cs_date(ctx.now), "state": "Starting" if start else "Stopped",
        "haenable": bool(offering.get("offerha", False)), "zoneid": zone["id"], "zonename": zone.get("name"),
        "templateid": template["id"], "templatename": template.get("name"),
        "templatedisplaytext": template.get("displaytext", template.get("name")),
        "passwordenabled": bool(template.get("passwordenabled")),
        "serviceofferingid": offering["id"], "serviceofferingname": offering.get("name"),
        "cpunumber": int(offering.get("cpunumber", 1)), "cpuspeed": int(offering.get("cpuspeed", 1000)),
        "memory": int(offering.get("memory", 512)),
        "guestosid": template.get("ostypeid"), "ostypeid": template.get("ostypeid"),
        "osdisplayname": template.get("ostypename") or template.get("osdisplayname"),
        "rootdeviceid": 0, "rootdevicetype": "ROOT", "hypervisor": template.get("hypervisor") or "Simulator",
        "instancename": _instance_name(ctx, owner, number), "details": {}, "affinitygroup": [],
        "displayvm": p.get("displayvm", True), "isdynamicallyscalable": bool(p.get("dynamicscalingenabled")),
        "nic": _nics(ctx, zone, vm_id, p, owner), "_securitygroupids": groups,
        "_number": number, "_affinitygroupids": affinity,
    }
    vm["_ipaddress"] = vm["nic"][0]["ipaddress"]
    if start:
        vm["_on_fail"] = "Error"
    if p.get("group"):
        vm["group"], vm["groupid"] = p["group"], str(uuidlib.uuid5(_HOST_NS, f"{owner['id']}/{p['group']}"))
    if pairs:
        vm["keypairs"] = ",".join(pair["name"] for pair in pairs)
        vm["_keypair"] = pairs[0]["name"]
        vm["_publickey"] = pairs[0].get("_publickey") or pairs[0].get("publickey")
    if userdata:
        vm["_userdata"] = userdata
    if disk_offering:
        vm["diskofferingid"], vm["diskofferingname"] = disk_offering["id"], disk_offering.get("name")
    password = set_password(ctx, vm) if vm["passwordenabled"] else None
    ctx.insert("vm", {k: v for k, v in vm.items() if v is not None}, account_id=owner["id"])
    root_size = int(p["rootdisksize"]) * GB if p.get("rootdisksize") else int(template.get("size") or 8 * GB)
    volumes.new_volume(ctx, owner, zone, vtype="ROOT", size=root_size, state="Allocated", name=f"ROOT-{number}",
                       extra={"virtualmachineid": vm_id, "deviceid": 0, "templateid": template["id"],
                              "templatename": template.get("name"),
                              "templatedisplaytext": template.get("displaytext"),
                              "serviceofferingid": offering["id"], "serviceofferingname": offering.get("name"),
                              "serviceofferingdisplaytext": offering.get("displaytext"),
                              "attached": cs_date(ctx.now)})
    if disk_offering:
        size = int(p["size"]) * GB if disk_offering.get("iscustomized") else int(disk_offering.get("disksize", 0)) * GB
        volumes.new_volume(ctx, owner, zone, vtype="DATADISK", size=size, state="Allocated",
                           name=f"DATA-{number}",
                           extra={"virtualmachineid": vm_id, "deviceid": 1, "diskofferingid": disk_offering["id"],
                                  "diskofferingname": disk_offering.get("name"), "attached": cs_date(ctx.now)})
    return _vm_job(ctx, "deploy", vm, {"id": vm_id, "start": start, "password": password}, object_id=vm_id)


def _nics(ctx: Ctx, zone: dict, vm_id: str, p: dict, owner: dict) -> list[dict]:
    """An Advanced zone's VM gets NICs on the networks asked for (nics.py); a Basic zone's, its guest NIC."""
    if zone.get("networktype") == "Advanced":
        return network_nics(ctx, zone, vm_id, p, owner)
    if p.get("networkids") or p.get("iptonetworklist"):
        raise param_error("Can't specify network Ids in Basic zone")
    return [guest_nic(ctx, zone, vm_id, p.get("ipaddress"))]


def _vm_job(ctx: Ctx, action: str, vm: dict, args: dict, **kwargs: Any) -> JobStarted:
    """Queue a job on VM after any job already pending on it (CloudStack's per-VM work queue)."""
    duration = ctx.config.durations.get(action, ctx.config.job_seconds)
    pending = pending_job(ctx, vm["id"])
    if pending and pending[1] > ctx.now:
        duration += pending[1] - ctx.now
    return ctx.start_job(action, args, instance_type="VirtualMachine", instance_id=vm["id"], duration=duration,
                         **kwargs)


def _volumes_of(ctx: Ctx, vm_id: str) -> list[dict]:
    return ctx.find("volume", where=lambda v: v.get("virtualmachineid") == vm_id, contains=vm_id)


def _place(ctx: Ctx, vm: dict) -> None:
    """Check the zone's capacity (`_cpu_cores`, `_memory_mb`; missing = unlimited) against the VMs that hold it."""
    zone = ctx.get("zone", vm["zoneid"]) or {}
    cores, memory = zone.get("_cpu_cores"), zone.get("_memory_mb")
    if cores is not None or memory is not None:
        holders = ctx.scan("vm", where=lambda v: v.get("zoneid") == vm["zoneid"] and v["id"] != vm["id"]
                           and v["state"] in ("Running", "Stopping", "Migrating"))
        used_cpu = sum(v.get("cpunumber", 0) for v in holders) + vm["cpunumber"]
        used_mem = sum(v.get("memory", 0) for v in holders) + vm["memory"]
        if (cores is not None and used_cpu > cores) or (memory is not None and used_mem > memory):
            raise SimError(533, f"Unable to create a deployment for VM[User|{vm.get('instancename')}]", 4335)
    host, hostname = choose_host(ctx, vm)
    implement_networks(ctx, vm)
    vm.update(state="Running", _hostid=host, _hostname=hostname)
    vm.pop("_on_fail", None)
    for volume in _volumes_of(ctx, vm["id"]):
        if volume["state"] == "Allocated":
            volume["state"] = "Ready"
            ctx.save("volume", volume)


def _job_deploy(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None:
        raise SimError(530, f"Unable to find VM {args['id']}", 4250)
    if args["start"]:
        _place(ctx, vm)
    vm.pop("_on_fail", None)
    ctx.save("vm", vm)
    return _result(ctx, vm, password=args.get("password"), command="deployVirtualMachine")


# -- life cycle ----------------------------------------------------------------------------------------------------
def _vm(ctx: Ctx, p: dict) -> dict:
    return ctx.require("vm", p, "id")


def _start(ctx: Ctx, p: dict) -> JobStarted:
    vm = _vm(ctx, p)
    if vm["state"] == "Running":
        raise param_error(f"The virtual machine {vm['id']} ({vm['displayname']}) is already running")
    if vm["state"] not in ("Stopped", "Stopping", "Starting"):
        raise param_error(f"Unable to start VM {vm['id']} ({vm['displayname']}) in state {vm['state']}")
    if vm["state"] == "Stopped":
        vm.update(state="Starting", _on_fail="Stopped")
        ctx.save("vm", vm)
    return _vm_job(ctx, "vm_start", vm, {"id": vm["id"]})


def _job_start(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None or vm["state"] not in ("Stopped", "Starting", "Running"):
        raise param_error(f"Unable to start VM {args['id']}: it is {vm['state'] if vm else 'gone'}")
    if vm["state"] != "Running":
        _place(ctx, vm)
        ctx.save("vm", vm)
    return _result(ctx, vm, command="startVirtualMachine")


def _stop(ctx: Ctx, p: dict) -> JobStarted:
    vm = _vm(ctx, p)
    if vm["state"] in _GONE or vm["state"] == "Error":
        raise param_error(f"Unable to stop VM {vm['id']} ({vm['displayname']}) in state {vm['state']}")
    if vm["state"] == "Running":
        vm.update(state="Stopping", _on_fail="Running")
        ctx.save("vm", vm)
    return _vm_job(ctx, "vm_stop", vm, {"id": vm["id"], "forced": bool(p.get("forced"))})


def _stopped(ctx: Ctx, vm: dict) -> None:
    for key in ("_hostid", "_hostname", "_on_fail"):
        vm.pop(key, None)
    vm["state"] = "Stopped"


def _job_stop(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None or vm["state"] in _GONE:
        raise param_error(f"Unable to stop VM {args['id']}: it is {vm['state'] if vm else 'gone'}")
    # Stopping an already stopped VM succeeds and changes nothing.
    if vm["state"] != "Stopped":
        _stopped(ctx, vm)
        ctx.save("vm", vm)
    return _result(ctx, vm, command="stopVirtualMachine")


def _reboot(ctx: Ctx, p: dict) -> JobStarted:
    vm = _vm(ctx, p)
    if vm["state"] in _GONE:
        raise param_error(f"Unable to reboot VM {vm['id']} ({vm['displayname']}) in state {vm['state']}")
    return _vm_job(ctx, "vm_reboot", vm, {"id": vm["id"]})


def _job_reboot(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None or vm["state"] != "Running":
        # CloudStack quirk: rebooting a VM that is not running fails inside the job with a bare 530.
        raise SimError(530, "Failed to reboot vm instance", 4250)
    return _result(ctx, vm, command="rebootVirtualMachine")


def _destroy(ctx: Ctx, p: dict) -> JobStarted:
    vm = _vm(ctx, p)
    if p.get("expunge") and not ctx.caller.is_admin and not ctx.config_true("allow.user.expunge.recover.vm"):
        raise permission_denied("Parameter expunge can be passed by Admin only. Or when the "
                                "allow.user.expunge.recover.vm key is set.")
    doomed = []
    for volume_id in p.get("volumeids") or []:
        volume = ctx.get("volume", volume_id)
        if volume is None:
            raise invalid_value(ctx.command, "volumeids", volume_id)
        if volume.get("virtualmachineid") != vm["id"] or volume["type"] != "DATADISK":
            raise param_error(f"Please specify volumes that are data disks attached to VM {vm['id']}")
        doomed.append(volume_id)
    if vm["state"] in ("Running", "Starting"):
        vm.update(state="Stopping", _on_fail=vm["state"])
        ctx.save("vm", vm)
    return _vm_job(ctx, "vm_destroy", vm, {"id": vm["id"], "expunge": bool(p.get("expunge")),
                                           "volumeids": doomed})


def _job_destroy(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None:
        raise param_error(f"Unable to find VM {args['id']}")
    if vm["state"] not in _GONE:
        # Destroying an already destroyed VM returns it unchanged.
        _stopped(ctx, vm)
        vm["state"] = "Destroyed"
        # expunge.delay as it is set now (updateConfiguration checks it is an integer).
        delay = [c.get("value") for c in ctx.find("configuration", name="expunge.delay")]
        vm["_expunge_at"] = ctx.now + float(delay[0] if delay and delay[0] else ctx.config.expunge_seconds)
        ctx.save("vm", vm)
        try:
            from ec2soap.cloudstack.simulator.addresses import release_static_nat_for_vm
        except ImportError:
            release_static_nat_for_vm = None
        if release_static_nat_for_vm is not None:
            release_static_nat_for_vm(ctx, vm["id"])
        for volume in _volumes_of(ctx, vm["id"]):
            if volume["id"] in args.get("volumeids", ()):
                volumes.detach(ctx, volume)
                _drop_volume(ctx, volume)
            elif volume["type"] == "ROOT":
                volume["state"] = "Destroy"
                volume["destroyed"] = True
                ctx.save("volume", volume)
    if args.get("expunge"):
        # The response is rendered before the row goes, so the caller sees Expunging, not an empty object.
        vm["state"] = "Expunging"
        result = _result(ctx, vm, command="destroyVirtualMachine")
        _expunge(ctx, vm)
        return result
    return _result(ctx, vm, command="destroyVirtualMachine")


def _drop_volume(ctx: Ctx, volume: dict) -> None:
    ctx.tags.drop("Volume", volume["id"])
    volume["state"] = "Expunged"
    ctx.save("volume", volume)
    ctx.remove("volume", volume["id"])


def _expunge(ctx: Ctx, vm: dict) -> None:
    """Remove the VM: its ROOT volume goes, data disks are detached and kept, tags are deleted."""
    for volume in _volumes_of(ctx, vm["id"]):
        if volume["type"] == "ROOT":
            _drop_volume(ctx, volume)
        else:
            volumes.detach(ctx, volume)
    ctx.tags.drop("UserVm", vm["id"])
    forget_secondary_ips(ctx, vm)
    vm["state"] = "Expunging"
    vm.pop("_expunge_at", None)
    vm.pop("_remove_at", None)
    ctx.save("vm", vm)
    ctx.remove("vm", vm["id"])


def _expunge_cmd(ctx: Ctx, p: dict) -> JobStarted:
    vm = ctx.get("vm", p["id"], removed=True)
    if vm is None:
        raise invalid_value(ctx.command, "id", p["id"])
    return _vm_job(ctx, "vm_expunge", vm, {"id": vm["id"]})


def _job_expunge(ctx: Ctx, args: dict) -> Any:
    vm = ctx.get("vm", args["id"], removed=True)
    if vm is None or ctx.get("vm", args["id"]) is None:
        return SUCCESS  # already expunged
    if vm["state"] not in ("Destroyed", "Expunging", "Error"):
        # CloudStack quirk: this check runs inside the job, so it is a failed job (530), not a 431.
        raise SimError(530, "Please destroy vm with specified vmId before expunge", 4250)
    _expunge(ctx, vm)
    return SUCCESS


# -- update, passwords ---------------------------------------------------------------------------------------------
def _update(ctx: Ctx, p: dict) -> dict:
    vm = _vm(ctx, p)
    owner = ctx.get("account", vm["accountid"]) or ctx.caller.account
    if vm["state"] in _GONE:
        raise param_error(f"Vm with id {vm['id']} is not in the right state")
    if p.get("name") and p["name"] != vm["name"]:
        _check_hostname(ctx, p["name"], owner, exclude=vm["id"])
        vm["name"] = p["name"]
    for key in ("displayname", "haenable", "displayvm", "isdynamicallyscalable"):
        if key in p:
            vm[key] = p[key]
    if "group" in p:
        vm["group"], vm["groupid"] = p["group"], str(uuidlib.uuid5(_HOST_NS, f"{owner['id']}/{p['group']}"))
    if p.get("details"):
        vm["details"] = {**({} if p.get("cleanupdetails") else vm.get("details", {})), **p["details"][0]}
    elif p.get("cleanupdetails"):
        vm["details"] = {}
    if "userdata" in p:
        vm["_userdata"] = checked_userdata(p["userdata"])
    if p.get("securitygroupids") or p.get("securitygroupnames"):
        if vm["state"] != "Stopped":
            raise param_error("Virtual machine must be stopped prior to update security groups ")
        zone = ctx.get("zone", vm["zoneid"]) or {}
        vm["_securitygroupids"] = security_groups_for(ctx, p, owner, zone)
    ctx.save("vm", vm)
    return render_vm(ctx, vm, command="updateVirtualMachine")


def _change_service(ctx: Ctx, p: dict) -> dict:
    """changeServiceForVirtualMachine (UpgradeVMCmd, synchronous): a stopped VM takes another compute offering;
    its ROOT volume records the new offering too."""
    vm = _vm(ctx, p)
    offering = ctx.lookup("serviceoffering", p["serviceofferingid"], "serviceofferingid")
    if offering.get("issystem"):
        raise invalid_value(ctx.command, "serviceofferingid", p["serviceofferingid"])
    # VMInstanceVO.toString() in the messages: VM instance {"instanceName":…,"type":"User","uuid":…}.
    shown = f'VM instance {{"instanceName":"{vm.get("instancename")}","type":"User","uuid":"{vm["id"]}"}}'
    if vm["state"] != "Stopped":
        raise param_error(f"Unable to upgrade virtual machine {shown}  in state {vm['state']}; make sure the "
                          "virtual machine is stopped")
    if offering["id"] == vm.get("serviceofferingid"):
        raise param_error(f"Not upgrading vm {shown} since it already has the requested service offering "
                          f"({offering.get('name')})")
    vm.update(serviceofferingid=offering["id"], serviceofferingname=offering.get("name"),
              cpunumber=int(offering.get("cpunumber", 1)), cpuspeed=int(offering.get("cpuspeed", 1000)),
              memory=int(offering.get("memory", 512)))
    ctx.save("vm", vm)
    for volume in _volumes_of(ctx, vm["id"]):
        if volume["type"] == "ROOT":
            volume.update(serviceofferingid=offering["id"], serviceofferingname=offering.get("name"),
                          serviceofferingdisplaytext=offering.get("displaytext"))
            ctx.save("volume", volume)
    return render_vm(ctx, vm, command="changeServiceForVirtualMachine")


def _reset_password(ctx: Ctx, p: dict) -> JobStarted:
    vm = _vm(ctx, p)
    if not vm.get("passwordenabled"):
        raise param_error("Fail to reset password for the virtual machine, the template is not password enabled")
    if vm["state"] != "Stopped":
        raise param_error(f"Vm {vm['name']} should be stopped to do password reset")
    return _vm_job(ctx, "vm_reset_password", vm, {"id": vm["id"]})


def _job_reset_password(ctx: Ctx, args: dict) -> dict:
    vm = ctx.get("vm", args["id"])
    if vm is None or vm["state"] != "Stopped":
        raise param_error(f"Vm {args['id']} should be stopped to do password reset")
    password = set_password(ctx, vm)
    ctx.save("vm", vm)
    return _result(ctx, vm, password=password, command="resetPasswordForVirtualMachine")


def _get_password(ctx: Ctx, p: dict) -> dict:
    vm = _vm(ctx, p)
    if not vm.get("_encryptedpassword"):
        raise param_error(f"No password found for VM with id [{vm['id']}]")
    return {"encryptedpassword": vm["_encryptedpassword"]}


# -- time ----------------------------------------------------------------------------------------------------------
def advance(ctx: Ctx) -> float | None:
    """Time-driven changes: a VM whose job failed leaves its transitional state; destroyed VMs past
    expunge_seconds turn Expunging, and one job period later their rows (and ROOT volumes) are removed.
    Returns when the next such change is due (None: nothing waits on time alone)."""
    changing = []
    upcoming: list[float] = []
    for vm in ctx.find("vm", where=lambda v: v["state"] in ("Starting", "Stopping", "Destroyed", "Expunging")):
        if vm["state"] in ("Starting", "Stopping"):  # its job's failure is a timer of its own (_finish_job)
            if vm.get("_on_fail") and pending_job(ctx, vm["id"]) is None:
                changing.append(vm)
        else:
            due = vm.get("_expunge_at" if vm["state"] == "Destroyed" else "_remove_at", float("inf"))
            if due <= ctx.now:
                changing.append(vm)
            elif due != float("inf"):
                upcoming.append(due)
    if not changing:
        return min(upcoming, default=None)
    ctx.lock()
    for vm in changing:
        if vm["state"] in ("Starting", "Stopping"):
            vm["state"] = vm.pop("_on_fail")
            ctx.save("vm", vm)
        elif vm["state"] == "Destroyed":
            vm["state"] = "Expunging"
            vm["_remove_at"] = ctx.now + ctx.config.job_seconds
            ctx.save("vm", vm)
        else:
            _expunge(ctx, vm)
    return ctx.now  # what just changed may start new timers: look again on the next request


# When a saved VM's own time-driven change is due (timers.py): expunging a Destroyed one, removing an Expunging one.
TIMERS = {"vm": lambda vm: vm.get({"Destroyed": "_expunge_at", "Expunging": "_remove_at"}.get(vm.get("state"), ""))}
COMMANDS = {
    "listVirtualMachines": _list_vms,
    "deployVirtualMachine": _deploy,
    "startVirtualMachine": _start,
    "stopVirtualMachine": _stop,
    "rebootVirtualMachine": _reboot,
    "destroyVirtualMachine": _destroy,
    "expungeVirtualMachine": _expunge_cmd,
    "updateVirtualMachine": _update,
    "changeServiceForVirtualMachine": _change_service,
    "resetPasswordForVirtualMachine": _reset_password,
    "getVMPassword": _get_password,
}
JOB_ACTIONS = {
    "deploy": _job_deploy,
    "vm_start": _job_start,
    "vm_stop": _job_stop,
    "vm_reboot": _job_reboot,
    "vm_destroy": _job_destroy,
    "vm_expunge": _job_expunge,
    "vm_reset_password": _job_reset_password,
}
ADMIN_ONLY = {"expungeVirtualMachine"}
