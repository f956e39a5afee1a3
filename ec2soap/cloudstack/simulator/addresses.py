"""Simulator: public IP addresses and static NAT (IpAddressManagerImpl / RulesManagerImpl behaviour).

Each zone has one public range, 203.0.113.10-250 (TEST-NET-3). An allocated address is an "ipaddress" doc;
releasing it removes the doc, and the address goes back to the range.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, Listing, SimError, cs_date, invalid_value,
                                                 keyword_filter, param_error, permission_denied)
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields

__all__ = ["COMMANDS", "JOB_ACTIONS", "PUBLIC_RANGE", "render_ip", "release_static_nat_for_vm",
           "allocate_address"]

PUBLIC_RANGE = (ipaddress.IPv4Address("203.0.113.10"), ipaddress.IPv4Address("203.0.113.250"))
_FIELDS = tuple(spec.commands()["listPublicIpAddresses"]["response"])
_UNUSABLE_VM_STATES = ("Destroyed", "Expunging", "Expunged", "Error")


def render_ip(ctx: Ctx, doc: dict) -> dict:
    """IPAddressResponse: the stored fields CloudStack documents, plus tags."""
    out = {k: doc[k] for k in _FIELDS if k in doc and not k.startswith("_")}
    out["tags"] = ctx.tags.of("PublicIpAddress", doc["id"])
    return out


def _java_ip(doc: dict) -> str:
    # CloudStack quirk: messages print IPAddressVO.toString(), "Ip[<address>-<zone's internal id>]".
    return f"Ip[{doc['ipaddress']}-1]"


def _in_use(ctx: Ctx, zone_id: str) -> set[str]:
    return {d["ipaddress"] for d in ctx.find("ipaddress", where=lambda d: d["zoneid"] == zone_id)}


def _range_of(ctx: Ctx, zone_id: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The zone's own public range (`_publicrange`, the advanced zone's), else PUBLIC_RANGE."""
    custom = (ctx.get("zone", zone_id) or {}).get("_publicrange")
    if custom:
        return ipaddress.IPv4Address(custom[0]), ipaddress.IPv4Address(custom[1])
    return PUBLIC_RANGE


def _pick_address(ctx: Ctx, zone_id: str, wanted: str | None) -> str:
    used = _in_use(ctx, zone_id)
    low, high = _range_of(ctx, zone_id)
    if wanted:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise param_error(f"Invalid IP address {wanted}") from None
        if not low <= address <= high or wanted in used:
            raise SimError(533, f"Insufficient address capacity: the ip address {wanted} is not available "
                                f"in zone {zone_id}", 4320)
        return wanted
    for value in range(int(low), int(high) + 1):
        candidate = str(ipaddress.IPv4Address(value))
        if candidate not in used:
            return candidate
    raise SimError(533, f"Insufficient address capacity: no free public ip address left in zone {zone_id}", 4320)


def _network_for(ctx: Ctx, owner: dict, zone_id: str) -> dict | None:
    """The owner's guest network in the zone (or a shared one) that a new address is associated with."""
    networks = ctx.find("network", where=lambda n: n.get("zoneid") == zone_id)
    own = [n for n in networks if n.get("accountid") == owner["id"]]
    shared = [n for n in networks if not n.get("accountid")]
    return (own or shared or [None])[0]


def _new_address(ctx: Ctx, owner: dict, zone: dict, wanted: str | None, p: dict) -> dict:
    return {"ipaddress": _pick_address(ctx, zone["id"], wanted), "allocated": cs_date(ctx.now),
            "zoneid": zone["id"], "zonename": zone.get("name", ""), "issourcenat": False,
            **owner_fields(ctx, owner), "forvirtualnetwork": True, "isstaticnat": False, "issystem": False,
            "state": "Allocating", "isportable": bool(p.get("isportable", False)),
            "fordisplay": p.get("fordisplay", True), "vlanname": "vlan://untagged"}


def _tie_to_vpc(doc: dict, vpc: dict) -> None:
    doc["vpcid"], doc["vpcname"] = vpc["id"], vpc["name"]


def allocate_address(ctx: Ctx, owner: dict, zone_id: str, *, vpc: dict | None = None,
                     sourcenat: bool = False) -> dict:
    """An Allocated address of the zone for OWNER, in VPC (its source NAT address when SOURCENAT), as the VPC
    router's deployment assigns it (counted against the owner's public_ip limit)."""
    zone = ctx.get("zone", zone_id) or {"id": zone_id}
    accounts.check_limit(ctx, "ip", account=owner)
    doc = _new_address(ctx, owner, zone, None, {})
    doc.update(state="Allocated", issourcenat=sourcenat)
    if vpc is not None:
        _tie_to_vpc(doc, vpc)
    return ctx.insert("ipaddress", doc, account_id=owner["id"])


