"""EC2-VPC network ACLs (issue 12): Create/Delete/DescribeNetworkAcls, Create/Replace/DeleteNetworkAclEntry,
ReplaceNetworkAclAssociation, over CloudStack ACL lists and items. Core: no Twisted, Spyne, lxml or SQL here.

How EC2's model maps onto CloudStack's (4.18: NetworkACLServiceImpl, SetNetworkACLCommand, the VR's configure.py):
- A network ACL is a CloudStack ACL list of the VPC (acl- ids); a subnet's association is its tier's `aclid`.
- Entries are evaluated lowest number first, first match wins, on both clouds. CloudStack's item numbers are unique
  per list across both directions, while EC2's are per direction (ingress 100 and egress 100 coexist), so the
  CloudStack number is 2 x RuleNumber for ingress and 2 x RuleNumber + 1 for egress: each direction keeps its
  order, and RuleNumber is the CloudStack number // 2.
- EC2's final `*` entries (32767, deny) are real items in every list the gateway makes: the VR drops unmatched
  ingress by itself but lets unmatched egress through, so the egress deny must be an item to be true.
- CloudStack's own default lists (default_allow, default_deny) are global and cannot be edited, so each VPC gets
  its own default ACL on first need (`default_acl_id`), with EC2's entries: allow all at 100 both ways, then the
  final denies. A tier still on the global default_allow (equivalent: allow everything) is shown associated with
  its VPC's default ACL, and is moved onto it before that ACL's entries change, so what is shown stays enforced.
"""
from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import Tag, caller_account, owner_id
from ec2soap.core.tag_specs import refuse_tags
from ec2soap.core.volumes import check_new_tags
from ec2soap.errors import ERRORS

__all__ = ["NetworkAcl", "NetworkAclEntry", "NetworkAclAssociation", "NetworkAclPage", "CreatedNetworkAcl",
           "IcmpTypeCode", "PortRange", "NETWORK_ACL_FILTERS", "OPERATIONS", "default_acl_id", "vpc_acls", "forget_vpc",
           "TAG_TYPE", "caller_list", "caller_list_ids"]

_DEFAULT_NAME = "ec2_default"  # the name of each VPC's own default ACL list
_ACL_NAME = "ec2_acl"
_GLOBAL_ALLOW = "default_allow"
_LAST = 32767  # EC2's `*` entry
_TOKEN = " client-token:"
TAG_TYPE = "network-acl"  # the ctx.tags resource type of the tags the gateway keeps on ACL lists
_ASSOCIATIONS = uuid.UUID("6c0c5d4e-9a55-4a9b-9d61-4f3c1a6e2b7d")  # uuid5 namespace of aclassoc- ids
# CloudStack protocol → the number EC2 shows; EC2's spellings → CloudStack's.
_SHOWN = {"all": "-1", "tcp": "6", "udp": "17", "icmp": "1"}
_CS_PROTOCOL = {"-1": "all", "all": "all", "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp", "1": "icmp",
                "icmp": "icmp"}


@dataclass
class IcmpTypeCode:
    code: int
    type: int


@dataclass
class PortRange:
    from_port: int
    to_port: int


@dataclass
class NetworkAclEntry:
    rule_number: int
    protocol: str
    rule_action: str
    egress: bool
    cidr_block: str
    icmp_type_code: IcmpTypeCode | None = None
    port_range: PortRange | None = None


@dataclass
class NetworkAclAssociation:
    network_acl_association_id: str
    network_acl_id: str
    subnet_id: str


@dataclass
class NetworkAcl:
    network_acl_id: str
    vpc_id: str
    is_default: bool
    entries: list[NetworkAclEntry] = field(default_factory=list)
    associations: list[NetworkAclAssociation] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    owner_id: str = ""
    cs_id: str = ""

    @property
    def tag_set(self) -> list[Tag]:
        return self.tags


@dataclass
class NetworkAclPage:
    network_acls: list[NetworkAcl]
    next_token: str | None = None


@dataclass
class CreatedNetworkAcl:
    network_acl: NetworkAcl
    client_token: str | None = None


