"""Elastic IPs: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress, DescribeAddresses.

An Elastic IP is a CloudStack public IP address; associating it is static NAT onto a VM. Its allocation id
(eipalloc-) and association id (eipassoc-) both map to the address's uuid. Core: no Twisted, Spyne, lxml, SQL.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters
from ec2soap.core.model import Tag, tags_of
from ec2soap.core.security_groups import caller_account
from ec2soap.core.volumes import check_new_tags, tag_new
from ec2soap.errors import ERRORS

__all__ = ["Address", "AllocatedAddress", "AssociatedAddress", "ADDRESS_FILTERS", "OPERATIONS"]

# Every address here behaves as an EC2-Classic one: it maps onto an instance, not onto a network interface.
DOMAIN = "standard"


@dataclass
class Address:
    public_ip: str
    instance_id: str | None
    domain: str
    allocation_id: str
    association_id: str | None
    private_ip_address: str | None
    tags: list[Tag] = field(default_factory=list)
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
}


def _elastic(cs: dict) -> bool:
    # CloudStack quirk: a network's source NAT address is listed with the account's addresses, but the account
    # never allocated it and can neither associate nor release it: it is no Elastic IP.
    return not cs.get("issourcenat") and not cs.get("issystem")


async def _to_addresses(ctx: RequestContext, cs_ips: list[dict]) -> list[Address]:
    allocations = await ctx.ids.to_ec2_many("allocation", [c["id"] for c in cs_ips])
    nated = [c for c in cs_ips if c.get("isstaticnat") and c.get("virtualmachineid")]
    instances = await ctx.ids.to_ec2_many("instance", [c["virtualmachineid"] for c in nated])
    associations = await ctx.ids.to_ec2_many("association", [c["id"] for c in nated])
    out = []
    for cs in cs_ips:
        vm = cs.get("virtualmachineid") if cs.get("isstaticnat") else None
        out.append(Address(public_ip=cs["ipaddress"], instance_id=instances.get(vm) if vm else None,
                           domain=DOMAIN, allocation_id=allocations[cs["id"]],
                           association_id=associations.get(cs["id"]) if vm else None,
                           private_ip_address=cs.get("vmipaddress") if vm else None, tags=tags_of(cs),
                           cs_id=cs["id"]))
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


async def allocate_address(ctx: RequestContext, domain: str | None = None,
                           tags: Sequence[tuple[str, str | None]] = ()) -> AllocatedAddress:
    """AllocateAddress → associateIpAddress (waited for: the job is short and EC2 answers with the address),
    then createTags for TagSpecification (elastic-ip).

    Domain=vpc is accepted and answered as a standard address: the allocation id works for every later call,
    so scripts written for VPC addresses run unchanged."""
    if domain not in (None, "", "standard", "vpc"):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Invalid value '{domain}' for domain. Expected 'standard' or 'vpc'.")
    new_tags = check_new_tags(tags)
    zone = await _zone_id(ctx)
    try:
        cs = await ctx.cloud.associate_ip_address(zoneid=zone)
    except CloudStackApiError as exc:
        if exc.errorcode == 535:
            raise ERRORS["AddressLimitExceeded"]() from None
        if exc.errorcode == 533:
            raise ERRORS["InsufficientAddressCapacity"]() from None
        raise
    await tag_new(ctx, cs["id"], "PublicIpAddress", new_tags)
    return AllocatedAddress(public_ip=cs["ipaddress"], domain=DOMAIN,
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


async def _vm_uuid(ctx: RequestContext, instance_id: str) -> str:
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
    return cs_id


async def _disable_nat(ctx: RequestContext, cs_ip_id: str) -> None:
    try:
        await ctx.cloud.disable_static_nat(ipaddressid=cs_ip_id)
    except CloudStackApiError as exc:
        # Not associated (any more): what the caller wanted.
        if exc.errorcode != 431:
            raise


async def associate_address(ctx: RequestContext, instance_id: str, public_ip: str | None = None,
                            allocation_id: str | None = None,
                            allow_reassociation: bool | None = None) -> AssociatedAddress:
    """AssociateAddress → enableStaticNat.

    EC2-Classic semantics: an address mapped to another instance moves (its static NAT is disabled first), and
    an instance that had another address loses it. Only an explicit AllowReassociation=false refuses to move."""
    ip = await _find(ctx, public_ip, allocation_id)
    vm = await _vm_uuid(ctx, instance_id)
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
    try:
        await ctx.cloud.enable_static_nat(ipaddressid=ip["id"], virtualmachineid=vm)
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "Allocated state" in exc.errortext:
            raise ERRORS["IncorrectState"](detail=f"The address {ip['ipaddress']} is still being allocated") \
                from None
        if exc.errorcode in (431, 531) and "virtual machine" in exc.errortext:
            raise ERRORS["InvalidInstanceID.NotFound"](instance_id=instance_id) from None
        raise
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
    """ReleaseAddress → disassociateIpAddress (waited for; CloudStack drops the static NAT with it)."""
    ip = await _find(ctx, public_ip, allocation_id)
    try:
        await ctx.cloud.disassociate_ip_address(id=ip["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "source nat" in exc.errortext.lower():
            raise ERRORS["InvalidIPAddress.InUse"](address=ip["ipaddress"]) from None
        raise
    return True


OPERATIONS: dict[str, Any] = {
    "DescribeAddresses": describe_addresses,
    "AllocateAddress": allocate_address,
    "AssociateAddress": associate_address,
    "DisassociateAddress": disassociate_address,
    "ReleaseAddress": release_address,
}
