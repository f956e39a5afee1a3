"""Security groups: Create/Delete/DescribeSecurityGroups, Authorize/Revoke ingress and egress.

Core: no Twisted, Spyne, lxml or SQL here. An EC2 IpPermission (protocol + port range, several CIDRs and groups)
is a set of CloudStack rules, one per CIDR or group; `_Rule` is that atom, and both directions compare atoms.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter, apply_filters, paginate
from ec2soap.core.model import caller_account, owner_id, tags_of
from ec2soap.core.names import check_ascii_name
from ec2soap.core.security_group_model import (DEFAULT_GROUP, CreatedSecurityGroup, IpPermission, IpRange,
                                               SecurityGroup, SecurityGroupPage, UserIdGroupPair)
from ec2soap.core.volumes import check_new_tags, tag_new
from ec2soap.core import vpc_security_groups as vpc_groups
from ec2soap.errors import ERRORS

__all__ = ["SecurityGroup", "SecurityGroupPage", "IpPermission", "IpRange", "UserIdGroupPair",
           "CreatedSecurityGroup", "SECURITY_GROUP_FILTERS", "OPERATIONS", "caller_account", "group_uuid"]

# EC2 protocol names and numbers → the EC2 name we report ("-1" is every protocol).
_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
              "-1": "-1", "all": "-1"}
_CS_PROTOCOL = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "-1": "all"}
_RULE_KEYS = {"ingress": "ingressrule", "egress": "egressrule"}


def _flat(groups: Iterable[SecurityGroup], direction: str, what: str) -> list[Any]:
    out: list[Any] = []
    for g in groups:
        for perm in (g.ip_permissions if direction == "ingress" else g.ip_permissions_egress):
            if what in ("from_port", "to_port", "ip_protocol"):
                out.append(getattr(perm, what))
            elif what == "cidr":
                out.extend(r.cidr_ip for r in perm.ip_ranges)
            else:
                out.extend(getattr(u, what) for u in perm.groups)
    return [v for v in out if v is not None]


def _permission_filters(prefix: str, direction: str) -> dict:
    return {
        f"{prefix}ip-permission.cidr": lambda g: _flat([g], direction, "cidr"),
        f"{prefix}ip-permission.from-port": lambda g: _flat([g], direction, "from_port"),
        f"{prefix}ip-permission.to-port": lambda g: _flat([g], direction, "to_port"),
        f"{prefix}ip-permission.protocol": lambda g: _flat([g], direction, "ip_protocol"),
        f"{prefix}ip-permission.group-name": lambda g: _flat([g], direction, "group_name"),
        f"{prefix}ip-permission.group-id": lambda g: _flat([g], direction, "group_id"),
        f"{prefix}ip-permission.user-id": lambda g: _flat([g], direction, "user_id"),
    }


SECURITY_GROUP_FILTERS = {
    "description": lambda g: g.group_description,
    "group-id": lambda g: g.group_id,
    "group-name": lambda g: g.group_name,
    "owner-id": lambda g: g.owner_id,
    "vpc-id": lambda g: g.vpc_id,
    **_permission_filters("", "ingress"),
    **_permission_filters("egress.", "egress"),
}


# -- the caller's account ---------------------------------------------------------------------------------------

def _account_name(user_id: str | None, me: dict) -> str:
    """EC2's UserId is an account id: ours is the account uuid; other accounts are named as CloudStack names
    them (a user cannot look another account's uuid up)."""
    if not user_id or user_id in (me.get("id"), me.get("name")):
        return me.get("name", "")
    return user_id


# -- CloudStack rules as atoms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    protocol: str
    from_port: int
    to_port: int
    cidr: str | None = None
    account: str | None = None
    group: str | None = None

    def same(self, other: "_Rule") -> bool:
        # CloudStack keeps group and account names case-insensitively (MySQL collation).
        return (self.protocol, self.from_port, self.to_port, self.cidr) == \
            (other.protocol, other.from_port, other.to_port, other.cidr) and \
            (self.account or "").lower() == (other.account or "").lower() and \
            (self.group or "").lower() == (other.group or "").lower()

    def describe(self) -> str:
        peer = self.cidr or f"{self.account}/{self.group}"
        proto = {"-1": "ALL"}.get(self.protocol, self.protocol.upper())
        return f"peer: {peer}, {proto}, from port: {self.from_port}, to port: {self.to_port}, ALLOW"


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _rule_of(cs_rule: dict) -> _Rule:
    protocol = str(cs_rule.get("protocol", "")).lower()
    name = _PROTOCOLS.get(protocol, protocol)
    if name == "icmp":
        low, high = _as_int(cs_rule.get("icmptype"), -1), _as_int(cs_rule.get("icmpcode"), -1)
    elif name in ("tcp", "udp"):
        low, high = _as_int(cs_rule.get("startport"), 0), _as_int(cs_rule.get("endport"), 65535)
    else:
        low, high = -1, -1
    if cs_rule.get("securitygroupname"):
        return _Rule(name, low, high, account=cs_rule.get("account"), group=cs_rule["securitygroupname"])
    return _Rule(name, low, high, cidr=cs_rule.get("cidr"))


def _permissions(rules: Iterable[_Rule], me: dict, own_ids: dict[str, str]) -> list[IpPermission]:
    """Atoms back into EC2 permissions, one per (protocol, from, to), in CloudStack's order."""
    out: dict[tuple[str, int, int], IpPermission] = {}
    for rule in rules:
        perm = out.setdefault((rule.protocol, rule.from_port, rule.to_port),
                              IpPermission(rule.protocol, rule.from_port, rule.to_port))
        if rule.group is not None:
            mine = (rule.account or "").lower() == me.get("name", "").lower()
            perm.groups.append(UserIdGroupPair(
                user_id=me.get("id") if mine else rule.account, group_name=rule.group,
                group_id=own_ids.get(rule.group.lower()) if mine else None))
        elif rule.cidr:
            perm.ip_ranges.append(IpRange(rule.cidr))
    return list(out.values())


async def _to_groups(ctx: RequestContext, cs_groups: list[dict]) -> list[SecurityGroup]:
    me = await caller_account(ctx)
    ids = await ctx.ids.to_ec2_many("security-group", [g["id"] for g in cs_groups])
    own_ids = {g["name"].lower(): ids[g["id"]] for g in cs_groups if g.get("account") == me.get("name")}
    out = []
    for cs in cs_groups:
        owner = me.get("id") if cs.get("account") == me.get("name") and me.get("id") else owner_id(cs)
        out.append(SecurityGroup(
            owner_id=owner, group_name=cs["name"], group_description=cs.get("description") or "",
            ip_permissions=_permissions(map(_rule_of, cs.get("ingressrule") or ()), me, own_ids),
            group_id=ids[cs["id"]],
            ip_permissions_egress=_permissions(map(_rule_of, cs.get("egressrule") or ()), me, own_ids),
            tags=tags_of(cs), cs_id=cs["id"]))
    return out


# -- finding groups -----------------------------------------------------------------------------------------------

async def group_uuid(ctx: RequestContext, group_id: str) -> str:
    """sg-… (or a CloudStack uuid) → the group's uuid; InvalidGroupId.Malformed / InvalidGroup.NotFound."""
    if not group_id.startswith("sg-") and not _looks_like_uuid(group_id):
        raise ERRORS["InvalidGroupId.Malformed"](group=group_id)
    cs_id = await ctx.ids.to_cloudstack("security-group", group_id)
    if cs_id is None:
        raise ERRORS["InvalidGroup.NotFound"](group=group_id)
    return cs_id


def _looks_like_uuid(value: str) -> bool:
    parts = value.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in value.replace("-", ""))