@dataclass
class NewAssociation:
    new_association_id: str


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _entries(acl: NetworkAcl, what: str) -> list[Any]:
    out: list[Any] = []
    for e in acl.entries:
        value = {"cidr": e.cidr_block, "egress": _flag(e.egress), "protocol": e.protocol,
                 "rule-action": e.rule_action, "rule-number": str(e.rule_number),
                 "icmp.code": str(e.icmp_type_code.code) if e.icmp_type_code else None,
                 "icmp.type": str(e.icmp_type_code.type) if e.icmp_type_code else None,
                 "port-range.from": str(e.port_range.from_port) if e.port_range else None,
                 "port-range.to": str(e.port_range.to_port) if e.port_range else None}[what]
        if value is not None:
            out.append(value)
    return out


NETWORK_ACL_FILTERS: dict[str, Any] = {
    "network-acl-id": lambda a: a.network_acl_id,
    "vpc-id": lambda a: a.vpc_id,
    "default": lambda a: _flag(a.is_default),
    "owner-id": lambda a: a.owner_id,
    "association.association-id": lambda a: [s.network_acl_association_id for s in a.associations],
    "association.network-acl-id": lambda a: [s.network_acl_id for s in a.associations],
    "association.subnet-id": lambda a: [s.subnet_id for s in a.associations],
    **{f"entry.{what}": (lambda w: lambda a: _entries(a, w))(what) for what in (
        "cidr", "egress", "protocol", "rule-action", "rule-number", "icmp.code", "icmp.type", "port-range.from",
        "port-range.to")},
}


# -- reading CloudStack ------------------------------------------------------------------------------------------

def _cs_number(rule_number: int, egress: bool) -> int:
    return 2 * rule_number + (1 if egress else 0)


def _entry_of(item: dict) -> NetworkAclEntry:
    protocol = str(item.get("protocol", "")).lower()
    icmp = ports = None
    if protocol == "icmp":
        icmp = IcmpTypeCode(code=int(item.get("icmpcode", -1)), type=int(item.get("icmptype", -1)))
    elif protocol in ("tcp", "udp") and item.get("startport") is not None:
        ports = PortRange(int(item["startport"]), int(item.get("endport", item["startport"])))
    cidrs = [c.strip() for c in str(item.get("cidrlist") or "0.0.0.0/0").split(",") if c.strip()]
    return NetworkAclEntry(
        rule_number=int(item.get("number", 0)) // 2, protocol=_SHOWN.get(protocol, protocol),
        rule_action=str(item.get("action", "allow")).lower(), egress=item.get("traffictype") == "Egress",
        cidr_block=cidrs[0] if cidrs else "0.0.0.0/0", icmp_type_code=icmp, port_range=ports)


def _items_of(items: list[dict]) -> list[dict]:
    """One list's items, each of several CIDRs split into one per CIDR (EC2's entry has one)."""
    out = []
    for item in sorted(items, key=lambda i: int(i.get("number", 0))):
        for cidr in str(item.get("cidrlist") or "0.0.0.0/0").split(","):
            out.append(dict(item, cidrlist=cidr.strip()))
    return out


async def _my_vpcs(ctx: RequestContext) -> dict[str, dict]:
    return {v["id"]: v for v in await ctx.cloud.list_vp_cs(listall=True)}


async def _my_lists(ctx: RequestContext, vpcs: dict[str, dict], vpc_cs_id: str | None = None) -> list[dict]:
    lists = await ctx.cloud.list_network_acl_lists(listall=True, **({"vpcid": vpc_cs_id} if vpc_cs_id else {}))
    return [a for a in lists if a.get("vpcid") in vpcs]


def _default_of(lists: list[dict], vpc_cs_id: str) -> dict | None:
    # Two requests may make a VPC's default at once: the smallest uuid is the one, whoever made it.
    mine = sorted((a for a in lists if a.get("vpcid") == vpc_cs_id and a.get("name") == _DEFAULT_NAME),
                  key=lambda a: a["id"])
    return mine[0] if mine else None


async def _add_item(ctx: RequestContext, acl_cs_id: str, number: int, egress: bool, action: str, protocol: str,
                    cidr: str, ports: PortRange | None = None, icmp: IcmpTypeCode | None = None) -> None:
    params: dict[str, Any] = {}
    if ports is not None:
        params.update(startport=ports.from_port, endport=ports.to_port)
    if icmp is not None:
        params.update(icmptype=icmp.type, icmpcode=icmp.code)
    await ctx.cloud.create_network_acl(aclid=acl_cs_id, number=_cs_number(number, egress), protocol=protocol,
                                       action=action, traffictype="Egress" if egress else "Ingress",
                                       cidrlist=[cidr], **params)


