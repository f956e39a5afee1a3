"""Elastic IPs: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress, DescribeAddresses.

An Elastic IP is a CloudStack public IP address; associating it is static NAT onto a VM. Its allocation id
(eipalloc-) and association id (eipassoc-) both map to the address's uuid.

EC2-Classic ("standard"): an address of the zone, mapped onto an instance. EC2-VPC ("vpc"): a CloudStack address
tied to one VPC (associateIpAddress with vpcid), statically NATed onto an address of a network interface there
(enableStaticNat with the tier's networkid and vmguestip). CloudStack cannot move an address from one VPC to
another, so AllocateAddress Domain=vpc decides the VPC (vpc_for_new_address) and AssociateAddress refuses a
target in any other VPC, saying so. Core: no Twisted, Spyne, lxml, SQL.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.default_vpc import is_default_vpc
from ec2soap.core.filters import Filter, apply_filters
from ec2soap.core.internet_gateways import attached_gateway
from ec2soap.core.model import Tag, owner_id, tags_of
from ec2soap.core.network_interfaces import Nic, find_nic, launch_address, vpc_nics
from ec2soap.core.security_groups import caller_account
from ec2soap.core.volumes import check_new_tags, tag_new
from ec2soap.errors import ERRORS

__all__ = ["Address", "AllocatedAddress", "AssociatedAddress", "ADDRESS_FILTERS", "vpc_for_new_address",
           "mapped_public_ips", "OPERATIONS"]

# An address of no VPC behaves as an EC2-Classic one: it maps onto an instance, not onto a network interface.
DOMAIN = "standard"
VPC_DOMAIN = "vpc"


@dataclass
class Address:
    public_ip: str
    instance_id: str | None
    domain: str
    allocation_id: str
    association_id: str | None
    private_ip_address: str | None
    tags: list[Tag] = field(default_factory=list)
    network_interface_id: str | None = None
    network_interface_owner_id: str | None = None
    cs_id: str = ""


@dataclass
class AllocatedAddress:
    public_ip: str
    domain: str
    allocation_id: str


@dataclass
class AssociatedAddress:
    association_id: str
    ok: bool = True


ADDRESS_FILTERS = {
    "public-ip": lambda a: a.public_ip,
    "instance-id": lambda a: a.instance_id,
    "allocation-id": lambda a: a.allocation_id,
    "association-id": lambda a: a.association_id,
    "domain": lambda a: a.domain,
    "private-ip-address": lambda a: a.private_ip_address,
    "network-interface-id": lambda a: a.network_interface_id,
    "network-interface-owner-id": lambda a: a.network_interface_owner_id,
}


def _elastic(cs: dict) -> bool:
    # CloudStack quirk: a network's source NAT address is listed with the account's addresses, but the account
    # never allocated it and can neither associate nor release it: it is no Elastic IP.
    return not cs.get("issourcenat") and not cs.get("issystem") and not launch_address(cs)


async def _to_addresses(ctx: RequestContext, cs_ips: list[dict]) -> list[Address]:
    allocations = await ctx.ids.to_ec2_many("allocation", [c["id"] for c in cs_ips])
    nated = [c for c in cs_ips if c.get("isstaticnat") and c.get("virtualmachineid")]
    instances = await ctx.ids.to_ec2_many("instance", [c["virtualmachineid"] for c in nated])
    associations = await ctx.ids.to_ec2_many("association", [c["id"] for c in nated])
    # A VPC address is NATed onto the VM's NIC on the tier it is associated with: that NIC is the interface.
    nics: dict[tuple[str, str], Nic] = {}
    if any(c.get("vpcid") for c in nated):
        nics = {(n.vm["id"], n.nic.get("networkid", "")): n for n in await vpc_nics(ctx)}
    enis = await ctx.ids.to_ec2_many("network-interface", [n.cs_id for n in nics.values()])
    out = []
    for cs in cs_ips:
        vm = cs.get("virtualmachineid") if cs.get("isstaticnat") else None
        nic = nics.get((vm, cs.get("associatednetworkid", ""))) if vm and cs.get("vpcid") else None
        out.append(Address(public_ip=cs["ipaddress"], instance_id=instances.get(vm) if vm else None,
                           domain=VPC_DOMAIN if cs.get("vpcid") else DOMAIN, allocation_id=allocations[cs["id"]],
                           association_id=associations.get(cs["id"]) if vm else None,
                           private_ip_address=cs.get("vmipaddress") if vm else None, tags=tags_of(cs),
                           network_interface_id=enis[nic.cs_id] if nic else None,
                           network_interface_owner_id=owner_id(nic.vm) if nic else None, cs_id=cs["id"]))
    return out


def _check_ip(value: str) -> None:
    """EC2 quirk: a PublicIp that is not an IP address at all is InvalidParameterValue, not NotFound."""
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Invalid value '{value}' for PublicIp: it is not an IP address.") from None


async def describe_addresses(ctx: RequestContext, public_ips: Sequence[str] = (),
                             allocation_ids: Sequence[str] = (), filters: Sequence[Filter] = ()) -> list[Address]:
    """DescribeAddresses → listPublicIpAddresses. Unknown PublicIp.N / AllocationId.N fail like EC2."""
    for ip in public_ips:
        _check_ip(ip)
    addresses = await _to_addresses(ctx, [c for c in await ctx.cloud.list_public_ip_addresses() if _elastic(c)])
    if public_ips or allocation_ids:
        by_ip = {a.public_ip: a for a in addresses}
        chosen: dict[str, Address] = {}
        for ip in public_ips:
            if ip not in by_ip:
                raise ERRORS["InvalidAddress.NotFound"](address=ip)
            chosen[by_ip[ip].cs_id] = by_ip[ip]
        for wanted in allocation_ids:
            cs_id = await ctx.ids.to_cloudstack("allocation", wanted)
            match = next((a for a in addresses if a.cs_id == cs_id), None)
            if match is None:
                raise ERRORS["InvalidAllocationID.NotFound"](allocation_id=wanted)
            chosen[match.cs_id] = match
        addresses = [a for a in addresses if a.cs_id in chosen]
    return apply_filters(ADDRESS_FILTERS, filters, addresses)


async def _zone_id(ctx: RequestContext) -> str:
    """The zone a new address comes from: the account's default zone, else the first available one."""
    zones = await ctx.cloud.list_zones(available=True)
    if not zones:
        raise ERRORS["InsufficientAddressCapacity"]()
    default = (await caller_account(ctx)).get("defaultzoneid")
    return next((z["id"] for z in zones if z["id"] == default), zones[0]["id"])