async def _vpc_record(ctx: RequestContext, group_id: str | None) -> Any:
    """The caller's VPC group record GROUP_ID names, or None (an EC2-Classic group, or none)."""
    if not group_id or not (group_id.startswith("sg-") or _looks_like_uuid(group_id)):
        return None
    cs_id = await ctx.ids.to_cloudstack("security-group", group_id)
    return await vpc_groups.find_record(ctx, cs_id) if cs_id else None


async def _find_group(ctx: RequestContext, group_name: str | None, group_id: str | None) -> dict:
    """The caller's CloudStack group named by GroupId or GroupName."""
    if group_id:
        cs_id = await group_uuid(ctx, group_id)
        try:
            found = await ctx.cloud.list_security_groups(id=cs_id)
        except CloudStackApiError as exc:
            if exc.errorcode not in (431, 531):
                raise
            found = []
        if not found:
            raise ERRORS["InvalidGroup.NotFound"](group=group_id)
        return found[0]
    if group_name:
        found = [g for g in await ctx.cloud.list_security_groups(securitygroupname=group_name)
                 if g["name"] == group_name]
        if not found:
            raise ERRORS["InvalidGroup.NotFound"](group=group_name)
        return found[0]
    raise ERRORS["MissingParameter"](name="GroupName or GroupId")