def _may_operate(ctx: Ctx, doc: dict, what: str) -> None:
    if not ctx.caller.is_admin and doc.get("accountid") != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account.get('name')} does not have permission to operate "
                                f"with resource {what}")


def _clear_nat(doc: dict) -> None:
    doc["isstaticnat"] = False
    for key in ("virtualmachineid", "virtualmachinename", "virtualmachinedisplayname", "vmipaddress"):
        doc.pop(key, None)


def release_static_nat_for_vm(ctx: Ctx, vm_id: str) -> None:
    """Disable static NAT on every address mapped to VM_ID (the VM family calls this when a VM goes away)."""
    for doc in ctx.find("ipaddress", where=lambda d: d.get("virtualmachineid") == vm_id):
        _clear_nat(doc)
        ctx.save("ipaddress", doc)


# -- commands ---------------------------------------------------------------------------------------------------

def _list_public_ip_addresses(ctx: Ctx, p: dict) -> Listing:
    """listPublicIpAddresses: the scope's allocated addresses, by the documented filters.

    Free addresses of the range are not listed even with allocatedonly=false (they have no owner to show)."""
    ctx.known(p, physicalnetworkid=None, vlanid=None)
    ips = ctx.find("ipaddress", account_id=ctx.scope_accounts(p))
    for name in ("id", "ipaddress", "associatednetworkid", "zoneid", "state", "vpcid"):
        if p.get(name):
            ips = [d for d in ips if str(d.get(name, "")).lower() == str(p[name]).lower()]
    if p.get("networkid"):
        ips = [d for d in ips if p["networkid"] in (d.get("networkid"), d.get("associatednetworkid"))]
    for name in ("isstaticnat", "issourcenat", "forvirtualnetwork", "fordisplay"):
        if name in p:
            ips = [d for d in ips if bool(d.get(name)) == p[name]]
    ips = keyword_filter(ips, p.get("keyword"), "ipaddress")
    ips = ctx.tags.filter(ips, "PublicIpAddress", p.get("tags"))
    return Listing([render_ip(ctx, d) for d in ips])


def _associate_ip_address(ctx: Ctx, p: dict) -> Any:
    """associateIpAddress: create-style — the address exists (Allocating) before the job makes it Allocated."""
    network = vpc = None
    if p.get("vpcid"):
        # With vpcid the address belongs to the VPC, not to a tier: networkid is ignored (AssociateIPAddrCmd).
        vpc = ctx.get("vpc", p["vpcid"])
        if vpc is None:
            raise invalid_value(ctx.command, "vpcid", p["vpcid"])
    elif p.get("networkid"):
        network = ctx.get("network", p["networkid"])
        if network is None:
            raise invalid_value(ctx.command, "networkid", p["networkid"])
    zone_id = p.get("zoneid") or (vpc or network or {}).get("zoneid")
    if not zone_id:
        raise param_error("Unable to figure out zone to assign IP to. Please specify either zoneId, or networkId, "
                          "or vpcId in the call")
    zone = ctx.get("zone", zone_id)
    if zone is None:
        raise invalid_value(ctx.command, "zoneid", zone_id)
    owner = owner_account(ctx, p)
    for used in (network, vpc):
        if used is not None and used.get("accountid") not in (None, "", owner["id"]):
            raise permission_denied(f"Account {owner['name']} does not have permission to operate with "
                                    f"resource {used['id']}")
    if vpc is not None and zone_id != vpc["zoneid"]:
        raise param_error(f"Can't assign ip to the vpc {vpc['id']} in zone {zone_id}: it is in zone "
                          f"{vpc['zoneid']}")
    accounts.check_limit(ctx, "ip", account=owner)
    if vpc is None and network is None:
        network = _network_for(ctx, owner, zone_id)
        if zone.get("networktype") == "Advanced":
            # AssociateIPAddrCmd.getNetworkId: the owner's one Isolated network of the zone (tiers count).
            isolated = [n for n in ctx.find("network", account_id=owner["id"], where=lambda n: n.get(
                "zoneid") == zone_id and n.get("type") == "Isolated")]
            if not isolated:
                # CloudStack quirk: the message names the `account` parameter, "null" when it was not given.
                raise param_error(f"Account name={p.get('account') or 'null'} domain=ROOT doesn't have virtual "
                                  f"networks in zone={zone.get('name')}")
            if len(isolated) > 1:
                raise param_error("Account has more than one isolated network in the zone")
            network = isolated[0]
    doc: dict[str, Any] = _new_address(ctx, owner, zone, p.get("ipaddress"), p)
    if vpc is not None:
        _tie_to_vpc(doc, vpc)
        if not ctx.find("ipaddress", where=lambda d: d.get("vpcid") == vpc["id"] and d.get("issourcenat")):
            doc["issourcenat"] = True  # VpcManagerImpl.associateIPToVpc: the VPC's first address
    if network is not None:
        doc["associatednetworkid"] = network["id"]
        if network.get("name"):
            doc["associatednetworkname"] = network["name"]
        if network.get("vpcid"):
            doc["vpcid"], doc["vpcname"] = network["vpcid"], network.get("vpcname", "")
    doc = ctx.insert("ipaddress", doc, account_id=owner["id"])
    return ctx.start_job("ipaddress_associate", {"id": doc["id"]}, instance_type="IpAddress",
                         instance_id=doc["id"], object_id=doc["id"])


