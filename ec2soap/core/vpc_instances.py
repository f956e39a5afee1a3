"""RunInstances into a VPC: SubnetId, PrivateIpAddress, SecurityGroupId.N and NetworkInterface.N (one, at
device index 0), or the default VPC's default subnet when the zone the launch lands in is Advanced.

CloudStack's deployVirtualMachine takes the tier (networkids) and the address (ipaddress); a VPC tier takes no
security groups, so the EC2 groups are the gateway's records (VPC groups: ctx.objects kind "sg" of that VPC,
kept by the security-group family) and the interface remembers them (instance_nics.ENI_KIND). A public address
(AssociatePublicIpAddress, or the default subnet's MapPublicIpOnLaunch) is a VPC address (associateIpAddress
vpcid) with static NAT to the instance's tier address. What CloudStack cannot do is refused, naming it. Core: no
Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackError
from ec2soap.core.context import RequestContext
from ec2soap.core.default_vpc import ensure_default, is_default_subnet
from ec2soap.core.instance_nics import ENI_KIND, SG_KIND, account_key
from ec2soap.core.security_group_model import resolve_group_refs
from ec2soap.core.vpc_cloud import is_advanced
from ec2soap.core.volumes import tag_new
from ec2soap.core.vpc_security_groups import ensure_default_group
from ec2soap.core.vpcs import cs_subnet
from ec2soap.errors import ERRORS

__all__ = ["NetworkInterfaceRequest", "PrivateIpRequest", "VpcLaunch", "plan_vpc_launch", "finish_vpc_launch",
           "reserve_addresses", "release_addresses", "release_launch_resources", "PUBLIC_IP_TAG"]

log = logging.getLogger(__name__)

# The CloudStack tag on a public address given at launch (not an Elastic IP): its value is the VM's uuid.
PUBLIC_IP_TAG = "ec2soap:launch-public-ip"

# EC2 keeps the first four addresses of a subnet and its last one.
_FIRST_USABLE, _LAST_RESERVED = 4, 1


@dataclass(frozen=True)
class PrivateIpRequest:
    private_ip_address: str | None = None
    primary: bool | None = None


@dataclass(frozen=True)
class NetworkInterfaceRequest:
    """One NetworkInterface.N of RunInstances, as the client sent it (None: not given)."""
    device_index: int | None = None
    subnet_id: str | None = None
    private_ip_address: str | None = None
    groups: Sequence[str] = ()
    associate_public_ip_address: bool | None = None
    delete_on_termination: bool | None = None
    description: str | None = None
    network_interface_id: str | None = None
    private_ip_addresses: Sequence[PrivateIpRequest] = ()
    secondary_private_ip_address_count: int | None = None
    ipv6_address_count: int | None = None
    ipv6_addresses: bool = False
    associate_carrier_ip_address: bool | None = None
    interface_type: str | None = None
    network_card_index: int | None = None
    ipv4_prefixes: bool = False
    ipv4_prefix_count: int | None = None
    ipv6_prefixes: bool = False
    ipv6_prefix_count: int | None = None
    primary_ipv6: bool | None = None
    ena_srd_specification: bool = False
    connection_tracking_specification: bool = False
    ena_queue_count: int | None = None


@dataclass
class VpcLaunch:
    zone: dict
    tier: dict
    groups: list[str] = field(default_factory=list)  # sg record ids
    private_ip: str | None = None
    public_ip: bool = False
    description: str = ""

    @property
    def deploy_params(self) -> dict[str, Any]:
        return {"zoneid": self.zone["id"], "networkids": [self.tier["id"]], "ipaddress": self.private_ip,
                "securitygroupids": None}


def _bad(detail: str) -> Exception:
    return ERRORS["InvalidParameterValue"](detail=detail)


def _one_interface(interfaces: Sequence[NetworkInterfaceRequest]) -> NetworkInterfaceRequest:
    """The one interface this cloud can launch with, or a clear error for what it cannot do."""
    if len(interfaces) > 1 or interfaces[0].device_index not in (0, None):
        raise _bad("Only one network interface, at device index 0, can be given at launch on this cloud")
    nic = interfaces[0]
    if nic.device_index is None:
        raise _bad("Each network interface requires a device index.")
    if nic.network_interface_id:
        raise _bad("Launching with an existing network interface (NetworkInterfaceId) is not supported on this "
                   "cloud: give SubnetId and the interface is made with the instance")
    if nic.delete_on_termination is False:
        raise _bad("A network interface made at launch is deleted with its instance on this cloud "
                   "(DeleteOnTermination cannot be false)")
    refused = [name for name, given in (
        ("SecondaryPrivateIpAddressCount", nic.secondary_private_ip_address_count),
        ("Ipv6AddressCount", nic.ipv6_address_count), ("Ipv6Addresses", nic.ipv6_addresses),
        ("AssociateCarrierIpAddress", nic.associate_carrier_ip_address),
        ("Ipv4Prefixes", nic.ipv4_prefixes), ("Ipv4PrefixCount", nic.ipv4_prefix_count),
        ("Ipv6Prefixes", nic.ipv6_prefixes), ("Ipv6PrefixCount", nic.ipv6_prefix_count),
        ("PrimaryIpv6", nic.primary_ipv6), ("EnaSrdSpecification", nic.ena_srd_specification),
        ("ConnectionTrackingSpecification", nic.connection_tracking_specification),
        ("EnaQueueCount", nic.ena_queue_count))
        if given not in (None, False, 0)]
    if nic.interface_type not in (None, "", "interface"):
        refused.append("InterfaceType")
    if nic.network_card_index not in (None, 0):
        refused.append("NetworkCardIndex")
    if refused:
        raise _bad(f"Not supported on this cloud for a network interface: {', '.join(refused)}")
    return nic


def _interface_address(nic: NetworkInterfaceRequest) -> str | None:
    """The interface's one address: PrivateIpAddress, or PrivateIpAddresses with one primary entry."""
    listed = list(nic.private_ip_addresses)
    if not listed:
        return nic.private_ip_address
    primary = [p for p in listed if p.primary]
    if len(listed) > 1 or (listed and not primary and listed[0].primary is False):
        raise _bad("Secondary private IP addresses at launch are not supported on this cloud: give one primary "
                   "address (AssignPrivateIpAddresses adds more)")
    address = listed[0].private_ip_address
    if nic.private_ip_address and address and address != nic.private_ip_address:
        raise ERRORS["InvalidParameterCombination"](
            detail="The primary address in PrivateIpAddresses differs from PrivateIpAddress")
    return address or nic.private_ip_address