# -- Describe, Create, Delete ---------------------------------------------------------------------------------------

async def describe_security_groups(ctx: RequestContext, group_names: Sequence[str] = (),
                                   group_ids: Sequence[str] = (), filters: Sequence[Filter] = (),
                                   max_results: int | None = None,
                                   next_token: str | None = None) -> SecurityGroupPage:
    """DescribeSecurityGroups → listSecurityGroups. GroupName.N and GroupId.N (the original ignored GroupId.N)
    select; an unknown one is InvalidGroup.NotFound."""
    groups = await _to_groups(ctx, await ctx.cloud.list_security_groups())
    classic = len(groups)
    groups += await vpc_groups.vpc_groups(ctx, {v["id"]: v for v in await ctx.cloud.list_vp_cs(listall=True)})
    if group_names or group_ids:
        by_name = {g.group_name: g for g in groups[:classic]}  # a VPC group is named by its id only
        chosen: dict[str, SecurityGroup] = {}
        for name in group_names:
            if name not in by_name:
                raise ERRORS["InvalidGroup.NotFound"](group=name)
            chosen[by_name[name].cs_id] = by_name[name]
        for wanted in group_ids:
            cs_id = await group_uuid(ctx, wanted)
            match = next((g for g in groups if g.cs_id == cs_id), None)
            if match is None:
                raise ERRORS["InvalidGroup.NotFound"](group=wanted)
            chosen[cs_id] = match
        groups = [g for g in groups if g.cs_id in chosen]
    page, token = paginate(apply_filters(SECURITY_GROUP_FILTERS, filters, groups), max_results, next_token)
    return SecurityGroupPage(page, token)


async def create_security_group(ctx: RequestContext, group_name: str, group_description: str,
                                tags: Sequence[tuple[str, str | None]] = (),
                                vpc_id: str | None = None) -> CreatedSecurityGroup:
    """CreateSecurityGroup → createSecurityGroup, then createTags for TagSpecification; with VpcId a group of
    the VPC (core/vpc_security_groups.py)."""
    new_tags = check_new_tags(tags)
    if not group_name or len(group_name) > 255:
        raise ERRORS["InvalidParameterValue"](detail="Group names must be 1 to 255 characters long")
    if group_description is None or len(group_description) > 255:
        raise ERRORS["InvalidParameterValue"](detail="Group descriptions must be at most 255 characters long")
    check_ascii_name(group_name, "GroupName")
    check_ascii_name(group_description, "GroupDescription", allow_empty=True)
    if group_name.lower().startswith("sg-"):
        raise ERRORS["InvalidParameterValue"](detail="Group names may not be in the format sg-*")
    if group_name.lower() == DEFAULT_GROUP:
        raise ERRORS["InvalidGroup.Reserved"](group=group_name)
    if vpc_id:
        return await vpc_groups.create_vpc_group(ctx, vpc_id, group_name, group_description, new_tags)
    existing = await ctx.cloud.list_security_groups(securitygroupname=group_name)
    if any(g["name"].lower() == group_name.lower() for g in existing):
        raise ERRORS["InvalidGroup.Duplicate"](group=group_name)
    try:
        cs = await ctx.cloud.create_security_group(name=group_name, description=group_description)
    except CloudStackApiError as exc:
        if exc.errorcode == 431 and "already exists" in exc.errortext:
            raise ERRORS["InvalidGroup.Duplicate"](group=group_name) from None
        raise
    await tag_new(ctx, cs["id"], "SecurityGroup", new_tags)
    return CreatedSecurityGroup(await ctx.ids.to_ec2("security-group", cs["id"]))


