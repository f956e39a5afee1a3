"""EC2-VPC network interfaces: DescribeNetworkInterfaces, AssignPrivateIpAddresses, UnassignPrivateIpAddresses.

An EC2 network interface (eni-, IdMap kind network-interface) is a CloudStack NIC of one of the caller's VMs on a
VPC tier (listVirtualMachines' `nic` list, where CloudStack shows every NIC of the VM with its secondary
addresses), read as DescribeInstances reads it (core/instance_nics.py: ids, groups and description kept by the
gateway). CloudStack 4.18 has no NIC apart from its VM: a NIC is made with the VM (or addNicToVirtualMachine)
and goes with it, so every interface here is attached (status in-use, deleted with its instance) and
Create/Delete/Attach/DetachNetworkInterface stay UnsupportedOperation (wire/catalogue.py). Secondary private
addresses are CloudStack's secondary IPs of the NIC (addIpToNic / removeIpFromNic); the public address of an
interface is the static NAT of an Elastic IP onto one of its addresses (core/addresses.py).
Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.instance_nics import InstanceNic, NicGroup
from ec2soap.core.instance_nics import vpc_nics as instance_vpc_nics
from ec2soap.core.model import Tag, owner_id
from ec2soap.core.vpc_instances import PUBLIC_IP_TAG
from ec2soap.errors import ERRORS

__all__ = ["NetworkInterface", "InterfacePage", "Nic", "INTERFACE_FILTERS", "vpc_nics", "find_nic", "launch_address",
           "OPERATIONS"]

_GONE = ("Destroyed", "Expunging", "Expunged", "Error")
# EC2 reserves a subnet's first four addresses and its last (as RunInstances does, core/vpc_instances.py).
_FIRST_USABLE, _LAST_RESERVED = 4, 1
# SecondaryPrivateIpAddressCount: how many taken addresses (by something the caller cannot list) to step over.
_TRIES = 16


@dataclass
class Nic:
    """A VPC-tier NIC of one of the caller's VMs: as CloudStack lists it with its VM, and as EC2 shows it."""
    vm: dict
    nic: dict
    ec2: InstanceNic

    @property
    def cs_id(self) -> str:
        return self.nic["id"]

    @property
    def primary_ip(self) -> str:
        return str(self.nic.get("ipaddress") or "")

    @property
    def secondary(self) -> dict[str, str]:
        """{address: CloudStack secondary-IP uuid}."""
        return {s["ipaddress"]: s["id"] for s in self.nic.get("secondaryip") or () if s.get("ipaddress")}

    @property
    def network(self) -> ipaddress.IPv4Network | None:
        try:
            return ipaddress.IPv4Network(f"{self.nic.get('gateway')}/{self.nic.get('netmask')}", strict=False)
        except ValueError:
            return None


@dataclass
class InterfaceAssociation:
    public_ip: str
    ip_owner_id: str
    allocation_id: str | None
    association_id: str | None
    public_dns_name: str | None = None


@dataclass
class PrivateIp:
    private_ip_address: str
    primary: bool
    association: InterfaceAssociation | None = None
    private_dns_name: str | None = None


@dataclass
class InterfaceAttachment:
    attachment_id: str
    instance_id: str
    instance_owner_id: str
    device_index: int
    attach_time: Any = None
    status: str = "attached"
    # CloudStack removes a VM's NICs with it: an interface never outlives its instance.
    delete_on_termination: bool = True


@dataclass
class NetworkInterface:
    network_interface_id: str
    subnet_id: str
    vpc_id: str
    availability_zone: str
    owner_id: str
    mac_address: str
    private_ip_address: str
    attachment: InterfaceAttachment
    private_ip_addresses: list[PrivateIp]
    groups: list[NicGroup] = field(default_factory=list)
    association: InterfaceAssociation | None = None
    description: str = ""
    status: str = "in-use"
    requester_managed: bool = False
    source_dest_check: bool = True
    interface_type: str = "interface"
    tags: list[Tag] = field(default_factory=list)
    cs_id: str = ""

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


@dataclass
class InterfacePage:
    network_interfaces: list[NetworkInterface]
    next_token: str | None = None


@dataclass
class AssignedAddresses:
    network_interface_id: str
    assigned_private_ip_addresses: list[PrivateIp]
    ok: bool = True


def _public(i: NetworkInterface, attr: str) -> list[str]:
    return [getattr(p.association, attr) for p in i.private_ip_addresses if p.association]


