"""Simulator: NICs on advanced-zone networks (UserVmManagerImpl, NetworkServiceImpl.allocateSecondaryGuestIP and
IpAddressManagerImpl.acquireGuestIpAddress behaviour): the NICs a deploy gets from `networkids`, `ipaddress`
and `iptonetworklist`, implementing a network when its first VM lands, listNics and secondary addresses.

A NIC lives in its VM doc's `nic` list (as listVirtualMachines shows it); a secondary address is an item of
the NIC's `secondaryip` list and a "nicsecondaryip" doc (so its uuid can be looked up).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.accounts import owner_fields
from ec2soap.cloudstack.simulator.addresses import allocate_address
from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, JobStarted, Listing, cs_date, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.vpcs import ISOLATED_OFFERING

__all__ = ["COMMANDS", "JOB_ACTIONS", "TAG_RESOLVERS", "network_nics", "implement_networks", "taken_in",
           "forget_secondary_ips", "MAX_SECONDARY"]

MAX_SECONDARY = 10  # vm.network.nic.max.secondary.ipaddresses


def taken_in(ctx: Ctx, network_id: str) -> set[str]:
    """Every guest address in use on the network: NICs' primary and secondary addresses."""
    used: set[str] = set()
    for vm in ctx.find("vm"):
        for nic in vm.get("nic", []):
            if nic.get("networkid") == network_id:
                used.add(nic.get("ipaddress", ""))
                used |= {s.get("ipaddress", "") for s in nic.get("secondaryip", [])}
    return used


def _range(net: dict) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Address, ipaddress.IPv4Address]:
    cidr = ipaddress.IPv4Network(net["cidr"])
    first, last = net.get("_iprange") or (str(cidr.network_address + 1), str(cidr.broadcast_address - 1))
    return cidr, ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)


def _guest_ip(ctx: Ctx, net: dict, wanted: str | None, extra_taken: set[str] = frozenset()) -> str:
    """acquireGuestIpAddress: the requested address if it is in the network and free, else the first free."""
    cidr, first, last = _range(net)
    taken = taken_in(ctx, net["id"]) | set(extra_taken) | {net.get("gateway")}
    if wanted:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise param_error(f"Invalid format for IPv4 address: {wanted}") from None
        if address not in cidr or address in (cidr.network_address, cidr.broadcast_address):
            raise param_error(f"Requested ip address {wanted} doesn't belong to the network {net['name']} cidr "
                              f"{net['cidr']}")
        if wanted in taken or not first <= address <= last:
            raise SimError(533, f"The requested IP address {wanted} is not available in network "
                                f"{net['name']}", 4320)
        return wanted
    for value in range(int(first), int(last) + 1):
        candidate = str(ipaddress.IPv4Address(value))
        if candidate not in taken:
            return candidate
    raise SimError(533, f"Insufficient address capacity in network {net['name']}", 4320)


def _usable_network(ctx: Ctx, net_id: str, param: str, owner: dict, zone: dict) -> dict:
    net = ctx.get("network", net_id)
    if net is None:
        raise invalid_value(ctx.command, param, net_id)
    if net.get("acltype") != "Domain" and net.get("accountid") != owner["id"]:
        raise permission_denied(f"Account {owner['name']} does not have permission to operate with resource "
                                f"{net_id}")
    if net.get("zoneid") != zone["id"]:
        raise param_error(f"Network id={net_id} doesn't belong to zone {zone['id']}")
    return net


def _default_network(ctx: Ctx, owner: dict, zone: dict) -> dict:
    """UserVmManagerImpl without networkids in an Advanced zone: the owner's one Isolated network, made from
    the Required isolated offering when it has none."""
    own = ctx.find("network", account_id=owner["id"], where=lambda n: n.get("zoneid") == zone["id"]
                   and n.get("type") == "Isolated")
    if len(own) > 1:
        raise param_error(f"More than 1 default Isolated networks are found for account {owner['name']}; "
                          f"please specify networkIds")
    if own:
        return own[0]
    offering = ctx.find("networkoffering", name=ISOLATED_OFFERING)
    if not offering:
        raise param_error("Unable to find network offering with availability=Required to automatically create "
                          "the network as a part of vm creation")
    from_zone = ipaddress.IPv4Network(zone.get("guestcidraddress") or "10.1.1.0/24")
    accounts.check_limit(ctx, "network", account=owner)
    net_id = ctx.new_uuid()
    offer = offering[0]
    net = {"id": net_id, "name": f"{owner['name']}-network", "displaytext": f"{owner['name']}-network",
           "broadcastdomaintype": "Vlan", "traffictype": "Guest", "gateway": str(from_zone.network_address + 1),
           "netmask": str(from_zone.netmask), "cidr": str(from_zone), "zoneid": zone["id"],
           "zonename": zone["name"], "networkofferingid": offer["id"], "networkofferingname": offer["name"],
           "networkofferingdisplaytext": offer["displaytext"], "networkofferingconservemode": True,
           "networkofferingavailability": offer.get("availability"), "issystem": False, "state": "Allocated",
           "related": net_id, "dns1": zone.get("dns1"), "dns2": zone.get("dns2"), "type": "Isolated",
           "acltype": "Account", **owner_fields(ctx, owner), "isdefault": False, "canusefordeploy": True,
           "ispersistent": False, "specifyipranges": False, "restartrequired": False, "displaynetwork": True,
           "redundantrouter": False, "strechedl2subnet": False, "egressdefaultpolicy": False,
           "internetprotocol": "IPv4", "created": cs_date(ctx.now), "service": offer.get("service", []),
           "hasannotations": False, "details": {}, "networkdomain": "cloud.internal",
           "_dbid": ctx.next_counter("network_dbid", start=200)}
    return ctx.insert("network", {k: v for k, v in net.items() if v is not None}, account_id=owner["id"])