async def delete_security_group(ctx: RequestContext, group_name: str | None = None,
                                group_id: str | None = None) -> bool:
    """DeleteSecurityGroup → deleteSecurityGroup (by GroupName or GroupId; a VPC group by GroupId only)."""
    record = await _vpc_record(ctx, group_id)
    if record is not None:
        return await vpc_groups.delete_vpc_group(ctx, record, str(group_id))
    cs = await _find_group(ctx, group_name, group_id)
    if cs["name"].lower() == DEFAULT_GROUP:
        raise ERRORS["CannotDelete"](group=cs["name"])
    try:
        await ctx.cloud.delete_security_group(id=cs["id"])
    except CloudStackApiError as exc:
        if exc.errorcode == 536 and "rules" in exc.errortext:
            # Another group's rule names this one: EC2 calls that a dependency.
            raise ERRORS["DependencyViolation"](
                detail=f"resource {group_id or await ctx.ids.to_ec2('security-group', cs['id'])} has a "
                       f"dependent object") from None
        if exc.errorcode == 536:
            raise await _in_use(ctx, cs, group_name or group_id or "") from None
        if exc.errorcode == 431 and "reserved" in exc.errortext:
            raise ERRORS["CannotDelete"](group=cs["name"]) from None
        raise
    return True


async def _in_use(ctx: RequestContext, cs: dict, group: str) -> Exception:
    """InvalidGroup.InUse, saying why when no instance the caller sees holds the group: destroyed VMs that
    CloudStack has not expunged yet (expunge.delay) do."""
    from ec2soap.core.terminations import expunge_advice

    holders = [v for v in await ctx.cloud.list_virtual_machines(securitygroupid=cs["id"])
               if str(v.get("state", "")).lower() not in ("destroyed", "expunging")]
    if holders:
        return ERRORS["InvalidGroup.InUse"](group=group)
    return ERRORS["InvalidGroup.InUse"](
        f"The security group '{group}' is still used by terminated instances. " + expunge_advice(), group=group)


# -- Authorize and Revoke --------------------------------------------------------------------------------------------

def _malformed(detail: str) -> Exception:
    return ERRORS["InvalidPermission.Malformed"](detail=detail)


def _range(perm: IpPermission) -> tuple[str, int, int]:
    """(EC2 protocol name, from, to), checked the way CloudStack will check them."""
    raw = str(perm.ip_protocol).strip().lower() if perm.ip_protocol is not None else ""
    if not raw:
        raise _malformed("Each permission needs an IP protocol (tcp, udp, icmp or -1)")
    protocol = _PROTOCOLS.get(raw)
    if protocol is None:
        raise _malformed(f"Invalid value '{perm.ip_protocol}' for IP protocol. Unknown protocol.")
    low, high = perm.from_port, perm.to_port
    if protocol == "-1":
        return protocol, -1, -1
    if protocol == "icmp":
        low = -1 if low is None else low
        high = -1 if high is None else high
        if not (-1 <= low <= 255 and -1 <= high <= 255):
            raise _malformed(f"Invalid ICMP type/code {low}/{high}")
        if low == -1 and high != -1:
            raise _malformed("An ICMP code needs an ICMP type")
        if low != -1 and high == -1:
            # CloudStack quirk: a rule for every code of one ICMP type cannot be stored; name the code.
            raise _malformed(f"This cloud needs an ICMP code with ICMP type {low} (ToPort)")
        return protocol, low, high
    if low is None or high is None:
        raise _malformed(f"Invalid value for portRange. Must specify both from and to ports with "
                         f"{protocol.upper()}.")
    if not (0 <= low <= 65535 and 0 <= high <= 65535) or low > high:
        raise _malformed(f"Invalid TCP/UDP port range {low}:{high}")
    return protocol, low, high


