"""Simulator: guest networks of the advanced zone, isolated ones and VPC tiers (NetworkServiceImpl and
VpcManagerImpl.validateNewVpcGuestNetwork behaviour; protocol.md §15.4). listNetworks stays in zones.py.

A network is Allocated when created and Implemented when its first VM starts (vm_inputs.network_nics marks it).
Deleting one with VMs fails inside the job with CloudStack's bare 530, as DeleteNetworkCmd.execute answers.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields
from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, JobStarted, cs_date, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied
from ec2soap.cloudstack.simulator.vpcs import java_vpc, tiers_of

__all__ = ["COMMANDS", "JOB_ACTIONS", "render_network", "java_network", "vms_in"]

_GONE = ("Destroyed", "Expunging")


def java_network(net: dict) -> str:
    # CloudStack quirk: messages print NetworkVO.toString().
    return (f'Network {{"id": {net.get("_dbid", 1)}, "name": "{net["name"]}", "uuid": "{net["id"]}", '
            f'"networkofferingid": {net.get("_offering_dbid", 1)}}}')


def render_network(ctx: Ctx, net: dict, command: str) -> dict:
    return public_fields(dict(net, tags=ctx.tags.of("Network", net["id"])), spec.command(command)["response"])


def vms_in(ctx: Ctx, network_id: str) -> list[dict]:
    """The VMs (not expunged) with a NIC on the network."""
    return ctx.find("vm", where=lambda v: any(n.get("networkid") == network_id for n in v.get("nic", [])))


def _netmask_pair(p: dict) -> ipaddress.IPv4Network | None:
    gateway, netmask = p.get("gateway"), p.get("netmask")
    if not gateway and not netmask:
        return None
    if not gateway or not netmask:
        raise param_error("gateway and netmask should be defined together")
    try:
        ip = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise param_error("Invalid gateway") from None
    try:
        net = ipaddress.IPv4Network(f"{gateway}/{netmask}", strict=False)
    except ValueError:
        raise param_error("Invalid netmask") from None
    if str(net.netmask) != netmask:
        raise param_error("Invalid netmask")
    if ip in (net.network_address, net.broadcast_address):
        raise param_error("Invalid gateway IP provided. Either the IP is broadcast or network IP.")
    return net


def _check_tier(ctx: Ctx, vpc: dict, cidr: ipaddress.IPv4Network | None, offering: dict, owner: dict,
                zone: dict, p: dict) -> None:
    """VpcManagerImpl.validateNewVpcGuestNetwork and validateNtwkOffForNtwkInVpc."""
    if vpc.get("state") != "Enabled":
        raise param_error("Unable to find Enabled VPC by id specified")
    most = ctx.config_int("vpc.max.networks", 3)
    if len(tiers_of(ctx, vpc["id"])) >= most:
        # A CloudRuntimeException: 530.
        raise SimError(530, f"Number of networks per VPC can't extend {most}; increase it using global config "
                            f"vpc.max.networks", 4250)
    if vpc["zoneid"] != zone["id"]:
        raise param_error("New network doesn't belong to vpc zone")
    if not offering.get("forvpc"):
        raise param_error("Network offering can't be used for VPC networks")
    if offering.get("conservemode"):
        raise param_error("Only networks with conserve mode Off can belong to VPC")
    if cidr is None:
        raise param_error("Gateway/netmask are required when create network for VPC")
    if not cidr.subnet_of(ipaddress.IPv4Network(vpc["cidr"])):
        raise param_error(f"Network cidr {cidr} is not within vpc {java_vpc(vpc)} cidr")
    for tier in tiers_of(ctx, vpc["id"]):
        if cidr.overlaps(ipaddress.IPv4Network(tier["cidr"])):
            raise param_error(f"Network cidr {cidr} crosses other network cidr {java_network(tier)} belonging "
                              f"to the same vpc {java_vpc(vpc)}")
    if vpc.get("accountid") != owner["id"]:
        raise param_error(f"Vpc {java_vpc(vpc)} owner is different from the network owner {owner['name']}")
    if p.get("networkdomain") and p["networkdomain"] != vpc.get("networkdomain"):
        raise param_error(f"Network domain of the new network should match network domain of vpc {java_vpc(vpc)}")


def _acl_for(ctx: Ctx, p: dict, vpc: dict | None, offering: dict) -> dict | None:
    if not p.get("aclid"):
        return None
    acl = ctx.get("networkacllist", p["aclid"])
    if acl is None:
        raise invalid_value(ctx.command, "aclid", p["aclid"])
    if vpc is None:
        raise param_error("Network ACL can be applied only to networks of a VPC")
    if "networkacl" not in {s["name"].lower() for s in offering.get("service", [])}:
        raise param_error("Cannot apply NetworkACL. Network Offering does not support NetworkACL service")
    if not acl.get("_default") and acl.get("vpcid") != vpc["id"]:
        raise param_error(f"ACL: {acl['id']} do not belong to the VPC")
    return acl


def _create_network(ctx: Ctx, p: dict) -> dict:
    """createNetwork (synchronous): an Isolated network, or a tier of a VPC with `vpcid`."""
    owner = owner_account(ctx, p)
    zone = ctx.lookup("zone", p["zoneid"], "zoneid")
    offering = ctx.lookup("networkoffering", p["networkofferingid"], "networkofferingid")
    if offering.get("state") != "Enabled":
        raise param_error(f"Network offering with specified id is not in Enabled state: {offering['id']}")
    if offering.get("guestiptype") != "Isolated":
        # Shared and L2 networks take VLANs and IP ranges the simulator has no physical network for.
        raise param_error(f"Only networks of guest type Isolated can be created in this cloud; the offering "
                          f"{offering['name']} is of type {offering.get('guestiptype')}")
    if zone.get("networktype") != "Advanced":
        raise param_error(f"Isolated networks can be created only in an Advanced zone; zone {zone['id']} is "
                          f"{zone.get('networktype')}")
    if zone.get("allocationstate") == "Disabled" and not ctx.caller.is_admin:
        raise permission_denied(f"Cannot perform this operation, Zone is currently disabled: {zone['id']}")
    if p.get("acltype") and p["acltype"].lower() != "account":
        raise param_error("AclType should be Account for network of type Isolated")
    cidr = _netmask_pair(p)
    vpc = None
    if p.get("vpcid"):
        vpc = ctx.get("vpc", p["vpcid"])
        if vpc is None:
            raise invalid_value(ctx.command, "vpcid", p["vpcid"])
        ctx.owned(vpc, "vpc", "vpcid", p["vpcid"])
        _check_tier(ctx, vpc, cidr, offering, owner, zone, p)
    elif offering.get("forvpc"):
        raise param_error("Network offering can be used for VPC networks only")
    acl = _acl_for(ctx, p, vpc, offering)
    accounts.check_limit(ctx, "network", account=owner)
    if cidr is None:
        cidr = ipaddress.IPv4Network(zone.get("guestcidraddress") or "10.1.1.0/24")
    gateway = p.get("gateway") or str(cidr.network_address + 1)
    net_id = ctx.new_uuid()
    net: dict[str, Any] = {
        "id": net_id, "name": p["name"], "displaytext": p.get("displaytext") or p["name"],
        "broadcastdomaintype": "Vlan", "traffictype": "Guest", "gateway": gateway, "netmask": str(cidr.netmask),
        "cidr": str(cidr), "zoneid": zone["id"], "zonename": zone["name"], "networkofferingid": offering["id"],
        "networkofferingname": offering["name"], "networkofferingdisplaytext": offering["displaytext"],
        "networkofferingconservemode": bool(offering.get("conservemode")),
        "networkofferingavailability": offering.get("availability"), "issystem": False, "state": "Allocated",
        "related": net_id, "dns1": zone.get("dns1"), "dns2": zone.get("dns2"), "type": "Isolated",
        "acltype": "Account", **owner_fields(ctx, owner), "isdefault": False, "canusefordeploy": True,
        "ispersistent": False, "specifyipranges": False, "restartrequired": False,
        "displaynetwork": p.get("displaynetwork", True) if ctx.caller.is_admin else True,
        "redundantrouter": False, "strechedl2subnet": False, "egressdefaultpolicy": bool(
            offering.get("egressdefaultpolicy")), "internetprotocol": "IPv4", "created": cs_date(ctx.now),
        "service": offering.get("service", []), "hasannotations": False, "details": {},
        "networkdomain": (vpc or {}).get("networkdomain") or p.get("networkdomain") or "cloud.internal",
        "_dbid": ctx.next_counter("network_dbid", start=200), "_offering_dbid": 10,
    }
    if vpc is not None:
        net.update(vpcid=vpc["id"], vpcname=vpc["name"])
    if acl is not None:
        net.update(aclid=acl["id"], aclname=acl["name"])
    for name in ("dns1", "dns2", "externalid"):
        if p.get(name):
            net[name] = p[name]
    if p.get("startip") or p.get("endip"):
        first = ipaddress.IPv4Address(p.get("startip") or str(cidr.network_address + 2))
        last = ipaddress.IPv4Address(p.get("endip") or str(cidr.broadcast_address - 1))
        if first not in cidr or last not in cidr or first > last:
            raise param_error(f"Invalid IP range {first}-{last} for network cidr {cidr}")
        net["_iprange"] = [str(first), str(last)]
    net = {k: v for k, v in net.items() if v is not None}
    ctx.insert("network", net, account_id=owner["id"])
    return render_network(ctx, net, "createNetwork")


def _network(ctx: Ctx, p: dict) -> dict:
    net = ctx.require("network", p, "id")
    if net.get("issystem") or net.get("acltype") == "Domain" and not ctx.caller.is_admin:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                f"with resource {net['id']}")
    return net


def _update_network(ctx: Ctx, p: dict) -> JobStarted:
    net = _network(ctx, p)
    if p.get("networkofferingid") and p["networkofferingid"] != net.get("networkofferingid"):
        raise param_error("Changing the network offering of a network is not supported by this cloud")
    if p.get("guestvmcidr") or p.get("changecidr"):
        raise param_error("Changing the guest VM CIDR (IP reservation) is not supported by this cloud")
    if p.get("networkdomain") and net.get("vpcid"):
        raise param_error("Network domain of a VPC tier is the VPC's; it can't be changed")
    args = {k: p[k] for k in ("id", "name", "displaytext", "dns1", "dns2", "networkdomain", "displaynetwork")
            if k in p}
    return ctx.start_job("network_update", args, instance_type="Network")


def _job_update(ctx: Ctx, args: dict) -> dict:
    net = ctx.get("network", args["id"])
    if net is None:
        raise param_error("Unable to find a network with the specified ID.")
    for name in ("name", "displaytext", "dns1", "dns2", "networkdomain"):
        if args.get(name):
            net[name] = args[name]
    if "displaynetwork" in args and ctx.caller.is_admin:
        net["displaynetwork"] = args["displaynetwork"]
    ctx.save("network", net)
    return {"network": render_network(ctx, net, "updateNetwork")}


def _restart_network(ctx: Ctx, p: dict) -> JobStarted:
    net = _network(ctx, p)
    if p.get("makeredundant") and net.get("vpcid"):
        raise param_error("Could not make a VPC tier redundant: restart the VPC with makeredundant instead")
    return ctx.start_job("network_restart", {"id": net["id"]}, instance_type="Network")


def _job_restart(ctx: Ctx, args: dict) -> Any:
    net = ctx.get("network", args["id"])
    if net is None:
        raise param_error("Unable to find a network with the specified ID.")
    net["restartrequired"] = False
    ctx.save("network", net)
    return SUCCESS


def _delete_network(ctx: Ctx, p: dict) -> JobStarted:
    net = _network(ctx, p)
    if p.get("forced") and not ctx.caller.is_admin:
        raise param_error("Delete network with 'forced' option can only be called by root admins")
    return ctx.start_job("network_delete", {"id": net["id"]}, instance_type="Network")


def _job_delete(ctx: Ctx, args: dict) -> Any:
    net = ctx.get("network", args["id"])
    if net is None:
        raise param_error("Unable to find a network with the specified ID.")
    if vms_in(ctx, net["id"]):
        # NetworkOrchestrator.destroyNetwork refuses while a VM is not expunged; DeleteNetworkCmd says only this.
        raise SimError(530, "Failed to delete network", 4250)
    for ip in ctx.find("ipaddress", where=lambda d: d.get("associatednetworkid") == net["id"]):
        if ip.get("vpcid"):
            # A VPC's address outlives the tier: it goes back to the VPC.
            for key in ("associatednetworkid", "associatednetworkname"):
                ip.pop(key, None)
            ctx.save("ipaddress", ip)
        else:
            ctx.tags.drop("PublicIpAddress", ip["id"])
            ctx.remove("ipaddress", ip["id"])
    ctx.tags.drop("Network", net["id"])
    net["state"] = "Destroy"
    ctx.save("network", net)
    ctx.remove("network", net["id"])
    return SUCCESS


COMMANDS = {
    "createNetwork": _create_network,
    "updateNetwork": _update_network,
    "restartNetwork": _restart_network,
    "deleteNetwork": _delete_network,
}
JOB_ACTIONS = {
    "network_update": _job_update,
    "network_restart": _job_restart,
    "network_delete": _job_delete,
}