async def vpc_for_new_address(ctx: RequestContext) -> dict:
    """The CloudStack VPC an AllocateAddress Domain=vpc address is tied to (EC2's addresses belong to no VPC;
    CloudStack's belong to one for good). The first of: the caller's most recently created VPC of its own with an
    internet gateway attached (the only kind an Elastic IP can work in), its most recently created VPC (where
    AssociateAddress then says Gateway.NotAttached until one is attached), the default VPC (which has its
    gateway). A caller who made VPCs means them, not the default one. VPCIdNotSpecified when the caller has no
    VPC."""
    vpcs = [v for v in await ctx.cloud.list_vp_cs(listall=True) if v.get("state") != "Inactive"]
    if not vpcs:
        raise ERRORS["VPCIdNotSpecified"]()
    gateways = {v["id"]: await attached_gateway(ctx, v["id"]) is not None for v in vpcs}
    return max(vpcs, key=lambda v: (not is_default_vpc(v), gateways[v["id"]],
                                    str(v.get("created") or ""), v["id"]))


async def _associate(ctx: RequestContext, **params: Any) -> dict:
    try:
        return await ctx.cloud.associate_ip_address(**params)
    except CloudStackApiError as exc:
        if exc.errorcode == 535:
            raise ERRORS["AddressLimitExceeded"]() from None
        if exc.errorcode == 533:
            raise ERRORS["InsufficientAddressCapacity"]() from None
        raise