def _check_cidr(cidr: str) -> str:
    try:
        if "/" not in cidr:
            raise ValueError
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise _malformed(f"Invalid IPv4 CIDR '{cidr}'") from None
    if network.version != 4:
        raise _malformed(f"Invalid IPv4 CIDR '{cidr}'")
    return cidr


async def _atoms(ctx: RequestContext, perms: Sequence[IpPermission], own: list[dict],
                 me: dict) -> list[tuple[IpPermission, list[_Rule]]]:
    """Each requested permission with its CloudStack atoms; group references resolved to (account, name)."""
    if not perms:
        raise ERRORS["MissingParameter"](name="IpPermissions")
    out = []
    for perm in perms:
        protocol, low, high = _range(perm)
        atoms = [_Rule(protocol, low, high, cidr=_check_cidr(r.cidr_ip)) for r in perm.ip_ranges]
        for pair in perm.groups:
            if pair.group_id:
                cs_id = await group_uuid(ctx, pair.group_id)
                match = next((g for g in own if g["id"] == cs_id), None)
                if match is None:
                    raise ERRORS["InvalidGroup.NotFound"](group=pair.group_id)
                atoms.append(_Rule(protocol, low, high, account=me.get("name"), group=match["name"]))
                continue
            if not pair.group_name:
                raise _malformed("A source group needs a GroupName or a GroupId")
            account = _account_name(pair.user_id, me)
            if account == me.get("name") and not any(g["name"].lower() == pair.group_name.lower() for g in own):
                raise ERRORS["InvalidGroup.NotFound"](group=pair.group_name)
            atoms.append(_Rule(protocol, low, high, account=account, group=pair.group_name))
        if not atoms:
            raise _malformed("Each permission needs at least one CIDR range or source security group")
        out.append((perm, atoms))
    return out


async def _authorize(ctx: RequestContext, direction: str, group_name: str | None, group_id: str | None,
                     ip_permissions: Sequence[IpPermission]) -> bool:
    if await _vpc_record(ctx, group_id) is not None:
        raise vpc_groups.refuse_rules(str(group_id))
    group = await _find_group(ctx, group_name, group_id)
    me = await caller_account(ctx)
    own = await ctx.cloud.list_security_groups()
    requested = await _atoms(ctx, ip_permissions, own, me)
    seen = [_rule_of(r) for r in group.get(_RULE_KEYS[direction]) or ()]
    for _, atoms in requested:
        for atom in atoms:
            # EC2 quirk: one rule that exists already fails the whole request, even if others are new.
            if any(atom.same(old) for old in seen):
                raise ERRORS["InvalidPermission.Duplicate"](rule=atom.describe())
            seen.append(atom)
    authorize = ctx.cloud.authorize_security_group_ingress if direction == "ingress" else \
        ctx.cloud.authorize_security_group_egress
    for _, atoms in requested:
        first = atoms[0]
        params: dict[str, Any] = {"securitygroupid": group["id"], "protocol": _CS_PROTOCOL[first.protocol]}
        if first.protocol == "icmp":
            params.update(icmptype=first.from_port, icmpcode=first.to_port)
        elif first.protocol in ("tcp", "udp"):
            params.update(startport=first.from_port, endport=first.to_port)
        params["cidrlist"] = [a.cidr for a in atoms if a.cidr]
        params["usersecuritygrouplist"] = [{"account": a.account, "group": a.group} for a in atoms if a.group]
        try:
            await authorize(**params)
        except CloudStackApiError as exc:
            if exc.errorcode == 530 and "Failed to authorize" in exc.errortext:
                raise ERRORS["InvalidPermission.Duplicate"](rule=first.describe()) from None
            if exc.errorcode == 431 and "Nonexistent" in exc.errortext:
                raise ERRORS["InvalidGroup.NotFound"](group=next((a.group for a in atoms if a.group), "")) \
                    from None
            if exc.errorcode == 431:
                raise _malformed(f"Invalid permission: {exc.errortext}") from None
            raise
    return True