INTERFACE_FILTERS = {
    "network-interface-id": lambda i: i.network_interface_id,
    "subnet-id": lambda i: i.subnet_id,
    "vpc-id": lambda i: i.vpc_id,
    "availability-zone": lambda i: i.availability_zone,
    "owner-id": lambda i: i.owner_id,
    "status": lambda i: i.status,
    "mac-address": lambda i: i.mac_address,
    "description": lambda i: i.description,
    "interface-type": lambda i: i.interface_type,
    "requester-managed": lambda i: i.requester_managed,
    "source-dest-check": lambda i: i.source_dest_check,
    "private-ip-address": lambda i: [p.private_ip_address for p in i.private_ip_addresses],
    "addresses.private-ip-address": lambda i: [p.private_ip_address for p in i.private_ip_addresses],
    "addresses.primary": lambda i: [p.primary for p in i.private_ip_addresses],
    "addresses.association.public-ip": lambda i: _public(i, "public_ip"),
    "addresses.association.owner-id": lambda i: _public(i, "ip_owner_id"),
    "association.public-ip": lambda i: _public(i, "public_ip"),
    "association.allocation-id": lambda i: _public(i, "allocation_id"),
    "association.association-id": lambda i: _public(i, "association_id"),
    "association.ip-owner-id": lambda i: _public(i, "ip_owner_id"),
    "attachment.attachment-id": lambda i: i.attachment.attachment_id,
    "attachment.instance-id": lambda i: i.attachment.instance_id,
    "attachment.instance-owner-id": lambda i: i.attachment.instance_owner_id,
    "attachment.device-index": lambda i: str(i.attachment.device_index),
    "attachment.status": lambda i: i.attachment.status,
    "attachment.delete-on-termination": lambda i: i.attachment.delete_on_termination,
    "attachment.attach-time": lambda i: i.attachment.attach_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if i.attachment.attach_time else None,
    "group-id": lambda i: [g.group_id for g in i.groups],
    "group-name": lambda i: [g.group_name for g in i.groups],
}


async def vpc_nics(ctx: RequestContext, **vm_filter: Any) -> list[Nic]:
    """The caller's NICs on VPC tiers (of VMs not destroyed), as CloudStack lists them with their VMs."""
    vms = [vm for vm in await ctx.cloud.list_virtual_machines(listall=True, **vm_filter)
           if vm.get("state") not in _GONE]
    shown = await instance_vpc_nics(ctx, vms)
    raw = {nic.get("id"): (vm, nic) for vm in vms for nic in vm.get("nic") or ()}
    return [Nic(*raw[i.cs_id], i) for vm in vms for i in shown.get(vm["id"], ()) if i.cs_id in raw]


async def find_nic(ctx: RequestContext, eni_id: str) -> Nic:
    """The caller's NIC named by ENI_ID, else InvalidNetworkInterfaceID.NotFound (also for another's)."""
    cs_id = await ctx.ids.to_cloudstack("network-interface", eni_id) if eni_id else None
    found = [n for n in await vpc_nics(ctx) if n.cs_id == cs_id] if cs_id else []
    if not found:
        raise ERRORS["InvalidNetworkInterfaceID.NotFound"](eni_id=eni_id)
    return found[0]


def launch_address(cs: dict) -> bool:
    """A public address RunInstances gave an instance in a VPC (AssociatePublicIpAddress; core/vpc_instances.py
    tags it): no Elastic IP (DescribeAddresses does not list it), and EC2 names its owner "amazon"."""
    return any(t.get("key") == PUBLIC_IP_TAG for t in cs.get("tags") or ())


async def _static_nats(ctx: RequestContext) -> dict[tuple[str, str], InterfaceAssociation]:
    """{(vm uuid, guest address): the public address statically NATed onto it}."""
    nated = [c for c in await ctx.cloud.list_public_ip_addresses(isstaticnat=True)
             if c.get("virtualmachineid") and c.get("vmipaddress")]
    elastic = [c["id"] for c in nated if not launch_address(c)]
    allocations = await ctx.ids.to_ec2_many("allocation", elastic)
    associations = await ctx.ids.to_ec2_many("association", elastic)
    return {(c["virtualmachineid"], c["vmipaddress"]): InterfaceAssociation(
        public_ip=c["ipaddress"], ip_owner_id="amazon" if launch_address(c) else owner_id(c),
        allocation_id=allocations.get(c["id"]), association_id=associations.get(c["id"])) for c in nated}


async def _to_interfaces(ctx: RequestContext, nics: list[Nic]) -> list[NetworkInterface]:
    instances = await ctx.ids.to_ec2_many("instance", [n.vm["id"] for n in nics])
    nats = await _static_nats(ctx) if nics else {}
    out = []
    for n in nics:
        i, vm = n.ec2, n.vm
        addresses = [PrivateIp(p.private_ip_address, p.primary, nats.get((vm["id"], p.private_ip_address)))
                     for p in i.private_ip_addresses]
        out.append(NetworkInterface(
            network_interface_id=i.network_interface_id, subnet_id=i.subnet_id, vpc_id=i.vpc_id,
            availability_zone=str(vm.get("zonename") or ""), owner_id=i.owner_id, mac_address=i.mac_address,
            private_ip_address=i.private_ip_address,
            attachment=InterfaceAttachment(i.attachment.attachment_id, instances[vm["id"]], i.owner_id,
                                           i.attachment.device_index, i.attachment.attach_time,
                                           i.attachment.status, i.attachment.delete_on_termination),
            private_ip_addresses=addresses, association=addresses[0].association if addresses else None,
            groups=list(i.groups), description=i.description, cs_id=n.cs_id))
    return out