def _disassociate_ip_address(ctx: Ctx, p: dict) -> Any:
    if ctx.get("ipaddress", p["id"], removed=True) is None:
        raise invalid_value(ctx.command, "id", p["id"])
    return ctx.start_job("ipaddress_release", {"id": p["id"]}, instance_type="IpAddress", instance_id=p["id"])


def _enable_static_nat(ctx: Ctx, p: dict) -> Any:
    """enableStaticNat (sync): map an Allocated address one-to-one onto a VM of the same account."""
    ip_id, vm_id = p["ipaddressid"], p["virtualmachineid"]
    ip = ctx.get("ipaddress", ip_id)
    if ip is None:
        raise invalid_value(ctx.command, "ipaddressid", ip_id)
    _may_operate(ctx, ip, ip_id)
    if ip.get("state") != "Allocated":
        raise param_error(f"Unable to enable static nat for the ip address id={ip_id} as it is not in "
                          f"Allocated state")
    vm = ctx.get("vm", vm_id)
    if vm is None and ctx.get("vm", vm_id, removed=True) is None:
        raise invalid_value(ctx.command, "virtualmachineid", vm_id)
    if vm is None or vm.get("state") in _UNUSABLE_VM_STATES:
        raise param_error(f"Can't enable static nat for the address id={ip_id}, invalid virtual machine id "
                          f"specified ({vm_id}).")
    _may_operate(ctx, vm, vm_id)
    if vm.get("accountid") != ip.get("accountid"):
        raise permission_denied(f"Unable to enable static nat: ip address {ip_id} and virtual machine {vm_id} "
                                f"belong to different accounts")
    if ip.get("issourcenat"):
        raise param_error(f"Can't enable static, ip address {_java_ip(ip)} is a sourceNat ip address")
    if ip.get("isstaticnat") and ip.get("virtualmachineid") not in (None, vm_id):
        raise SimError(537, f"Failed to enable static for the ip address {_java_ip(ip)} and vm id={vm_id} as "
                            f"it's already assigned to antoher vm", 4360)
    guest_ip = _nat_guest_ip(ctx, p, ip, vm)
    old = ctx.find("ipaddress", where=lambda d: d.get("virtualmachineid") == vm_id and d["id"] != ip_id
                   and d.get("vmipaddress") == guest_ip)
    if old:
        raise param_error(f"Failed to enable static nat for the ip address id={ip_id} as vm id={vm_id} is "
                          f"already associated with ip id={old[0]['id']}")
    ip["isstaticnat"] = True
    ip["virtualmachineid"] = vm["id"]
    ip["virtualmachinename"] = vm.get("name", "")
    ip["virtualmachinedisplayname"] = vm.get("displayname") or vm.get("name", "")
    if guest_ip:
        ip["vmipaddress"] = guest_ip
    ctx.save("ipaddress", ip)
    return SUCCESS