async def allocate_address(ctx: RequestContext, domain: str | None = None,
                           tags: Sequence[tuple[str, str | None]] = ()) -> AllocatedAddress:
    """AllocateAddress → associateIpAddress (waited for: the job is short and EC2 answers with the address),
    then createTags for TagSpecification (elastic-ip).

    Domain=vpc: associateIpAddress with the vpcid of vpc_for_new_address. CloudStack makes the first address of
    a VPC without one its source NAT address (which no static NAT can use; the VPC's router takes one anyway
    when it starts): that one stays the VPC's and a second is allocated for the caller."""
    if domain not in (None, "", DOMAIN, VPC_DOMAIN):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Invalid value '{domain}' for domain. Expected 'standard' or 'vpc'.")
    new_tags = check_new_tags(tags)
    if domain == VPC_DOMAIN:
        vpc = await vpc_for_new_address(ctx)
        cs = await _associate(ctx, vpcid=vpc["id"])
        if cs.get("issourcenat"):
            cs = await _associate(ctx, vpcid=vpc["id"])
    else:
        cs = await _associate(ctx, zoneid=await _zone_id(ctx))
    await tag_new(ctx, cs["id"], "PublicIpAddress", new_tags)
    return AllocatedAddress(public_ip=cs["ipaddress"], domain=VPC_DOMAIN if cs.get("vpcid") else DOMAIN,
                            allocation_id=await ctx.ids.to_ec2("allocation", cs["id"]))


async def _find(ctx: RequestContext, public_ip: str | None, allocation_id: str | None,
                association_id: str | None = None) -> dict:
    """The caller's address named by PublicIp, AllocationId or AssociationId (EC2's NotFound errors)."""
    if allocation_id or association_id:
        kind, value = ("allocation", allocation_id) if allocation_id else ("association", association_id)
        cs_id = await ctx.ids.to_cloudstack(kind, value)
        found = await _list(ctx, id=cs_id) if cs_id else []
        if not found or (association_id and not found[0].get("isstaticnat")):
            if allocation_id:
                raise ERRORS["InvalidAllocationID.NotFound"](allocation_id=allocation_id)
            raise ERRORS["InvalidAssociationID.NotFound"](association_id=association_id)
        return found[0]
    if public_ip:
        _check_ip(public_ip)
        found = [c for c in await _list(ctx, ipaddress=public_ip) if c.get("ipaddress") == public_ip]
        if not found:
            raise ERRORS["InvalidAddress.NotFound"](address=public_ip)
        return found[0]
    raise ERRORS["MissingParameter"](name="PublicIp or AllocationId")


async def _list(ctx: RequestContext, **params: Any) -> list[dict]:
    try:
        found = await ctx.cloud.list_public_ip_addresses(**params)
    except CloudStackApiError as exc:
        # An id that names nothing (or someone else's address) is refused rather than listed as empty.
        if exc.errorcode in (431, 531):
            return []
        raise
    return [c for c in found if _elastic(c)]


async def _vm(ctx: RequestContext, instance_id: str) -> dict:
    cs_id = await ctx.ids.to_cloudstack("instance", instance_id)
    if cs_id is None:
        raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id)
    try:
        found = await ctx.cloud.list_virtual_machines(id=cs_id)
    except CloudStackApiError as exc:
        if exc.errorcode not in (431, 531):
            raise
        found = []
    if not found or found[0].get("state") in ("Destroyed", "Expunging", "Expunged"):
        raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id)
    return found[0]


async def _disable_nat(ctx: RequestContext, cs_ip_id: str) -> None:
    try:
        await ctx.cloud.disable_static_nat(ipaddressid=cs_ip_id)
    except CloudStackApiError as exc:
        # Not associated (any more): what the caller wanted.
        if exc.errorcode != 431:
            raise


