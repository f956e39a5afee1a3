"""Simulator: security groups and their ingress/egress rules (SecurityGroupManagerImpl behaviour).

A group doc holds its rules in the private lists `_ingress` and `_egress`; a rule refers to another group by the
private `_groupid`. VMs name their groups in their private `_securitygroupids` (written by the VM family).
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, Listing, SimError, invalid_value, keyword_filter,
                                                 param_error, permission_denied)

__all__ = ["COMMANDS", "JOB_ACTIONS", "TAG_RESOLVERS", "seed", "default_group", "render_security_group", "find_group",
           "find_rule", "DEFAULT_GROUP"]

DEFAULT_GROUP = "default"
_RULE_LISTS = {"ingress": "_ingress", "egress": "_egress"}
_GONE_VM_STATES = ("Expunging", "Expunged")
_FIELDS = tuple(spec.commands()["listSecurityGroups"]["response"])


# -- owners (shared with key_pairs and addresses) ---------------------------------------------------------------

# -- groups -----------------------------------------------------------------------------------------------------

def find_group(ctx: Ctx, account_id: str, id: str | None = None, name: str | None = None) -> dict | None:
    """One group of ACCOUNT_ID by uuid or by name (names compare case-insensitively, as MySQL does)."""
    if id is not None:
        group = ctx.get("securitygroup", id)
        return group if group is not None and group["accountid"] == account_id else None
    if name is None:
        return None
    wanted = name.lower()
    found = ctx.find("securitygroup", account_id=account_id, where=lambda g: g["name"].lower() == wanted)
    return found[0] if found else None


def _new_group(ctx: Ctx, account: dict, name: str, description: str | None) -> dict:
    doc: dict[str, Any] = {"name": name, **owner_fields(ctx, account), "_ingress": [], "_egress": [],
                           "_created": ctx.now}
    if description is not None:
        doc["description"] = description
    return ctx.insert("securitygroup", doc, account_id=account["id"])


def default_group(ctx: Ctx, account_id: str) -> dict:
    """The account's "default" group; CloudStack makes it with the account, we make it on first need."""
    found = find_group(ctx, account_id, name=DEFAULT_GROUP)
    if found is not None:
        return found
    account = ctx.get("account", account_id)
    if account is None:
        raise param_error(f"Unable to find account by id {account_id}")
    return _new_group(ctx, account, DEFAULT_GROUP, "Default Security Group")


def _ensure_defaults(ctx: Ctx, account_id: str | None) -> None:
    """Give the listed accounts their default group before a list shows them (takes the state lock if needed)."""
    accounts = [ctx.get("account", account_id)] if account_id else ctx.find("account")
    missing = [a for a in accounts if a is not None and a["name"] != "system"
               and find_group(ctx, a["id"], name=DEFAULT_GROUP) is None]
    if missing:
        ctx.lock()
        for account in missing:
            default_group(ctx, account["id"])


def _vms_in(ctx: Ctx, group_id: str) -> list[dict]:
    def by_group() -> dict[str, list[dict]]:
        table: dict[str, list[dict]] = {}
        for vm in ctx.find("vm"):
            if vm.get("state") not in _GONE_VM_STATES:
                for gid in vm.get("_securitygroupids") or ():
                    table.setdefault(gid, []).append(vm)
        return table
    return ctx.memo("vms-by-group", by_group).get(group_id, [])


def _render_rule(ctx: Ctx, rule: dict) -> dict:
    out = {k: v for k, v in rule.items() if not k.startswith("_")}
    out["tags"] = ctx.tags.of("SecurityGroupRule", rule["ruleid"])
    return out


def render_security_group(ctx: Ctx, doc: dict, *, full: bool = False) -> dict:
    """A group as a VM's `securitygroup` entry shows it (listVirtualMachines, deployVirtualMachine...), or with
    FULL the SecurityGroupResponse of listSecurityGroups: stored fields, rules, tags and the VMs using it.

    CloudStack 4.18 fills a VM's entry from the user_vm_view join (UserVmJoinDaoImpl.newUserVmResponse): id,
    name, description, and the account (a project's id and name for a project's VM); the response's collections
    are left as constructed, empty, and the count unset. Listing every member VM there made a list of N VMs in
    one group N² ids long."""
    if not full:
        owner = ({"projectid": doc["projectid"], "project": doc.get("project", "")} if doc.get("projectid")
                 else {"account": doc.get("account", "")})
        entry = {"id": doc["id"], "name": doc["name"], **({"description": doc["description"]}
                                                          if "description" in doc else {}), **owner}
        return {**entry, "ingressrule": [], "egressrule": [], "tags": [], "virtualmachineids": []}
    out = {k: v for k, v in doc.items() if k in _FIELDS and not k.startswith("_")}
    out["ingressrule"] = [_render_rule(ctx, r) for r in doc.get("_ingress", ())]
    out["egressrule"] = [_render_rule(ctx, r) for r in doc.get("_egress", ())]
    out["tags"] = ctx.tags.of("SecurityGroup", doc["id"])
    vms = _vms_in(ctx, doc["id"])
    out["virtualmachinecount"] = len(vms)
    out["virtualmachineids"] = [vm["id"] for vm in vms]
    return out