async def describe_network_interfaces(ctx: RequestContext, network_interface_ids: Sequence[str] = (),
                                      filters: Sequence[Filter] = (), max_results: int | None = None,
                                      next_token: str | None = None) -> InterfacePage:
    """DescribeNetworkInterfaces → listVirtualMachines (the NICs on VPC tiers) and listPublicIpAddresses (their
    static NATs). Unknown ids are InvalidNetworkInterfaceID.NotFound; ids, filters and pages applied here."""
    wanted = await ctx.ids.to_cloudstack_many("network-interface", network_interface_ids) \
        if network_interface_ids else {}
    for given, cs_id in wanted.items():
        if cs_id is None:
            raise ERRORS["InvalidNetworkInterfaceID.NotFound"](eni_id=given)
    nics = await vpc_nics(ctx)
    if network_interface_ids:
        present = {n.cs_id for n in nics}
        for given, cs_id in wanted.items():
            if cs_id not in present:
                raise ERRORS["InvalidNetworkInterfaceID.NotFound"](eni_id=given)
        nics = [n for n in nics if n.cs_id in set(wanted.values())]
    found = apply_filters(INTERFACE_FILTERS, filters, await _to_interfaces(ctx, nics))
    found.sort(key=lambda i: i.network_interface_id)
    page, token = paginate(found, max_results, next_token, minimum=5, maximum=1000)
    return InterfacePage(page, token)


# -- secondary private addresses ------------------------------------------------------------------------------------
def _check_in_subnet(nic: Nic, address: str, eni_id: str) -> str:
    try:
        ip = ipaddress.IPv4Address(address.strip())
    except ValueError:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Invalid value '{address}' for privateIpAddress: it is not an IPv4 address") from None
    net = nic.network
    if net is None or ip not in net:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Address {ip} does not fall within the subnet's address range of {eni_id}")
    if _reserved(net, ip) or str(ip) == nic.nic.get("gateway"):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Address {ip} is in subnet's reserved address range ({eni_id}, {net})")
    return str(ip)


def _reserved(net: ipaddress.IPv4Network, ip: ipaddress.IPv4Address) -> bool:
    return int(ip) - int(net.network_address) < _FIRST_USABLE or \
        int(net.broadcast_address) - int(ip) < _LAST_RESERVED


def _free(nic: Nic, used: set[str]) -> Iterator[str]:
    """The subnet's addresses EC2 does not reserve that no listed interface holds, in order."""
    net = nic.network
    if net is None:
        return
    for value in range(int(net.network_address) + _FIRST_USABLE, int(net.broadcast_address) + 1 - _LAST_RESERVED):
        address = str(ipaddress.IPv4Address(value))
        if address not in used and address != nic.nic.get("gateway"):
            yield address


async def _remove_secondary(ctx: RequestContext, secondary_id: str) -> None:
    await ctx.cloud.remove_ip_from_nic(id=secondary_id)


async def _add(ctx: RequestContext, nic: Nic, eni_id: str, address: str) -> str:
    """addIpToNic. CloudStack 4.18 refuses the per-NIC maximum (vm.network.nic.max.secondary.ipaddresses) as
    an InvalidParameterValue (431) naming it, and an address it cannot give (taken) as 530 "Failed to assign
    secondary ip to nic"."""
    try:
        made = await ctx.cloud.add_ip_to_nic(nicid=nic.cs_id, ipaddress=address)
    except CloudStackApiError as exc:
        text = exc.errortext.lower()
        if "maximum number of ips" in text:
            raise ERRORS["PrivateIpAddressLimitExceeded"](
                detail=f"Number of private addresses would exceed the limit of this cloud for {eni_id} "
                       f"(CloudStack's vm.network.nic.max.secondary.ipaddresses)") from None
        if exc.errorcode in (530, 533):
            raise ERRORS["InvalidIPAddress.InUse"](address=address) from None
        raise
    return str(made.get("ipaddress") or address)


async def _add_free(ctx: RequestContext, nic: Nic, eni_id: str, free: Iterator[str]) -> str:
    """The next address of FREE CloudStack gives (one taken by something no interface lists is stepped over)."""
    for _ in range(_TRIES):
        address = next(free, None)
        if address is None:
            break
        try:
            return await _add(ctx, nic, eni_id, address)
        except ERRORS["InvalidIPAddress.InUse"]:
            continue
    raise ERRORS["InsufficientFreeAddressesInSubnet"](detail=f"The subnet of {eni_id} has no free private address "
                                                             f"left")