async def _new_list(ctx: RequestContext, vpc_cs_id: str, name: str, description: str) -> dict:
    acl = await ctx.cloud.create_network_acl_list(name=name, description=description, vpcid=vpc_cs_id)
    for egress in (False, True):
        await _add_item(ctx, acl["id"], _LAST, egress, "Deny", "all", "0.0.0.0/0")
    return acl


async def default_acl_id(ctx: RequestContext, vpc: dict | str) -> str:
    """The CloudStack uuid of VPC's default network ACL list (VPC: its listVPCs dict or uuid), made on first
    need with EC2's default entries (allow all at 100 in and out, then the final denies). For createNetwork's
    aclid (CreateSubnet) and for DescribeNetworkAcls."""
    vpc_cs_id = vpc if isinstance(vpc, str) else vpc["id"]
    lists = await ctx.cloud.list_network_acl_lists(vpcid=vpc_cs_id, name=_DEFAULT_NAME)
    found = _default_of(lists, vpc_cs_id)
    if found is not None:
        return found["id"]
    made = await _new_list(ctx, vpc_cs_id, _DEFAULT_NAME, "EC2 default network ACL")
    for egress in (False, True):
        await _add_item(ctx, made["id"], 100, egress, "Allow", "all", "0.0.0.0/0")
    chosen = _default_of(await ctx.cloud.list_network_acl_lists(vpcid=vpc_cs_id, name=_DEFAULT_NAME), vpc_cs_id)
    if chosen is not None and chosen["id"] != made["id"]:
        await ctx.cloud.delete_network_acl_list(id=made["id"])  # another request's default won
        return chosen["id"]
    return made["id"]


async def _global_allow(ctx: RequestContext) -> str | None:
    found = [a for a in await ctx.cloud.list_network_acl_lists(name=_GLOBAL_ALLOW) if not a.get("vpcid")]
    return found[0]["id"] if found else None


async def vpc_acls(ctx: RequestContext, vpc_cs_id: str) -> tuple[list[str], list[str]]:
    """(the acl- ids that keep DeleteVpc from going ahead: every network ACL but the VPC's default, as in EC2;
    the CloudStack uuids of all the VPC's lists, whose tags forget_vpc drops once the VPC is gone)."""
    lists = [a for a in await ctx.cloud.list_network_acl_lists(vpcid=vpc_cs_id, listall=True)
             if a.get("vpcid") == vpc_cs_id]
    default = _default_of(lists, vpc_cs_id)
    others = [a["id"] for a in lists if default is None or a["id"] != default["id"]]
    ids = await ctx.ids.to_ec2_many("network-acl", others) if others else {}
    return [ids[i] for i in others], [a["id"] for a in lists]


async def forget_vpc(ctx: RequestContext, acl_cs_ids: Sequence[str]) -> None:
    """The tags the gateway kept on ACL_CS_IDS (a deleted VPC's lists, which CloudStack deleted with it)."""
    if ctx.tags is not None and acl_cs_ids:
        account = await _account(ctx)
        for cs_id in acl_cs_ids:
            await ctx.tags.remove(account, TAG_TYPE, cs_id)


async def _association_id(ctx: RequestContext, tier_cs_id: str, acl_cs_id: str) -> str:
    return await ctx.ids.to_ec2("network-acl-association", str(uuid.uuid5(_ASSOCIATIONS, f"{tier_cs_id}/{acl_cs_id}")))