async def _revoke(ctx: RequestContext, direction: str, group_name: str | None, group_id: str | None,
                  ip_permissions: Sequence[IpPermission]) -> bool:
    """Every given permission must match existing rules (the original matched only the first one)."""
    if await _vpc_record(ctx, group_id) is not None:
        raise vpc_groups.refuse_rules(str(group_id))
    group = await _find_group(ctx, group_name, group_id)
    me = await caller_account(ctx)
    own = await ctx.cloud.list_security_groups()
    requested = await _atoms(ctx, ip_permissions, own, me)
    existing = [(cs_rule["ruleid"], _rule_of(cs_rule)) for cs_rule in group.get(_RULE_KEYS[direction]) or ()]
    doomed: list[str] = []
    for _, atoms in requested:
        for atom in atoms:
            rule_id = next((rid for rid, old in existing if atom.same(old)), None)
            if rule_id is None:
                raise ERRORS["InvalidPermission.NotFound"]()
            if rule_id not in doomed:
                doomed.append(rule_id)
    revoke = ctx.cloud.revoke_security_group_ingress if direction == "ingress" else \
        ctx.cloud.revoke_security_group_egress
    for rule_id in doomed:
        try:
            await revoke(id=rule_id)
        except CloudStackApiError as exc:
            # Revoked meanwhile by another request: the outcome the caller wanted.
            if exc.errorcode != 431:
                raise
    return True


async def authorize_security_group_ingress(ctx: RequestContext, group_name: str | None = None,
                                           group_id: str | None = None,
                                           ip_permissions: Sequence[IpPermission] = ()) -> bool:
    """AuthorizeSecurityGroupIngress → authorizeSecurityGroupIngress (one call per permission, waited for)."""
    return await _authorize(ctx, "ingress", group_name, group_id, ip_permissions)


async def revoke_security_group_ingress(ctx: RequestContext, group_name: str | None = None,
                                        group_id: str | None = None,
                                        ip_permissions: Sequence[IpPermission] = ()) -> bool:
    """RevokeSecurityGroupIngress → revokeSecurityGroupIngress (one call per matching rule, waited for)."""
    return await _revoke(ctx, "ingress", group_name, group_id, ip_permissions)


async def authorize_security_group_egress(ctx: RequestContext, group_id: str | None = None,
                                          ip_permissions: Sequence[IpPermission] = (),
                                          group_name: str | None = None) -> bool:
    """AuthorizeSecurityGroupEgress → authorizeSecurityGroupEgress (one call per permission, waited for)."""
    return await _authorize(ctx, "egress", group_name, group_id, ip_permissions)


async def revoke_security_group_egress(ctx: RequestContext, group_id: str | None = None,
                                       ip_permissions: Sequence[IpPermission] = (),
                                       group_name: str | None = None) -> bool:
    """RevokeSecurityGroupEgress → revokeSecurityGroupEgress (one call per matching rule, waited for)."""
    return await _revoke(ctx, "egress", group_name, group_id, ip_permissions)


OPERATIONS: dict[str, Any] = {
    "DescribeSecurityGroups": describe_security_groups,
    "CreateSecurityGroup": create_security_group,
    "DeleteSecurityGroup": delete_security_group,
    "AuthorizeSecurityGroupIngress": authorize_security_group_ingress,
    "RevokeSecurityGroupIngress": revoke_security_group_ingress,
    "AuthorizeSecurityGroupEgress": authorize_security_group_egress,
    "RevokeSecurityGroupEgress": revoke_security_group_egress,
}
