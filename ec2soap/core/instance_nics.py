"""The network interfaces of instances in a VPC, as DescribeInstances shows them: a CloudStack NIC on a VPC tier
is an EC2 network interface (eni- id from the NIC uuid), its tier the subnet, the tier's VPC the VPC. CloudStack
puts no security group on a VPC tier's NIC, so the EC2 groups an interface was launched with are the gateway's
own record (ctx.objects kind "eni", keyed by the NIC uuid: data {"groups": [sg record ids], "description"}).
Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.model import caller_account, parse_cs_date

__all__ = ["NicAttachment", "NicAssociation", "NicPrivateIp", "NicGroup", "InstanceNic", "ENI_KIND", "SG_KIND",
           "vpc_nics", "account_key"]

ENI_KIND = "eni"   # ctx.objects: the groups and description of a VPC instance's interface
SG_KIND = "sg"     # ctx.objects: VPC security groups (owned by the security-group helper)


@dataclass(frozen=True)
class NicGroup:
    group_id: str
    group_name: str


@dataclass(frozen=True)
class NicAttachment:
    attachment_id: str
    device_index: int
    status: str = "attached"
    attach_time: datetime | None = None
    delete_on_termination: bool = True


@dataclass(frozen=True)
class NicAssociation:
    public_ip: str
    ip_owner_id: str
    public_dns_name: str = ""


@dataclass(frozen=True)
class NicPrivateIp:
    private_ip_address: str
    primary: bool
    private_dns_name: str | None = None
    association: NicAssociation | None = None


@dataclass
class InstanceNic:
    network_interface_id: str
    subnet_id: str
    vpc_id: str
    owner_id: str
    private_ip_address: str
    mac_address: str
    attachment: NicAttachment
    status: str = "in-use"
    description: str = ""
    private_dns_name: str = ""
    source_dest_check: bool = True
    groups: list[NicGroup] = field(default_factory=list)
    association: NicAssociation | None = None
    private_ip_addresses: list[NicPrivateIp] = field(default_factory=list)
    cs_id: str = ""
    device_index: int = 0


async def account_key(ctx: RequestContext) -> str:
    """The key ctx.objects keeps the caller's records under: their CloudStack account uuid."""
    return str((await caller_account(ctx)).get("id") or "")


def _vpc_of(nic: dict, tier_vpcs: dict[str, str]) -> str | None:
    return nic.get("vpcid") or tier_vpcs.get(str(nic.get("networkid") or ""))


async def vpc_nics(ctx: RequestContext, vms: Sequence[dict]) -> dict[str, list[InstanceNic]]:
    """VM uuid → its interfaces on VPC tiers (device order), for the VMS that have any; {} without a call when
    none has a NIC on an isolated network."""
    candidates = [(vm, nic) for vm in vms for nic in vm.get("nic") or ()
                  if nic.get("vpcid") or str(nic.get("type", "")).lower() == "isolated"]
    if not candidates:
        return {}
    tier_vpcs: dict[str, str] = {}
    if any(not nic.get("vpcid") for _vm, nic in candidates):
        # A NIC that does not name its VPC: the tier does (listNetworks).
        tier_vpcs = {n["id"]: n["vpcid"] for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid")}
    mine = [(vm, nic) for vm, nic in candidates if _vpc_of(nic, tier_vpcs)]
    if not mine:
        return {}
    eni_ids = await ctx.ids.to_ec2_many("network-interface", [n["id"] for _v, n in mine])
    subnet_ids = await ctx.ids.to_ec2_many("subnet", list({n["networkid"] for _v, n in mine}))
    vpc_ids = await ctx.ids.to_ec2_many("vpc", list({_vpc_of(n, tier_vpcs) for _v, n in mine}))
    records: dict[str, dict] = {}
    groups: dict[str, NicGroup] = {}
    if ctx.objects is not None:
        account = await account_key(ctx)
        records = {r.cs_id: r.data for r in await ctx.objects.list(ENI_KIND, account,
                                                                  cs_ids=[n["id"] for _v, n in mine])}
        wanted = list({g for data in records.values() for g in data.get("groups") or ()})
        if wanted:
            sg_ids = await ctx.ids.to_ec2_many("security-group", wanted)
            for record in await ctx.objects.list(SG_KIND, account, cs_ids=wanted):
                groups[record.cs_id] = NicGroup(sg_ids[record.cs_id], str(record.data.get("name", "")))
    out: dict[str, list[InstanceNic]] = {}
    for vm, nic in mine:
        eni = eni_ids[nic["id"]]
        public_ip = vm.get("publicip") if nic.get("isdefault") else None
        owner = str(vm.get("accountid") or vm.get("account") or "")
        association = NicAssociation(public_ip, owner) if public_ip else None
        data = records.get(nic["id"], {})
        index = int(nic.get("deviceid") or 0)
        primary = str(nic.get("ipaddress") or "")
        dns_name = str(vm.get("name") or "") or None
        addresses = [NicPrivateIp(primary, True, dns_name, association)] + [
            NicPrivateIp(str(s.get("ipaddress")), False) for s in nic.get("secondaryip") or () if s.get("ipaddress")]
        out.setdefault(vm["id"], []).append(InstanceNic(
            network_interface_id=eni, subnet_id=subnet_ids[nic["networkid"]],
            vpc_id=vpc_ids[_vpc_of(nic, tier_vpcs)], owner_id=owner, private_ip_address=primary,
            mac_address=str(nic.get("macaddress") or ""),
            attachment=NicAttachment(f"eni-attach-{eni.split('-', 1)[-1]}", index,
                                     attach_time=parse_cs_date(vm.get("created"))),
            description=str(data.get("description") or ""), private_dns_name=dns_name or "",
            groups=[groups[g] for g in data.get("groups") or () if g in groups],
            association=association, private_ip_addresses=addresses, cs_id=nic["id"], device_index=index))
    for nics in out.values():
        nics.sort(key=lambda n: n.device_index)
    return out