def find_rule(ctx: Ctx, rule_id: str) -> tuple[dict, str, dict] | None:
    """(group, "ingress"|"egress", rule) for a rule uuid, in any account."""
    for group in ctx.find("securitygroup"):
        for direction, key in _RULE_LISTS.items():
            for rule in group.get(key, ()):
                if rule["ruleid"] == rule_id:
                    return group, direction, rule
    return None


def _rule_owner(ctx: Ctx, rule_id: str) -> dict | None:
    """A rule is not a doc of its own: its group owns it (and its tags)."""
    found = find_rule(ctx, rule_id)
    return found[0] if found else None


def _may_operate(ctx: Ctx, group: dict) -> None:
    if not ctx.caller.is_admin and group["accountid"] != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account.get('name')} does not have permission to operate "
                                f"with resource {group['id']}")


# -- commands ---------------------------------------------------------------------------------------------------

def _list_security_groups(ctx: Ctx, p: dict) -> Listing:
    """listSecurityGroups: by id, name, VM, keyword (name or description) and tags, per §9 scope."""
    scope = ctx.scope_accounts(p)
    if scope != "-none-":
        _ensure_defaults(ctx, scope)
    groups = ctx.find("securitygroup", account_id=scope)
    if p.get("virtualmachineid"):
        vm = ctx.get("vm", p["virtualmachineid"], removed=True)
        if vm is None:
            raise invalid_value(ctx.command, "virtualmachineid", p["virtualmachineid"])
        if vm.get("state") in _GONE_VM_STATES or ctx.get("vm", vm["id"]) is None:
            raise param_error(f"Unable to list network groups for virtual machine instance {vm['id']}; "
                              f"instance not found.")
        if not ctx.caller.is_admin and vm.get("accountid") != ctx.caller.account_id:
            raise permission_denied(f"Account {ctx.caller.account.get('name')} does not have permission to "
                                    f"operate with resource {vm['id']}")
        wanted = set(vm.get("_securitygroupids") or ())
        groups = [g for g in ctx.find("securitygroup") if g["id"] in wanted]
    if p.get("id"):
        groups = [g for g in groups if g["id"] == p["id"]]
    if p.get("securitygroupname"):
        groups = [g for g in groups if g["name"] == p["securitygroupname"]]
    groups = keyword_filter(groups, p.get("keyword"), "name", "description")
    groups = ctx.tags.filter(groups, "SecurityGroup", p.get("tags"))
    return Listing([render_security_group(ctx, g, full=True) for g in groups])


def _create_security_group(ctx: Ctx, p: dict) -> dict:
    owner = owner_account(ctx, p)
    # CloudStack quirk: "default" is refused only because every account already has a group of that name.
    default_group(ctx, owner["id"])
    if find_group(ctx, owner["id"], name=p["name"]) is not None:
        raise param_error(f"Unable to create security group, a group with name {p['name']} already exists.")
    return render_security_group(ctx, _new_group(ctx, owner, p["name"], p.get("description")), full=True)


def _delete_security_group(ctx: Ctx, p: dict) -> Any:
    if p.get("id") and p.get("name"):
        raise param_error("name parameter is mutually exclusive with id parameter")
    if p.get("name"):
        owner = owner_account(ctx, p)
        group = find_group(ctx, owner["id"], name=p["name"])
        if group is None:
            raise param_error(f"Unable to find security group by name {p['name']} for the account id={owner['id']}")
    elif p.get("id"):
        group = ctx.get("securitygroup", p["id"])
        if group is None:
            raise invalid_value(ctx.command, "id", p["id"])
    else:
        raise param_error("Either id or name parameter is required by deleteSecurityGroup command")
    _may_operate(ctx, group)
    if group["name"].lower() == DEFAULT_GROUP:
        raise param_error("The network group default is reserved")
    for other in ctx.find("securitygroup"):
        if any(r.get("_groupid") == group["id"] for key in _RULE_LISTS.values() for r in other.get(key, ())):
            raise SimError(536, "Cannot delete group when there are security rules that allow this group", 4375)
    if _vms_in(ctx, group["id"]):
        raise SimError(536, "Cannot delete group when it's in use by virtual machines", 4375)
    for rule in group["_ingress"] + group["_egress"]:
        ctx.tags.drop("SecurityGroupRule", rule["ruleid"])
    ctx.tags.drop("SecurityGroup", group["id"])
    ctx.remove("securitygroup", group["id"])
    return SUCCESS