def network_nics(ctx: Ctx, zone: dict, vm_id: str, p: dict, owner: dict) -> list[dict]:
    """The NICs of a VM deployed into an Advanced zone: one per network of `networkids` (the first is the
    default and takes `ipaddress`) or of `iptonetworklist` (each with its own `ip`)."""
    pairs: list[tuple[str, str | None, str]] = []
    if p.get("iptonetworklist"):
        if p.get("networkids") or p.get("ipaddress"):
            raise param_error("ipToNetworkMap can't be specified along with networkIds or ipAddress")
        for entry in p["iptonetworklist"]:
            if not entry.get("networkid"):
                raise param_error("Unable to find network by id null")
            pairs.append((entry["networkid"], entry.get("ip") or None, "iptonetworklist"))
    elif p.get("networkids"):
        pairs = [(nid, p.get("ipaddress") if i == 0 else None, "networkids")
                 for i, nid in enumerate(p["networkids"])]
    else:
        pairs = [(_default_network(ctx, owner, zone)["id"], p.get("ipaddress"), "networkids")]
    if len({nid for nid, _, _ in pairs}) != len(pairs):
        raise param_error("Network id is specified more than once: a vm can have only one nic per network")
    nets = [_usable_network(ctx, nid, param, owner, zone) for nid, _, param in pairs]
    vpcs = {n.get("vpcid") for n in nets if n.get("vpcid")}
    if len(vpcs) > 1:
        raise param_error("Vm can belong to tiers of one VPC only")
    nics = []
    for index, (net, (_, wanted, _)) in enumerate(zip(nets, pairs)):
        mac = ctx.next_counter("macaddress")
        vlan = f"vlan://{net.get('_dbid', 200) + 1000}"
        nic = {"id": ctx.new_uuid(), "networkid": net["id"], "networkname": net["name"],
               "netmask": net["netmask"], "gateway": net["gateway"], "ipaddress": _guest_ip(ctx, net, wanted),
               "traffictype": "Guest", "type": net.get("type", "Isolated"), "isdefault": index == 0,
               "macaddress": "02:00:" + ":".join(f"{(mac >> s) & 0xff:02x}" for s in (24, 16, 8, 0)),
               "deviceid": str(index), "virtualmachineid": vm_id, "secondaryip": [], "extradhcpoption": [],
               "broadcasturi": vlan, "isolationuri": vlan}
        if net.get("vpcid"):
            nic.update(vpcid=net["vpcid"], vpcname=net.get("vpcname", ""))
        nics.append(nic)
    return nics


def implement_networks(ctx: Ctx, vm: dict) -> None:
    """A VM landing implements its Allocated networks: the isolated network (or the VPC) gets its source NAT
    address if it has none (NetworkOrchestrator.implementNetwork)."""
    for nic in vm.get("nic", []):
        net = ctx.get("network", nic.get("networkid"))
        if net is None or net.get("state") != "Allocated":
            continue
        owner = ctx.get("account", net.get("accountid")) or ctx.caller.account
        if net.get("vpcid"):
            vpc = ctx.get("vpc", net["vpcid"])
            if vpc and not ctx.find("ipaddress", where=lambda d: d.get("vpcid") == vpc["id"]
                                    and d.get("issourcenat")):
                allocate_address(ctx, owner, vpc["zoneid"], vpc=vpc, sourcenat=True)
        elif not ctx.find("ipaddress", where=lambda d: d.get("associatednetworkid") == net["id"]
                          and d.get("issourcenat")):
            ip = allocate_address(ctx, owner, net["zoneid"], sourcenat=True)
            ip.update(associatednetworkid=net["id"], associatednetworkname=net["name"])
            ctx.save("ipaddress", ip)
        net["state"] = "Implemented"
        ctx.save("network", net)


def forget_secondary_ips(ctx: Ctx, vm: dict) -> None:
    """An expunged VM's secondary addresses go with its NICs."""
    for nic in vm.get("nic", []):
        for secondary in nic.get("secondaryip", []):
            if ctx.get("nicsecondaryip", secondary.get("id")) is not None:
                ctx.remove("nicsecondaryip", secondary["id"])


# -- commands ------------------------------------------------------------------------------------------------------
def _render_nic(nic: dict) -> dict:
    return public_fields(nic, spec.command("listNics")["response"])