async def associate_address(ctx: RequestContext, instance_id: str | None = None, public_ip: str | None = None,
                            allocation_id: str | None = None, allow_reassociation: bool | None = None,
                            network_interface_id: str | None = None,
                            private_ip_address: str | None = None) -> AssociatedAddress:
    """AssociateAddress → enableStaticNat.

    EC2-Classic semantics for an address of no VPC: an address mapped to another instance moves (its static NAT
    is disabled first), and an instance that had another address loses it. Only an explicit
    AllowReassociation=false refuses to move. A VPC address: see _associate_in_vpc."""
    if not instance_id and not network_interface_id:
        raise ERRORS["MissingParameter"](name="InstanceId")
    ip = await _find(ctx, public_ip, allocation_id)
    if ip.get("vpcid"):
        return await _associate_in_vpc(ctx, ip, instance_id, network_interface_id, private_ip_address,
                                       allow_reassociation, allocation_id or public_ip or "")
    if network_interface_id or private_ip_address:
        raise ERRORS["InvalidParameterCombination"](
            detail=f"The address {ip['ipaddress']} is an EC2-Classic (standard) address: NetworkInterfaceId and "
                   f"PrivateIpAddress are for VPC addresses (AllocateAddress Domain=vpc)")
    vm_doc = await _vm(ctx, str(instance_id))
    vm = vm_doc["id"]
    if any(n.get("vpcid") for n in vm_doc.get("nic") or ()):
        raise ERRORS["InvalidParameterCombination"](
            detail=f"The address {ip['ipaddress']} is an EC2-Classic (standard) address and {instance_id} is in a "
                   f"VPC: allocate a VPC address (AllocateAddress Domain=vpc) for it")
    association = await ctx.ids.to_ec2("association", ip["id"])
    current = ip.get("virtualmachineid") if ip.get("isstaticnat") else None
    if current == vm:
        return AssociatedAddress(association)
    if current and allow_reassociation is False:
        raise ERRORS["Resource.AlreadyAssociated"](address=allocation_id or public_ip, association_id=association)
    if current:
        await _disable_nat(ctx, ip["id"])
    for other in await _list(ctx, isstaticnat=True):
        if other.get("virtualmachineid") == vm and other["id"] != ip["id"]:
            await _disable_nat(ctx, other["id"])
    await _enable_nat(ctx, ip, str(instance_id), virtualmachineid=vm)
    return AssociatedAddress(association)


async def _enable_nat(ctx: RequestContext, ip: dict, target: str, **params: Any) -> None:
    try:
        await ctx.cloud.enable_static_nat(ipaddressid=ip["id"], **params)
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "Allocated state" in exc.errortext:
            raise ERRORS["IncorrectState"](detail=f"The address {ip['ipaddress']} is still being allocated") \
                from None
        if exc.errorcode in (431, 531) and "virtual machine" in exc.errortext:
            raise ERRORS["InvalidInstanceID.NotFound"](instance_id=target) from None
        raise


async def _target_nic(ctx: RequestContext, instance_id: str | None, eni_id: str | None) -> Nic:
    """The interface a VPC address goes to: NetworkInterfaceId's, or the instance's only VPC interface."""
    if instance_id and eni_id:
        raise ERRORS["InvalidParameterCombination"](
            detail="Specify either InstanceId or NetworkInterfaceId, not both")
    if eni_id:
        return await find_nic(ctx, eni_id)
    vm = await _vm(ctx, str(instance_id))
    nics = await vpc_nics(ctx, id=vm["id"])
    if not nics:
        raise ERRORS["InvalidParameterCombination"](
            detail=f"The instance {instance_id} is in no VPC: a VPC address can only be associated with an "
                   f"instance or network interface in its VPC")
    if len(nics) > 1:
        raise ERRORS["InvalidInstanceID"](
            detail=f"There are multiple interfaces attached to instance '{instance_id}'. Please specify an "
                   f"interface ID for the operation instead.")
    return nics[0]