def _nat_guest_ip(ctx: Ctx, p: dict, ip: dict, vm: dict) -> str | None:
    """The VM address the public one maps to (RulesManagerImpl.enableStaticNat): in a VPC the tier comes from
    `networkid` until the address is tied to one; `vmguestip` picks a secondary address of that NIC."""
    network_id = ip.get("associatednetworkid")
    if p.get("networkid"):
        network = ctx.get("network", p["networkid"])
        if network is None:
            raise invalid_value(ctx.command, "networkid", p["networkid"])
        if ip.get("vpcid") and network.get("vpcid") != ip["vpcid"]:
            raise param_error(f"Network {network['id']} doesn't belong to the vpc of ip address {ip['id']}")
        if not ip.get("vpcid") and network_id and network_id != network["id"]:
            raise param_error(f"Ip address {_java_ip(ip)} is associated with network {network_id}, not with "
                              f"{network['id']}")
        network_id = network["id"]
    elif ip.get("vpcid") and not network_id:
        raise param_error("Network id is required when the ip address of the VPC is not associated with any "
                          "tier yet")
    nics = vm.get("nic", [])
    nic = next((n for n in nics if n.get("networkid") == network_id), None) if network_id else None
    if network_id and nic is None and ctx.get("network", network_id) and \
            (ctx.get("network", network_id) or {}).get("type") != "Shared":
        raise param_error(f"Virtual machine {vm['id']} is not in network {network_id}")
    nic = nic or (nics[0] if nics else {})
    if p.get("vmguestip") and p["vmguestip"] != nic.get("ipaddress"):
        if p["vmguestip"] not in [s.get("ipaddress") for s in nic.get("secondaryip", [])]:
            raise param_error(f"Invalid vm ip {p['vmguestip']}: it is not an address of vm {vm['id']} in "
                              f"network {network_id}")
        guest = p["vmguestip"]
    else:
        guest = nic.get("ipaddress") or vm.get("_ipaddress")
    if network_id and ip.get("vpcid"):
        network = ctx.get("network", network_id) or {}
        ip["associatednetworkid"] = network_id
        if network.get("name"):
            ip["associatednetworkname"] = network["name"]
    return guest


def _disable_static_nat(ctx: Ctx, p: dict) -> Any:
    ip = ctx.get("ipaddress", p["ipaddressid"])
    if ip is None:
        raise invalid_value(ctx.command, "ipaddressid", p["ipaddressid"])
    if not ip.get("isstaticnat"):
        raise param_error("Specified IP address id is not associated with any vm Id")
    return ctx.start_job("ipaddress_disable_nat", {"id": ip["id"]}, instance_type="VirtualMachine",
                         instance_id=ip.get("virtualmachineid"))


# -- jobs -------------------------------------------------------------------------------------------------------

def _job_associate(ctx: Ctx, args: dict) -> dict:
    doc = ctx.get("ipaddress", args["id"])
    if doc is None:
        raise param_error(f"Unable to find ip address by id={args['id']}")
    doc["state"] = "Allocated"
    ctx.save("ipaddress", doc)
    return {"ipaddress": render_ip(ctx, doc)}


def _job_release(ctx: Ctx, args: dict) -> Any:
    doc = ctx.get("ipaddress", args["id"])
    if doc is None:
        # CloudStack quirk: releasing an address that is no longer allocated succeeds and does nothing.
        return SUCCESS
    _may_operate(ctx, doc, doc["id"])
    if doc.get("issourcenat"):
        raise param_error(f"Can't release source nat ip address {_java_ip(doc)}")
    _clear_nat(doc)
    doc["state"] = "Releasing"
    ctx.save("ipaddress", doc)
    ctx.tags.drop("PublicIpAddress", doc["id"])
    ctx.remove("ipaddress", doc["id"])
    return SUCCESS


def _job_disable_nat(ctx: Ctx, args: dict) -> Any:
    doc = ctx.get("ipaddress", args["id"])
    if doc is None:
        raise param_error(f"Unable to find ip address by id={args['id']}")
    _may_operate(ctx, doc, doc["id"])
    if not doc.get("isstaticnat"):
        raise param_error(f"One to one nat is not enabled for the ip id={doc['id']}")
    _clear_nat(doc)
    ctx.save("ipaddress", doc)
    return SUCCESS


COMMANDS = {
    "listPublicIpAddresses": _list_public_ip_addresses,
    "associateIpAddress": _associate_ip_address,
    "disassociateIpAddress": _disassociate_ip_address,
    "enableStaticNat": _enable_static_nat,
    "disableStaticNat": _disable_static_nat,
}
JOB_ACTIONS = {
    "ipaddress_associate": _job_associate,
    "ipaddress_release": _job_release,
    "ipaddress_disable_nat": _job_disable_nat,
}