def _list_nics(ctx: Ctx, p: dict) -> Listing:
    vm = ctx.get("vm", p["virtualmachineid"])
    if vm is None:
        raise invalid_value(ctx.command, "virtualmachineid", p["virtualmachineid"])
    ctx.owned(vm, "vm", "virtualmachineid", p["virtualmachineid"])
    nics = vm.get("nic", [])
    if p.get("nicid"):
        nics = [n for n in nics if n["id"] == p["nicid"]]
        if not nics:
            raise param_error(f"There is no NIC with the ID: {p['nicid']}")
    if p.get("networkid"):
        nics = [n for n in nics if n.get("networkid") == p["networkid"]]
    return Listing([_render_nic(n) for n in nics])


def _nic_and_vm(ctx: Ctx, nic_id: str) -> tuple[dict, dict]:
    for vm in ctx.find("vm"):
        for nic in vm.get("nic", []):
            if nic["id"] == nic_id:
                return nic, vm
    raise invalid_value(ctx.command, "nicid", nic_id)


def _add_ip(ctx: Ctx, p: dict) -> JobStarted:
    """addIpToNic (create-style): the address is taken from the NIC's network before the job applies it."""
    nic, vm = _nic_and_vm(ctx, p["nicid"])
    ctx.owned(vm, "vm", "nicid", p["nicid"])
    net = ctx.get("network", nic.get("networkid"))
    if net is None:
        raise param_error("Invalid network id is given")
    if len(nic.get("secondaryip", [])) >= MAX_SECONDARY:
        # AddIpToVmNicCmd.create: the InsufficientAddressCapacityException becomes an InvalidParameterValue.
        raise param_error("Allocating guest ip for nic failed : Maximum Number of Ips per Nic has been crossed.")
    try:
        address = _guest_ip(ctx, net, p.get("ipaddress"))
    except SimError as exc:
        if exc.errorcode == 431 and exc.errortext.startswith("Invalid format"):
            raise
        # IpAddressManagerImpl.acquireGuestIpAddress answers null for an address it cannot give (in use, outside
        # the cidr, the gateway, none left), and AddIpToVmNicCmd.create makes that a ServerApiException.
        raise SimError(530, "Failed to assign secondary ip to nic", 9999) from None
    secondary = ctx.insert("nicsecondaryip", {
        "ipaddress": address, "nicid": nic["id"], "networkid": net["id"], "virtualmachineid": vm["id"],
    }, account_id=vm.get("accountid"))
    nic.setdefault("secondaryip", []).append({"id": secondary["id"], "ipaddress": address})
    ctx.save("vm", vm)
    return ctx.start_job("nic_add_ip", {"id": secondary["id"]}, instance_type="IpAddress",
                         object_id=secondary["id"])


def _job_add_ip(ctx: Ctx, args: dict) -> dict:
    secondary = ctx.get("nicsecondaryip", args["id"])
    if secondary is None:
        raise SimError(530, "Failed to allocate ip to the nic", 4250)
    out = {k: secondary[k] for k in ("id", "ipaddress", "nicid", "networkid", "virtualmachineid")}
    return {"nicsecondaryip": public_fields(out, spec.command("addIpToNic")["response"])}


def _remove_ip(ctx: Ctx, p: dict) -> JobStarted:
    secondary = ctx.get("nicsecondaryip", p["id"])
    if secondary is None:
        raise param_error("Unable to find secondary ip address by id")
    vm = ctx.get("vm", secondary["virtualmachineid"])
    if vm is None:
        raise param_error("There is no vm with the given secondary ip")
    ctx.owned(vm, "vm", "id", p["id"])
    nat = ctx.find("ipaddress", where=lambda d: d.get("virtualmachineid") == vm["id"]
                   and d.get("vmipaddress") == secondary["ipaddress"])
    if nat:
        raise param_error(f"Can' remove the ip {secondary['ipaddress']}is associate with static NAT rule public "
                          f"IP address id {nat[0]['id']}")
    return ctx.start_job("nic_remove_ip", {"id": secondary["id"]})


def _job_remove_ip(ctx: Ctx, args: dict) -> Any:
    secondary = ctx.get("nicsecondaryip", args["id"])
    if secondary is None:
        raise param_error("Unable to find secondary ip address by id")
    vm = ctx.get("vm", secondary["virtualmachineid"])
    if vm is not None:
        for nic in vm.get("nic", []):
            nic["secondaryip"] = [s for s in nic.get("secondaryip", []) if s.get("id") != secondary["id"]]
        ctx.save("vm", vm)
    ctx.remove("nicsecondaryip", secondary["id"])
    return SUCCESS


def _nic_owner(ctx: Ctx, uuid: str) -> dict | None:
    for vm in ctx.find("vm"):
        if any(n["id"] == uuid for n in vm.get("nic", [])):
            return vm
    return None


COMMANDS = {
    "listNics": _list_nics,
    "addIpToNic": _add_ip,
    "removeIpFromNic": _remove_ip,
}
JOB_ACTIONS = {
    "nic_add_ip": _job_add_ip,
    "nic_remove_ip": _job_remove_ip,
}
# Nic tags belong to the NIC's VM.
TAG_RESOLVERS = {"Nic": _nic_owner}