async def assign_private_ip_addresses(ctx: RequestContext, network_interface_id: str = "",
                                      private_ip_addresses: Sequence[str] = (),
                                      secondary_private_ip_address_count: int | None = None,
                                      allow_reassignment: bool | None = None) -> AssignedAddresses:
    """AssignPrivateIpAddresses → addIpToNic, once per address: the given ones, or COUNT chosen here (the
    subnet's first addresses no interface holds and EC2 does not reserve, never CloudStack's first free one).

    An address outside the interface's subnet or reserved by EC2 is InvalidParameterValue; one in use on another interface is
    InvalidIPAddress.InUse unless AllowReassignment moves it (removeIpFromNic there first; a primary address never
    moves). When one address fails, those this call already added are removed again."""
    if private_ip_addresses and secondary_private_ip_address_count is not None:
        raise ERRORS["InvalidParameterCombination"](
            detail="Specify either PrivateIpAddress or SecondaryPrivateIpAddressCount, not both")
    if not private_ip_addresses and secondary_private_ip_address_count is None:
        raise ERRORS["MissingParameter"](name="PrivateIpAddress or SecondaryPrivateIpAddressCount")
    if secondary_private_ip_address_count is not None and secondary_private_ip_address_count < 1:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({secondary_private_ip_address_count}) for parameter secondaryPrivateIpAddressCount "
                   f"is invalid. Expecting a value greater than 0.")
    nic = await find_nic(ctx, network_interface_id)
    wanted = list(dict.fromkeys(_check_in_subnet(nic, a, network_interface_id) for a in private_ip_addresses))
    tier = [n for n in await vpc_nics(ctx) if n.nic.get("networkid") == nic.nic.get("networkid")]
    moves: list[str] = []
    for address in wanted:
        if address == nic.primary_ip or address in nic.secondary:
            continue
        holder = next((n for n in tier if address == n.primary_ip or address in n.secondary), None)
        if holder is None:
            continue
        if not allow_reassignment or address == holder.primary_ip:
            raise ERRORS["InvalidIPAddress.InUse"](address=address)
        moves.append(holder.secondary[address])
    wanted = [a for a in wanted if a != nic.primary_ip and a not in nic.secondary]
    for secondary_id in moves:
        await _remove_secondary(ctx, secondary_id)
    added: list[str] = []
    try:
        for address in wanted:
            added.append(await _add(ctx, nic, network_interface_id, address))
        # A count: EC2's choice of free addresses (never a reserved one), not CloudStack's (its first free
        # address, which may be one EC2 reserves).
        free = _free(nic, {a for n in tier for a in (n.primary_ip, *n.secondary)})
        for _ in range(secondary_private_ip_address_count or 0):
            added.append(await _add_free(ctx, nic, network_interface_id, free))
    except Exception:
        fresh = (await find_nic(ctx, network_interface_id)).secondary
        for address in added:
            if address in fresh:
                await _remove_secondary(ctx, fresh[address])
        raise
    return AssignedAddresses(network_interface_id, [PrivateIp(a, False) for a in added])


async def unassign_private_ip_addresses(ctx: RequestContext, network_interface_id: str = "",
                                        private_ip_addresses: Sequence[str] = ()) -> bool:
    """UnassignPrivateIpAddresses → removeIpFromNic per address. Only secondary addresses of the interface can
    go (EC2's InvalidParameterValue otherwise, checked for all before any is removed); an Elastic IP on one is
    disassociated first (disableStaticNat), as EC2 does."""
    if not private_ip_addresses:
        raise ERRORS["MissingParameter"](name="PrivateIpAddress")
    nic = await find_nic(ctx, network_interface_id)
    secondary = nic.secondary
    for address in private_ip_addresses:
        if address == nic.primary_ip:
            raise ERRORS["InvalidParameterValue"](
                detail=f"The primary private address {address} of {network_interface_id} cannot be unassigned")
        if address not in secondary:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Some of the specified addresses are not assigned to interface {network_interface_id}")
    nats = {c["vmipaddress"]: c["id"] for c in await ctx.cloud.list_public_ip_addresses(isstaticnat=True)
            if c.get("virtualmachineid") == nic.vm["id"] and c.get("vmipaddress")}
    for address in dict.fromkeys(private_ip_addresses):
        if address in nats:
            await ctx.cloud.disable_static_nat(ipaddressid=nats[address])
        await _remove_secondary(ctx, secondary[address])
    return True


OPERATIONS: dict[str, Any] = {
    "DescribeNetworkInterfaces": describe_network_interfaces,
    "AssignPrivateIpAddresses": assign_private_ip_addresses,
    "UnassignPrivateIpAddresses": unassign_private_ip_addresses,
}