def _target_group(ctx: Ctx, p: dict) -> dict:
    """The group an authorize call names (resolved before queuing: it is the job's sync object)."""
    if p.get("securitygroupid") and p.get("securitygroupname"):
        raise param_error("securityGroupName parameter is mutually exclusive with securityGroupId parameter")
    if p.get("securitygroupid"):
        group = ctx.get("securitygroup", p["securitygroupid"])
        if group is None:
            raise invalid_value(ctx.command, "securitygroupid", p["securitygroupid"])
        return group
    if p.get("securitygroupname"):
        owner = owner_account(ctx, p)
        if p["securitygroupname"].lower() == DEFAULT_GROUP:
            default_group(ctx, owner["id"])
        group = find_group(ctx, owner["id"], name=p["securitygroupname"])
        if group is None:
            raise param_error(f"Unable to find security group {p['securitygroupname']} for account id={owner['id']}")
        return group
    raise param_error(f"Either securityGroupName or securityGroupId is required by {ctx.command} command")


def _authorize(direction: str):
    def handler(ctx: Ctx, p: dict) -> Any:
        group = _target_group(ctx, p)
        args = {k: p.get(k) for k in ("protocol", "startport", "endport", "icmptype", "icmpcode", "cidrlist",
                                      "usersecuritygrouplist")}
        args.update(groupid=group["id"], direction=direction)
        return ctx.start_job("securitygroup_authorize", args, instance_type="SecurityGroup",
                             instance_id=group["id"])
    return handler


def _revoke(direction: str):
    def handler(ctx: Ctx, p: dict) -> Any:
        found = find_rule(ctx, p["id"])
        if found is None:
            raise invalid_value(ctx.command, "id", p["id"])
        return ctx.start_job("securitygroup_revoke", {"ruleid": p["id"], "direction": direction},
                             instance_type="SecurityGroup", instance_id=found[0]["id"])
    return handler


# -- jobs -------------------------------------------------------------------------------------------------------

def _valid_protocol(protocol: str) -> bool:
    if protocol in ("tcp", "udp", "icmp", "all"):
        return True
    return protocol.isdigit() and 0 <= int(protocol) <= 255


def _rule_range(args: dict, protocol: str) -> dict:
    """The rule's port range or ICMP type/code, validated as authorizeSecurityGroupRule does."""
    start, end = args.get("startport"), args.get("endport")
    icmp_type, icmp_code = args.get("icmptype"), args.get("icmpcode")
    if protocol == "icmp":
        if icmp_type is None or icmp_code is None:
            raise param_error(f"Invalid ICMP type/code specified, icmpType = {_java(icmp_type)}, "
                              f"icmpCode = {_java(icmp_code)}")
        if icmp_type == -1 and icmp_code != -1:
            raise param_error("Invalid icmp code")
        if icmp_type != -1 and icmp_code == -1:
            raise param_error("Invalid icmp code: need non-negative icmp code ")
        if not (-1 <= icmp_type <= 255 and -1 <= icmp_code <= 255):
            raise param_error("Invalid icmp type/code ")
        return {"icmptype": icmp_type, "icmpcode": icmp_code}
    if protocol == "all":
        if start is not None or end is not None:
            raise param_error("Cannot specify startPort or endPort without specifying protocol")
        return {"startport": 0, "endport": 0}
    if start is None or end is None:
        raise param_error(f"Invalid port range specified, startPort = {_java(start)}, endPort = {_java(end)}")
    if start == 0 and end == 0:
        end = 65535
    if start > end:
        raise param_error(f"Invalid port range {start}:{end}")
    if start > 65535 or end > 65535 or start < -1 or end < -1:
        raise param_error(f"Invalid port numbers {start}:{end}")
    if start < 0 or end < 0:
        raise param_error(f"Invalid port range {start}:{end}")
    return {"startport": start, "endport": end}


def _java(value: Any) -> str:
    return "null" if value is None else str(value)


def _valid_cidr(cidr: str) -> bool:
    if "/" not in cidr:
        return False
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return True