async def _build(ctx: RequestContext, vpcs: dict[str, dict], lists: list[dict]) -> list[NetworkAcl]:
    """NetworkAcls of LISTS: their entries, the subnets associated, their tags."""
    if not lists:
        return []
    wanted = {a["id"] for a in lists}
    items: dict[str, list[dict]] = {}
    for item in await ctx.cloud.list_network_ac_ls(listall=True):
        if item.get("aclid") in wanted:
            items.setdefault(item["aclid"], []).append(item)
    defaults = {v: d["id"] for v in vpcs if (d := _default_of(lists, v)) is not None}
    allow = await _global_allow(ctx)
    tiers = [n for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid") in vpcs]
    acl_ids = await ctx.ids.to_ec2_many("network-acl", list(wanted))
    subnet_ids = await ctx.ids.to_ec2_many("subnet", [t["id"] for t in tiers]) if tiers else {}
    vpc_ids = await ctx.ids.to_ec2_many("vpc", list({a["vpcid"] for a in lists}))
    associations: dict[str, list[NetworkAclAssociation]] = {}
    for tier in tiers:
        shown = defaults.get(tier["vpcid"]) if allow is not None and tier.get("aclid") == allow else tier.get("aclid")
        if shown in wanted:
            associations.setdefault(shown, []).append(NetworkAclAssociation(
                await _association_id(ctx, tier["id"], shown), acl_ids[shown], subnet_ids[tier["id"]]))
    tags: dict[str, list[Tag]] = {}
    if ctx.tags is not None:
        for _type, cs_id, key, value in await ctx.tags.list(await _account(ctx), TAG_TYPE, sorted(wanted)):
            tags.setdefault(cs_id, []).append(Tag(key, value))
    out = []
    for a in lists:
        entries = [_entry_of(i) for i in _items_of(items.get(a["id"], []))]
        entries.sort(key=lambda e: (e.egress, e.rule_number))
        out.append(NetworkAcl(network_acl_id=acl_ids[a["id"]], vpc_id=vpc_ids[a["vpcid"]],
                              is_default=defaults.get(a["vpcid"]) == a["id"], entries=entries,
                              associations=associations.get(a["id"], []), tags=tags.get(a["id"], []),
                              owner_id=owner_id(vpcs[a["vpcid"]]), cs_id=a["id"]))
    return out


async def _account(ctx: RequestContext) -> str:
    return str((await caller_account(ctx)).get("id") or "")


async def caller_list_ids(ctx: RequestContext) -> set[str]:
    """The uuids of the ACL lists of the caller's VPCs (what DescribeNetworkAcls can show)."""
    return {a["id"] for a in await _my_lists(ctx, await _my_vpcs(ctx))}


async def caller_list(ctx: RequestContext, cs_id: str) -> dict | None:
    """The caller's ACL list (of one of their VPCs) with uuid CS_ID, or None."""
    return (await _find_list(ctx, cs_id))[0]


async def _find_list(ctx: RequestContext, cs_id: str | None) -> tuple[dict | None, dict[str, dict]]:
    vpcs = await _my_vpcs(ctx)
    found = [a for a in await _my_lists(ctx, vpcs) if a["id"] == cs_id] if cs_id else []
    return (found[0] if found else None), vpcs


async def _find(ctx: RequestContext, acl_id: str) -> tuple[dict, dict[str, dict]]:
    """The caller's ACL list named by ACL_ID, and the caller's VPCs; InvalidNetworkAclID.NotFound."""
    cs_id = await ctx.ids.to_cloudstack("network-acl", acl_id) if acl_id else None
    if cs_id is None:
        raise ERRORS["InvalidNetworkAclID.NotFound"](acl_id=acl_id)
    found, vpcs = await _find_list(ctx, cs_id)
    if found is None:
        raise ERRORS["InvalidNetworkAclID.NotFound"](acl_id=acl_id)
    return found, vpcs


# -- Describe, Create, Delete ------------------------------------------------------------------------------------

async def describe_network_acls(ctx: RequestContext, network_acl_ids: Sequence[str] = (),
                                filters: Sequence[Filter] = (), max_results: int | None = None,
                                next_token: str | None = None) -> NetworkAclPage:
    """DescribeNetworkAcls → listNetworkACLLists, listNetworkACLs, listNetworks, and the tags the gateway keeps
    (each VPC's default ACL made first if it has none yet)."""
    vpcs = await _my_vpcs(ctx)
    lists = await _my_lists(ctx, vpcs)
    for vpc_cs_id in vpcs:
        if _default_of(lists, vpc_cs_id) is None:
            await default_acl_id(ctx, vpc_cs_id)
            lists = await _my_lists(ctx, vpcs)
    if network_acl_ids:
        wanted = await ctx.ids.to_cloudstack_many("network-acl", network_acl_ids)
        present = {a["id"] for a in lists}
        for given, cs_id in wanted.items():
            if cs_id is None or cs_id not in present:
                raise ERRORS["InvalidNetworkAclID.NotFound"](acl_id=given)
        lists = [a for a in lists if a["id"] in set(wanted.values())]
    acls = apply_filters(NETWORK_ACL_FILTERS, filters, await _build(ctx, vpcs, lists))
    acls.sort(key=lambda a: a.network_acl_id)
    page, token = paginate(acls, max_results, next_token, minimum=5, maximum=1000)
    return NetworkAclPage(page, token)


async def create_network_acl(ctx: RequestContext, vpc_id: str = "", client_token: str | None = None,
                             tags: Sequence[tuple[str, str | None]] = ()) -> CreatedNetworkAcl:
    """CreateNetworkAcl → createNetworkACLList with EC2's final deny entries (TagSpecification kept by the
    gateway: CloudStack cannot tag ACL lists). ClientToken:
    a retry with the same token answers the ACL it made (the token's digest is kept in the list's
    description)."""
    vpc_cs_id = await ctx.ids.to_cloudstack("vpc", vpc_id) if vpc_id else None
    vpcs = await _my_vpcs(ctx)
    if vpc_cs_id is None or vpc_cs_id not in vpcs:
        raise ERRORS["InvalidVpcID.NotFound"](vpc_id=vpc_id)
    new_tags = check_new_tags(tags)
    if ctx.tags is None:
        refuse_tags(TAG_TYPE, tags, "CloudStack cannot tag network ACL lists and this gateway keeps no tags")
    description = "EC2 network ACL"
    if client_token:
        if len(client_token) > 64:
            raise ERRORS["InvalidParameterValue"](detail="ClientToken must be at most 64 characters long")
        description += _TOKEN + hashlib.sha256(client_token.encode()).hexdigest()[:32]
        earlier = [a for a in await _my_lists(ctx, vpcs) if a.get("description") == description]
        if earlier:
            if earlier[0]["vpcid"] != vpc_cs_id:
                raise ERRORS["IdempotentParameterMismatch"](
                    detail="The client token was already used for a network ACL of another VPC")
            return CreatedNetworkAcl((await _build(ctx, vpcs, earlier[:1]))[0], client_token)
    acl = await _new_list(ctx, vpc_cs_id, _ACL_NAME, description)
    if new_tags:
        await ctx.tags.put(await _account(ctx), TAG_TYPE, acl["id"], {t["key"]: t["value"] for t in new_tags})
    return CreatedNetworkAcl((await _build(ctx, vpcs, [dict(acl, vpcid=vpc_cs_id)]))[0], client_token)


async def delete_network_acl(ctx: RequestContext, network_acl_id: str = "") -> bool:
    """DeleteNetworkAcl → deleteNetworkACLList; the VPC's default is InvalidParameterValue (EC2's "cannot delete
    default network ACL"), an ACL a subnet uses DependencyViolation."""
    acl, vpcs = await _find(ctx, network_acl_id)
    if _default_of(await _my_lists(ctx, vpcs, acl["vpcid"]), acl["vpcid"]) == acl:
        raise _bad(f"cannot delete default network ACL {network_acl_id}")
    if any(t.get("aclid") == acl["id"] for t in await ctx.cloud.list_networks(vpcid=acl["vpcid"], listall=True)):
        raise ERRORS["DependencyViolation"](detail=f"The network ACL '{network_acl_id}' has dependencies and "
                                                   f"cannot be deleted.")
    await ctx.cloud.delete_network_acl_list(id=acl["id"])
    if ctx.tags is not None:
        await ctx.tags.remove(await _account(ctx), TAG_TYPE, acl["id"])
    return True


# -- entries -----------------------------------------------------------------------------------------------------

def _bad(detail: str) -> Exception:
    return ERRORS["InvalidParameterValue"](detail=detail)


def _rule_number(rule_number: int | None) -> int:
    if rule_number is None:
        raise ERRORS["MissingParameter"](name="RuleNumber")
    if not 1 <= rule_number <= _LAST - 1:
        raise _bad(f"Value ({rule_number}) for parameter ruleNumber is invalid. Rule numbers must be between 1 "
                   f"and {_LAST - 1} (rule {_LAST} is the final deny).")
    return rule_number


@dataclass
class _Entry:
    """A requested entry in CloudStack's terms."""
    protocol: str
    action: str
    cidr: str
    ports: PortRange | None
    icmp: IcmpTypeCode | None


def _checked_entry(protocol: str | None, rule_action: str | None, cidr_block: str | None,
                   ipv6_cidr_block: str | None, icmp_code: int | None, icmp_type: int | None,
                   port_from: int | None, port_to: int | None) -> _Entry:
    """EC2's entry checks. PortRange counts for TCP and UDP only and IcmpTypeCode for ICMP only; for any other
    protocol EC2 allows every port and type whatever is given, and so does the entry made here."""
    if ipv6_cidr_block:
        raise _bad("IPv6 CIDR blocks are not supported on this cloud")
    raw = str(protocol or "").strip().lower()
    if not raw:
        raise ERRORS["MissingParameter"](name="Protocol")
    cs_protocol = _CS_PROTOCOL.get(raw)
    if cs_protocol is None:
        if not raw.isdigit() or not 0 <= int(raw) <= 255:
            raise _bad(f"Invalid value '{protocol}' for protocol. Give -1 (all) or a protocol number 0-255.")
        cs_protocol = str(int(raw))
    action = str(rule_action or "").strip().lower()
    if action not in ("allow", "deny"):
        raise _bad(f"Invalid value '{rule_action}' for ruleAction. Give allow or deny.")
    if not cidr_block:
        raise ERRORS["MissingParameter"](name="CidrBlock")
    try:
        cidr = str(ipaddress.IPv4Network(cidr_block, strict=False))
        if "/" not in cidr_block:
            raise ValueError
    except ValueError:
        raise _bad(f"Value ({cidr_block}) for parameter cidrBlock is invalid. This is not a valid CIDR block.") \
            from None
    ports = icmp = None
    if cs_protocol in ("tcp", "udp"):
        if port_from is None or port_to is None:
            raise ERRORS["MissingParameter"](name="PortRange")
        if not (0 <= port_from <= 65535 and 0 <= port_to <= 65535) or port_from > port_to:
            raise _bad(f"Invalid port range {port_from}-{port_to}: ports are 0-65535, From at most To")
        ports = PortRange(port_from, port_to)
    elif cs_protocol == "icmp":
        if icmp_type is None or icmp_code is None:
            raise ERRORS["MissingParameter"](name="IcmpTypeCode")
        if not -1 <= icmp_type <= 255:
            raise _bad(f"Invalid ICMP type {icmp_type}: -1 (all) or 0-255")
        if not -1 <= icmp_code <= 16:
            raise _bad(f"Invalid ICMP code {icmp_code}: this cloud takes -1 (all) or 0-16")
        icmp = IcmpTypeCode(code=icmp_code, type=icmp_type)
    return _Entry(cs_protocol, action.capitalize(), cidr, ports, icmp)


async def _writable(ctx: RequestContext, network_acl_id: str) -> dict:
    """The caller's ACL list, about to change: when it is its VPC's default, the VPC's tiers still on
    CloudStack's global default_allow are moved onto it first (they are shown as its subnets)."""
    acl, vpcs = await _find(ctx, network_acl_id)
    if _default_of(await _my_lists(ctx, vpcs, acl["vpcid"]), acl["vpcid"]) == acl:
        allow = await _global_allow(ctx)
        for tier in await ctx.cloud.list_networks(vpcid=acl["vpcid"], listall=True):
            if allow is not None and tier.get("aclid") == allow:
                await ctx.cloud.replace_network_acl_list(aclid=acl["id"], networkid=tier["id"])
    return acl


async def _item(ctx: RequestContext, acl: dict, rule_number: int, egress: bool) -> dict | None:
    number = _cs_number(rule_number, egress)
    found = [i for i in await ctx.cloud.list_network_ac_ls(aclid=acl["id"], listall=True)
             if int(i.get("number", 0)) == number]
    return found[0] if found else None


async def create_network_acl_entry(ctx: RequestContext, network_acl_id: str = "", rule_number: int | None = None,
                                   protocol: str | None = None, rule_action: str | None = None,
                                   egress: bool = False, cidr_block: str | None = None,
                                   ipv6_cidr_block: str | None = None, icmp_code: int | None = None,
                                   icmp_type: int | None = None, port_from: int | None = None,
                                   port_to: int | None = None) -> bool:
    """CreateNetworkAclEntry → createNetworkACL (number 2 x RuleNumber, + 1 for egress)."""
    number = _rule_number(rule_number)
    entry = _checked_entry(protocol, rule_action, cidr_block, ipv6_cidr_block, icmp_code, icmp_type, port_from,
                           port_to)
    acl = await _writable(ctx, network_acl_id)
    if await _item(ctx, acl, number, egress) is not None:
        raise ERRORS["NetworkAclEntryAlreadyExists"](rule_number=number)
    await _add_item(ctx, acl["id"], number, egress, entry.action, entry.protocol, entry.cidr, entry.ports,
                    entry.icmp)
    return True


async def replace_network_acl_entry(ctx: RequestContext, network_acl_id: str = "", rule_number: int | None = None,
                                    protocol: str | None = None, rule_action: str | None = None,
                                    egress: bool = False, cidr_block: str | None = None,
                                    ipv6_cidr_block: str | None = None, icmp_code: int | None = None,
                                    icmp_type: int | None = None, port_from: int | None = None,
                                    port_to: int | None = None) -> bool:
    """ReplaceNetworkAclEntry → updateNetworkACLItem, every field given (partialupgrade false)."""
    number = _rule_number(rule_number)
    entry = _checked_entry(protocol, rule_action, cidr_block, ipv6_cidr_block, icmp_code, icmp_type, port_from,
                           port_to)
    acl = await _writable(ctx, network_acl_id)
    item = await _item(ctx, acl, number, egress)
    if item is None:
        raise ERRORS["InvalidNetworkAclEntry.NotFound"](rule_number=number)
    params: dict[str, Any] = {}
    if entry.ports is not None:
        params.update(startport=entry.ports.from_port, endport=entry.ports.to_port)
    if entry.icmp is not None:
        params.update(icmptype=entry.icmp.type, icmpcode=entry.icmp.code)
    await ctx.cloud.update_network_acl_item(
        id=item["id"], number=_cs_number(number, egress), protocol=entry.protocol, action=entry.action,
        traffictype="Egress" if egress else "Ingress", cidrlist=[entry.cidr], partialupgrade=False, **params)
    return True


async def delete_network_acl_entry(ctx: RequestContext, network_acl_id: str = "", rule_number: int | None = None,
                                   egress: bool = False) -> bool:
    """DeleteNetworkAclEntry → deleteNetworkACL; the final `*` entries stay (InvalidParameterValue)."""
    if rule_number == _LAST:
        raise _bad(f"The network ACL entry {_LAST} is the final deny and cannot be deleted")
    number = _rule_number(rule_number)
    acl = await _writable(ctx, network_acl_id)
    item = await _item(ctx, acl, number, egress)
    if item is None:
        raise ERRORS["InvalidNetworkAclEntry.NotFound"](rule_number=number)
    await ctx.cloud.delete_network_acl(id=item["id"])
    return True


# -- associations ------------------------------------------------------------------------------------------------

async def replace_network_acl_association(ctx: RequestContext, association_id: str = "",
                                          network_acl_id: str = "") -> NewAssociation:
    """ReplaceNetworkAclAssociation → replaceNetworkACLList on the subnet's tier. An association id names a
    subnet and its current ACL, so the old id is gone once replaced."""
    acl, vpcs = await _find(ctx, network_acl_id)
    lists = await _my_lists(ctx, vpcs)
    allow = await _global_allow(ctx)
    for tier in [n for n in await ctx.cloud.list_networks(listall=True) if n.get("vpcid") in vpcs]:
        shown = tier.get("aclid")
        if allow is not None and shown == allow:
            shown = (_default_of(lists, tier["vpcid"]) or {}).get("id")
        if not shown or await _association_id(ctx, tier["id"], shown) != association_id:
            continue
        if tier["vpcid"] != acl["vpcid"]:
            raise _bad(f"The network ACL {network_acl_id} and the association {association_id} belong to "
                       f"different VPCs")
        await ctx.cloud.replace_network_acl_list(aclid=acl["id"], networkid=tier["id"])
        return NewAssociation(await _association_id(ctx, tier["id"], acl["id"]))
    raise ERRORS["InvalidAssociationID.NotFound"](association_id=association_id)


OPERATIONS: dict[str, Any] = {
    "DescribeNetworkAcls": describe_network_acls,
    "CreateNetworkAcl": create_network_acl,
    "DeleteNetworkAcl": delete_network_acl,
    "CreateNetworkAclEntry": create_network_acl_entry,
    "ReplaceNetworkAclEntry": replace_network_acl_entry,
    "DeleteNetworkAclEntry": delete_network_acl_entry,
    "ReplaceNetworkAclAssociation": replace_network_acl_association,
}