async def _associate_in_vpc(ctx: RequestContext, ip: dict, instance_id: str | None, eni_id: str | None,
                            private_ip: str | None, allow_reassociation: bool | None, named: str) -> AssociatedAddress:
    """A VPC address → enableStaticNat(ipaddressid, virtualmachineid, networkid of the interface's tier,
    vmguestip when the private address is a secondary one). EC2-VPC semantics: the VPC needs an internet gateway
    (Gateway.NotAttached), an address associated elsewhere moves only with AllowReassociation=true, and an
    address already on the target private address is disassociated from it first (released when it is the
    public address the instance was launched with)."""
    nic = await _target_nic(ctx, instance_id, eni_id)
    target = eni_id or instance_id or ""
    private = private_ip or nic.primary_ip
    if private != nic.primary_ip and private not in nic.secondary:
        raise ERRORS["InvalidParameterValue"](
            detail=f"The private address {private} is not assigned to interface "
                   f"{await ctx.ids.to_ec2('network-interface', nic.cs_id)}")
    vpc_id = await ctx.ids.to_ec2("vpc", ip["vpcid"])
    if nic.ec2.vpc_id != vpc_id:
        raise ERRORS["InvalidParameterValue"](
            detail=f"The address {ip['ipaddress']} belongs to {vpc_id} (a CloudStack public address stays in the "
                   f"VPC it was allocated for) and {target} is in {nic.ec2.vpc_id}")
    if await attached_gateway(ctx, ip["vpcid"]) is None:
        raise ERRORS["Gateway.NotAttached"](detail=f"Network {vpc_id} is not attached to any internet gateway")
    association = await ctx.ids.to_ec2("association", ip["id"])
    vm = nic.vm["id"]
    if ip.get("isstaticnat") and ip.get("virtualmachineid"):
        if (ip["virtualmachineid"], ip.get("vmipaddress")) == (vm, private):
            return AssociatedAddress(association)
        if not allow_reassociation:
            raise ERRORS["Resource.AlreadyAssociated"](address=named, association_id=association)
        await _disable_nat(ctx, ip["id"])
    for other in await ctx.cloud.list_public_ip_addresses(isstaticnat=True):
        if other.get("virtualmachineid") == vm and other.get("vmipaddress") == private and other["id"] != ip["id"]:
            await _disable_nat(ctx, other["id"])
            if launch_address(other):
                # EC2 releases the public address an instance was launched with when an Elastic IP replaces it.
                await ctx.cloud.disassociate_ip_address(id=other["id"])
    extra = {"vmguestip": private} if private != nic.primary_ip else {}
    await _enable_nat(ctx, ip, instance_id or str(eni_id), virtualmachineid=vm,
                      networkid=str(nic.nic.get("networkid")), **extra)
    return AssociatedAddress(association)


async def disassociate_address(ctx: RequestContext, public_ip: str | None = None,
                               association_id: str | None = None) -> bool:
    """DisassociateAddress → disableStaticNat (waited for). An address that is not associated stays so."""
    ip = await _find(ctx, public_ip, None, association_id)
    if ip.get("isstaticnat"):
        await _disable_nat(ctx, ip["id"])
    return True


async def release_address(ctx: RequestContext, public_ip: str | None = None,
                          allocation_id: str | None = None) -> bool:
    """ReleaseAddress → disassociateIpAddress (waited for; CloudStack drops the static NAT with it). A VPC
    address still associated is InvalidIPAddress.InUse, as EC2-VPC answers."""
    ip = await _find(ctx, public_ip, allocation_id)
    if ip.get("vpcid") and ip.get("isstaticnat"):
        # EC2-VPC: an associated address must be disassociated before it is released.
        raise ERRORS["InvalidIPAddress.InUse"](address=ip["ipaddress"])
    try:
        await ctx.cloud.disassociate_ip_address(id=ip["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "source nat" in exc.errortext.lower():
            raise ERRORS["InvalidIPAddress.InUse"](address=ip["ipaddress"]) from None
        raise
    return True


async def mapped_public_ips(ctx: RequestContext, vpc_cs_id: str) -> list[str]:
    """The Elastic IPs of the CloudStack VPC VPC_CS_ID statically NATed onto an instance (EC2 answers
    DetachInternetGateway with DependencyViolation while there is any)."""
    return [c["ipaddress"] for c in await _list(ctx, vpcid=vpc_cs_id, isstaticnat=True)
            if c.get("vpcid") == vpc_cs_id and c.get("virtualmachineid")]


OPERATIONS: dict[str, Any] = {
    "DescribeAddresses": describe_addresses,
    "AllocateAddress": allocate_address,
    "AssociateAddress": associate_address,
    "DisassociateAddress": disassociate_address,
    "ReleaseAddress": release_address,
}