def _check_address(address: str, tier: dict, subnet_id: str) -> None:
    cidr = ipaddress.IPv4Network(tier.get("cidr") or "0.0.0.0/32")
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise _bad(f"Value ({address}) for parameter privateIpAddress is invalid. It is not a valid IPv4 "
                   f"address.") from None
    if ip not in cidr:
        raise _bad(f"Address {address} does not fall within the subnet's address range ({subnet_id}, "
                   f"{cidr})")
    if int(ip) - int(cidr.network_address) < _FIRST_USABLE or int(cidr.broadcast_address) - int(ip) < _LAST_RESERVED:
        raise _bad(f"Address {address} is in subnet's reserved address range ({subnet_id}, {cidr})")


async def _groups(ctx: RequestContext, vpc_cs_id: str, names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """SecurityGroupId.N (and, in a default VPC, SecurityGroup.N names) → the VPC's sg record ids; none given:
    the VPC's default group when the security-group family made one."""
    records = await ctx.objects.list(SG_KIND, await account_key(ctx), vpc=vpc_cs_id) if ctx.objects else []
    out = await resolve_group_refs(ctx.ids, names, ids, {str(r.data.get("name")): r.cs_id for r in records},
                                   {r.cs_id for r in records})
    if not out:
        # EC2 puts an interface launched without groups in its VPC's default group.
        default = await ensure_default_group(ctx, vpc_cs_id)
        out = [default] if default else []
    return list(dict.fromkeys(out))


async def plan_vpc_launch(ctx: RequestContext, zone_named: Callable[[str | None], Awaitable[dict]], *,
                          subnet_id: str | None, interfaces: Sequence[NetworkInterfaceRequest],
                          availability_zone: str | None, private_ip_address: str | None,
                          security_groups: Sequence[str], security_group_ids: Sequence[str]) -> VpcLaunch | None:
    """Where a launch goes: None for EC2-Classic (a Basic zone, no subnet), else the tier, address and groups.
    ZONE_NAMED(name) is RunInstances' own zone choice (Placement.AvailabilityZone, else the first zone)."""
    nic = _one_interface(interfaces) if interfaces else None
    public_ip: bool | None = None
    description = ""
    if nic is not None:
        for given, name in ((subnet_id, "subnet ID"), (private_ip_address, "private IP address"),
                            (security_group_ids or security_groups, "security groups")):
            if given:
                raise ERRORS["InvalidParameterCombination"](
                    detail=f"Network interfaces and an instance-level {name} may not be specified on the same "
                           f"request")
        subnet_id, private_ip_address = nic.subnet_id, _interface_address(nic)
        security_group_ids, public_ip, description = list(nic.groups), nic.associate_public_ip_address, \
            nic.description or ""
        if not subnet_id:
            raise ERRORS["MissingParameter"](name="NetworkInterface.1.SubnetId")
    if subnet_id:
        tier = await cs_subnet(ctx, subnet_id)
        zones = {str(z.get("name", "")).lower(): z for z in await ctx.cloud.list_zones(available=True)}
        zone = next((z for z in zones.values() if z["id"] == tier.get("zoneid")), None)
        if zone is None:
            raise ERRORS["InvalidSubnetID.NotFound"](subnet_id=subnet_id)
        if availability_zone and availability_zone.lower() != str(zone.get("name", "")).lower():
            if availability_zone.lower() not in zones:
                raise ERRORS["InvalidZone.NotFound"](zone=availability_zone)
            raise _bad(f"The subnet {subnet_id} is in availability zone {zone.get('name')}, not in "
                       f"{availability_zone} (Placement.AvailabilityZone)")
        if security_groups:
            raise ERRORS["InvalidParameterCombination"](
                detail="The parameter groupName cannot be used with the parameter subnet")
    else:
        zone = await zone_named(availability_zone)
        if not is_advanced(zone):
            return None
        made = await ensure_default(ctx, zone)
        if made is None:
            raise ERRORS["VPCIdNotSpecified"]()
        if made[1] is None:
            raise _bad(f"No subnets found for the default VPC '{await ctx.ids.to_ec2('vpc', made[0]['id'])}'. "
                       f"Please specify a subnet.")
        tier = made[1]
        subnet_id = await ctx.ids.to_ec2("subnet", tier["id"])
    if private_ip_address:
        _check_address(private_ip_address, tier, subnet_id)
    groups = await _groups(ctx, tier["vpcid"], security_groups, security_group_ids)
    return VpcLaunch(zone=zone, tier=tier, groups=groups, private_ip=private_ip_address or None,
                     public_ip=is_default_subnet(tier) if public_ip is None else public_ip,
                     description=description)


async def _new_address(ctx: RequestContext, vpc_cs_id: str) -> dict:
    try:
        address = await ctx.cloud.associate_ip_address(vpcid=vpc_cs_id)
        if address.get("issourcenat"):
            # A VPC's first address is its source NAT one, which no static NAT can use: it stays the VPC's.
            address = await ctx.cloud.associate_ip_address(vpcid=vpc_cs_id)
    except CloudStackApiError as exc:
        if exc.errorcode == 535:
            raise ERRORS["AddressLimitExceeded"]() from None
        if exc.errorcode == 533:
            raise ERRORS["InsufficientAddressCapacity"]() from None
        raise
    return address


async def reserve_addresses(ctx: RequestContext, launch: VpcLaunch, count: int) -> list[dict]:
    """The public addresses COUNT instances will get (none unless the launch asks), allocated before anything
    is deployed so that a cloud out of addresses refuses the launch instead of half-doing it."""
    out: list[dict] = []
    if not launch.public_ip:
        return out
    try:
        for _ in range(count):
            out.append(await _new_address(ctx, launch.tier["vpcid"]))
    except BaseException:
        await release_addresses(ctx, out)
        raise
    return out


async def release_addresses(ctx: RequestContext, addresses: Sequence[dict]) -> None:
    for address in addresses:
        try:
            await ctx.cloud.disassociate_ip_address(id=address["id"])
        except CloudStackError as exc:
            log.warning("could not release unused public address %s: %s", address.get("id"), exc)


async def finish_vpc_launch(ctx: RequestContext, launch: VpcLaunch, vm_ids: Sequence[str],
                            addresses: Sequence[dict]) -> None:
    """Once the VMs exist: each interface's groups and description recorded, and its public address (from
    reserve_addresses) NATed to it; addresses left over (fewer instances launched) are released."""
    vms = {v["id"]: v for v in await ctx.cloud.list_virtual_machines(ids=list(vm_ids))} if vm_ids else {}
    account = await account_key(ctx) if ctx.objects is not None else ""
    spare = list(addresses)
    for vm_id in vm_ids:
        vm = vms.get(vm_id, {})
        nic = next((n for n in vm.get("nic") or () if n.get("networkid") == launch.tier["id"]), None)
        if nic is None:
            continue
        if ctx.objects is not None and (launch.groups or launch.description):
            await ctx.objects.create(ENI_KIND, account, {"groups": launch.groups, "description": launch.description,
                                                         "instance": vm_id},
                                     vpc=launch.tier["vpcid"], cs_id=nic["id"])
        if spare:
            address = spare.pop(0)
            await ctx.cloud.enable_static_nat(ipaddressid=address["id"], virtualmachineid=vm_id,
                                              networkid=launch.tier["id"])
            await tag_new(ctx, address["id"], "PublicIpAddress", [{"key": PUBLIC_IP_TAG, "value": vm_id}])
    await release_addresses(ctx, spare)


async def release_launch_resources(ctx: RequestContext, vm_ids: Sequence[str]) -> None:
    """At TerminateInstances of VPC instances (VM_IDS, their destroy started): the public address each was
    launched with is released (EC2 gives it back with the instance; an Elastic IP stays allocated), and the
    records of their interfaces go. A release that fails is logged, not the caller's error: the instance is
    terminated either way, and the address shows to CloudStack's operator as the account's."""
    doomed = set(vm_ids)
    if not doomed:
        return
    for address in await ctx.cloud.list_public_ip_addresses():
        owner = next((t.get("value") for t in address.get("tags") or () if t.get("key") == PUBLIC_IP_TAG), None)
        if owner in doomed:
            try:
                await ctx.cloud.begin_disassociate_ip_address(id=address["id"])
            except CloudStackError as exc:
                log.warning("request %s: could not release launch address %s of VM %s: %s", ctx.request_id,
                            address.get("id"), owner, exc)
    if ctx.objects is not None:
        for record in await ctx.objects.list(ENI_KIND, await account_key(ctx)):
            if record.data.get("instance") in doomed:
                await ctx.objects.delete(record, any_version=True)