def _authorized_groups(ctx: Ctx, group: dict, entries: list[dict], protocol: str, where: dict) -> list[dict]:
    out = []
    for entry in entries:
        name, account_name = entry.get("group"), entry.get("account")
        if name is None or account_name is None:
            raise param_error("Invalid user group specified, fields 'group' and 'account' cannot be null, please "
                              "specify groups in the form:  userGroupList[0].group=XXX&userGroupList[0].account=YYY")
        accounts = ctx.find("account", name=account_name,
                            where=lambda a: a.get("state") == "enabled" and a["domainid"] == group["domainid"])
        low, high = (where.get("icmptype"), where.get("icmpcode")) if protocol == "icmp" else \
            (where.get("startport"), where.get("endport"))
        if not accounts:
            raise param_error(f"Nonexistent account: {account_name} when trying to authorize security group rule  "
                              f"for {group['id']}:{protocol}:{low}:{high}")
        if name.lower() == DEFAULT_GROUP:
            default_group(ctx, accounts[0]["id"])
        other = find_group(ctx, accounts[0]["id"], name=name)
        if other is None:
            raise param_error(f"Nonexistent group {name} for account {account_name}/{group['domainid']} is given, "
                              f"unable to authorize security group rule.")
        if other["id"] not in {g["id"] for g in out}:
            out.append(other)
    return out


def _job_authorize(ctx: Ctx, args: dict) -> dict:
    group = ctx.get("securitygroup", args["groupid"])
    if group is None:
        raise param_error(f"Unable to find security group by id {args['groupid']}")
    cidrs, entries = args.get("cidrlist"), args.get("usersecuritygrouplist")
    if not cidrs and not entries:
        raise param_error("At least one cidr or at least one security group needs to be specified")
    _may_operate(ctx, group)
    protocol = (args.get("protocol") or "all").lower()
    for cidr in cidrs or ():
        if not _valid_cidr(cidr):
            raise param_error(f"Invalid cidr {cidr}")
    if not _valid_protocol(protocol):
        raise param_error(f"Invalid protocol {args.get('protocol')}")
    where = _rule_range(args, protocol)
    others = _authorized_groups(ctx, group, entries or [], protocol, where)

    key = _RULE_LISTS[args["direction"]]
    existing = group[key]

    def same(rule: dict, **target: Any) -> bool:
        return rule["protocol"] == protocol and all(rule.get(k) == v for k, v in where.items()) and \
            all(rule.get(k) == v for k, v in target.items())

    added = []
    # CloudStack quirk: a rule that already exists is skipped silently; only when nothing is new does the
    # command fail (530 "Failed to authorize ...").
    for other in others:
        if any(same(r, _groupid=other["id"]) for r in existing + added):
            continue
        added.append({"ruleid": ctx.new_uuid(), "protocol": protocol, **where,
                      "securitygroupname": other["name"], "account": other["account"], "_groupid": other["id"]})
    for cidr in cidrs or ():
        if any(same(r, cidr=cidr) for r in existing + added):
            continue
        added.append({"ruleid": ctx.new_uuid(), "protocol": protocol, **where, "cidr": cidr})
    if not added:
        raise SimError(530, f"Failed to authorize security group {args['direction']} rule(s)", 9999)
    group[key] = existing + added
    ctx.save("securitygroup", group)
    out = {k: group[k] for k in ("id", "name", "description", "account", "domainid", "domain") if k in group}
    out[f"{args['direction']}rule"] = [_render_rule(ctx, r) for r in added]
    return {"securitygroup": out}


def _job_revoke(ctx: Ctx, args: dict) -> Any:
    found = find_rule(ctx, args["ruleid"])
    if found is None:
        raise param_error(f"Unable to find security rule with id {args['ruleid']}")
    group, direction, rule = found
    if direction != args["direction"]:
        raise param_error(f"Mismatch in rule type for security rule with id {args['ruleid']}")
    _may_operate(ctx, group)
    key = _RULE_LISTS[direction]
    group[key] = [r for r in group[key] if r["ruleid"] != rule["ruleid"]]
    ctx.save("securitygroup", group)
    ctx.tags.drop("SecurityGroupRule", rule["ruleid"])
    return SUCCESS


def seed(ctx: Ctx) -> None:
    """The seeded accounts get their default group, as CloudStack creates it with the account."""
    for account in ctx.find("account"):
        if account["name"] != "system":
            default_group(ctx, account["id"])


COMMANDS = {
    "listSecurityGroups": _list_security_groups,
    "createSecurityGroup": _create_security_group,
    "deleteSecurityGroup": _delete_security_group,
    "authorizeSecurityGroupIngress": _authorize("ingress"),
    "authorizeSecurityGroupEgress": _authorize("egress"),
    "revokeSecurityGroupIngress": _revoke("ingress"),
    "revokeSecurityGroupEgress": _revoke("egress"),
}
JOB_ACTIONS = {
    "securitygroup_authorize": _job_authorize,
    "securitygroup_revoke": _job_revoke,
}
# SecurityGroupRule tags (createTags resourcetype=SecurityGroupRule) belong to the rule's group.
TAG_RESOLVERS = {"SecurityGroupRule": _rule_owner}
