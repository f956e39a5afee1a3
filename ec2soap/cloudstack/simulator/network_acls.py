"""Simulator: network ACL lists and their items (NetworkACLServiceImpl / NetworkACLManagerImpl behaviour;
protocol.md §15.5).

Lists are kind "networkacllist" (the two defaults, seeded by vpcs.seed, have no VPC and cannot change); items
are kind "networkacl" with the list's `aclid`. A tier's list is its network doc's `aclid`.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator.context import SUCCESS, Ctx, JobStarted, Listing, keyword_filter, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied

__all__ = ["COMMANDS", "JOB_ACTIONS", "TAG_RESOLVERS", "render_list", "render_item"]

_PROTOCOLS = ("tcp", "udp", "icmp", "all")
_TRAFFIC = {"ingress": "Ingress", "egress": "Egress"}


def render_list(ctx: Ctx, acl: dict, command: str = "listNetworkACLLists") -> dict:
    out = dict(acl)
    if acl.get("vpcid"):
        out["vpcname"] = (ctx.get("vpc", acl["vpcid"], removed=True) or {}).get("name", "")
    return public_fields(out, spec.command(command)["response"])


def render_item(ctx: Ctx, item: dict, command: str = "listNetworkACLs") -> dict:
    out = dict(item, tags=ctx.tags.of("NetworkACL", item["id"]))
    return public_fields(out, spec.command(command)["response"])


def _may_change(ctx: Ctx, acl: dict) -> dict:
    """NetworkACLServiceImpl.validateNetworkAcl: not a default list, and the caller may act on its VPC."""
    if acl.get("_default"):
        raise param_error("Default ACL cannot be modified")
    vpc = ctx.get("vpc", acl.get("vpcid"))
    if vpc is None:
        raise param_error(f"Unable to find Vpc associated with the NetworkACL [{acl['id']}]")
    _check_access(ctx, vpc)
    return vpc


def _check_access(ctx: Ctx, vpc: dict) -> None:
    if not ctx.caller.is_admin and vpc.get("accountid") != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate with "
                                f"resource {vpc['id']}")


# -- lists ---------------------------------------------------------------------------------------------------------
def _create_list(ctx: Ctx, p: dict) -> JobStarted:
    vpc = ctx.get("vpc", p["vpcid"])
    if vpc is None:
        raise param_error("Unable to find VPC")
    _check_access(ctx, vpc)
    acl = ctx.insert("networkacllist", {
        "name": p["name"], "description": p.get("description") or p["name"], "vpcid": vpc["id"],
        "fordisplay": p.get("fordisplay", True) if ctx.caller.is_admin else True, "accountid": vpc["accountid"],
    }, account_id=vpc["accountid"])
    return ctx.start_job("acllist_create", {"id": acl["id"]}, instance_type="NetworkAcl", object_id=acl["id"])


def _job_create_list(ctx: Ctx, args: dict) -> dict:
    acl = ctx.get("networkacllist", args["id"])
    if acl is None:
        raise SimError(530, f"Unable to find ACL {args['id']}", 4250)
    return {"networkacllist": render_list(ctx, acl, "createNetworkACLList")}


def _list_lists(ctx: Ctx, p: dict) -> Listing:
    """The scope's VPCs' lists and, with or without vpcid, the two defaults (their vpc id is 0)."""
    # ACL lists and items are deleted outright (their tables keep no `removed`), so a deleted one's uuid names
    # nothing; VPCs and networks are only marked removed.
    for name, kind in (("id", "networkacllist"), ("vpcid", "vpc"), ("networkid", "network")):
        if p.get(name) and ctx.get(kind, p[name], removed=kind in ("vpc", "network")) is None:
            raise invalid_value(ctx.command, name, p[name])
    scope = ctx.scope_accounts(p)
    rows = [a for a in ctx.find("networkacllist") if a.get("_default") or scope is None
            or a.get("accountid") == scope]
    if p.get("vpcid"):
        rows = [a for a in rows if a.get("_default") or a.get("vpcid") == p["vpcid"]]
    if p.get("networkid"):
        net = ctx.get("network", p["networkid"]) or {}
        rows = [a for a in rows if a["id"] == net.get("aclid")]
    for name in ("id", "name"):
        if p.get(name):
            rows = [a for a in rows if a[name] == p[name]]
    rows = keyword_filter(rows, p.get("keyword"), "name", "description")
    return Listing([render_list(ctx, a) for a in rows])


def _delete_list(ctx: Ctx, p: dict) -> JobStarted:
    acl = ctx.get("networkacllist", p["id"])
    if acl is None:
        raise invalid_value(ctx.command, "id", p["id"])
    if acl.get("_default"):
        raise param_error("Default ACL cannot be removed")
    vpc = ctx.get("vpc", acl.get("vpcid"))
    if vpc is None:
        raise param_error("Unable to find specified VPC associated with the ACL")
    _check_access(ctx, vpc)
    return ctx.start_job("acllist_delete", {"id": acl["id"]}, instance_type="NetworkAcl")


def _job_delete_list(ctx: Ctx, args: dict) -> Any:
    acl = ctx.get("networkacllist", args["id"])
    if acl is None:
        raise param_error("Unable to find specified ACL")
    tiers = ctx.find("network", where=lambda n: n.get("aclid") == acl["id"])
    if tiers:
        # NetworkACLManagerImpl.deleteNetworkACL: a CloudRuntimeException, so a 530 in the job.
        raise SimError(530, f"ACL is still associated with {len(tiers)} tier(s). Cannot delete network ACL: "
                            f"{acl['id']}", 4250)
    gateways = ctx.find("privategateway", where=lambda g: g.get("aclid") == acl["id"])
    if gateways:
        raise SimError(530, f"ACL is still associated with {len(gateways)} private gateway(s). Cannot delete "
                            f"network ACL: {acl['id']}", 4250)
    for item in ctx.find("networkacl", where=lambda i: i.get("aclid") == acl["id"]):
        ctx.tags.drop("NetworkACL", item["id"])
        ctx.remove("networkacl", item["id"])
    ctx.remove("networkacllist", acl["id"])
    return SUCCESS


def _replace_list(ctx: Ctx, p: dict) -> JobStarted:
    acl = ctx.get("networkacllist", p["aclid"])
    if acl is None:
        raise invalid_value(ctx.command, "aclid", p["aclid"])
    return ctx.start_job("acllist_replace", {k: p.get(k) for k in ("aclid", "networkid", "gatewayid")})


def _job_replace_list(ctx: Ctx, args: dict) -> Any:
    # ReplaceNetworkACLListCmd.execute checks the pair inside the job: a bare ServerApiException (530).
    if args.get("networkid") and args.get("gatewayid"):
        raise SimError(530, "Network ID and private gateway can't be passed at the same time", 9999)
    if not args.get("networkid") and not args.get("gatewayid"):
        raise SimError(530, "Network ID and private gateway can't be null at the same time", 9999)
    acl = ctx.get("networkacllist", args["aclid"])
    if acl is None:
        raise param_error("Unable to find specified NetworkACL")
    kind, key = ("network", "networkid") if args.get("networkid") else ("privategateway", "gatewayid")
    target = ctx.get(kind, args[key])
    if target is None:
        raise param_error("Unable to find specified Network" if kind == "network"
                          else "Unable to find specified private gateway")
    if kind == "network" and not target.get("vpcid"):
        raise param_error(f"Network is not part of a VPC: {target['id']}")
    vpc = ctx.get("vpc", target.get("vpcid"))
    if vpc is None:
        raise param_error("Unable to find specified vpc id")
    _check_access(ctx, vpc)
    if not acl.get("_default") and acl.get("vpcid") != vpc["id"]:
        what = "Network" if kind == "network" else "private gateway"
        raise param_error(f"{what}: {target['id']} and ACL: {acl['id']} do not belong to the same VPC")
    if kind == "network" and "networkacl" not in {s["name"].lower() for s in target.get("service", [])}:
        raise param_error("Cannot apply NetworkACL. Network Offering does not support NetworkACL service")
    target.update(aclid=acl["id"], aclname=acl["name"])
    ctx.save(kind, target)
    return SUCCESS


# -- items ---------------------------------------------------------------------------------------------------------
def _checked_item(item: dict) -> None:
    """NetworkACLServiceImpl.validateNetworkACLItem: ports, CIDRs, protocol, ICMP type and code."""
    start, end, protocol = item.get("startport"), item.get("endport"), str(item.get("protocol") or "")
    if start is not None or end is not None:
        for value, what in ((start, "Start"), (end, "End")):
            if value is None or not 0 <= value <= 65535:
                raise param_error(f"{what} public port is an invalid value: {value}")
        if start > end:
            raise param_error(f"Start port can't be bigger than end port [startport={start},endport={end}]")
        if protocol.lower() == "all":
            raise param_error("start port and end port must be null if protocol = 'all'")
    for cidr in item.get("_cidrs", []):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SimError(431, f"Source cidrs formatting error {cidr}", 9999) from None
    if protocol.isdigit():
        if not 0 <= int(protocol) <= 255:
            raise param_error(f"Invalid protocol number: {int(protocol)}")
    elif protocol.lower() not in _PROTOCOLS:
        raise param_error(f"Invalid protocol [{protocol}]. Expected one of: [{','.join(_PROTOCOLS)}]")
    icmp = protocol.lower() == "icmp"
    if not icmp and (item.get("icmptype") is not None or item.get("icmpcode") is not None):
        raise param_error("Can specify icmpCode and icmpType for ICMP protocol only")
    if icmp and (start is not None or end is not None):
        raise param_error("Can't specify start/end port when protocol is ICMP")
    icmp_type, icmp_code = item.get("icmptype"), item.get("icmpcode")
    if icmp_type is not None and icmp_type != -1 and not 0 <= icmp_type <= 255:
        raise param_error(f"Invalid icmp type [{icmp_type}]. It should belong to [0-255] range")
    if icmp_type is not None and icmp_code is not None and icmp_code != -1 and not 0 <= icmp_code <= 16:
        raise param_error(f"Invalid icmp code [{icmp_code}]. It should belong to [0-16] range and can be defined "
                          f"when icmpType belongs to [0-40] range")


def _action(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in ("allow", "deny"):
        raise param_error(f"Invalid action [{value}]. Permitted actions are Allow and Deny")
    return "Deny" if value.lower() == "deny" else "Allow"


def _traffic(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in _TRAFFIC:
        raise param_error(f"Invalid traffic type {value}")
    return _TRAFFIC[value.lower()]


def _number_free(ctx: Ctx, acl: dict, number: int, exclude: str | None = None) -> None:
    if number < 1:
        raise param_error(f"Invalid number [{number}]. Number cannot be < 1")
    if ctx.find("networkacl", where=lambda i: i.get("aclid") == acl["id"] and i.get("number") == number
                and i["id"] != exclude):
        raise param_error(f"ACL item with number {number} already exists in ACL: {acl['id']}")


def _list_for_network(ctx: Ctx, p: dict) -> dict:
    """createAclListIfNeeded: the tier's list, made (and applied) first when the tier has none."""
    net = ctx.get("network", p["networkid"])
    if net is None:
        raise invalid_value(ctx.command, "networkid", p["networkid"])
    if not net.get("vpcid"):
        raise param_error(f"Network: {net['id']} does not belong to VPC")
    if net.get("aclid"):
        return ctx.get("networkacllist", net["aclid"]) or {}
    if "networkacl" not in {s["name"].lower() for s in net.get("service", [])}:
        raise param_error("Network Offering does not support NetworkACL service")
    vpc = ctx.get("vpc", net["vpcid"])
    if vpc is None:
        raise param_error("Unable to find Vpc associated with the Network")
    _check_access(ctx, vpc)
    name = f"VPC_{vpc['name']}_Tier_{net['name']}_ACL_{net['id']}"
    acl = ctx.insert("networkacllist", {"name": name, "description": f"ACL for {name}", "vpcid": vpc["id"],
                                        "fordisplay": True, "accountid": vpc["accountid"]},
                     account_id=vpc["accountid"])
    net.update(aclid=acl["id"], aclname=name)
    ctx.save("network", net)
    return acl


def _create_item(ctx: Ctx, p: dict) -> JobStarted:
    if p.get("aclid"):
        acl = ctx.get("networkacllist", p["aclid"])
        if acl is None:
            raise param_error("Unable to find specified ACL.")
    elif p.get("networkid"):
        acl = _list_for_network(ctx, p)
    else:
        raise param_error("Cannot create Network ACL Item. ACL Id or network Id is required")
    vpc = _may_change(ctx, acl)
    if p.get("number") is not None:
        _number_free(ctx, acl, p["number"])
    action = _action(p.get("action")) or "Allow"
    numbers = [i.get("number", 0) for i in ctx.find("networkacl", where=lambda i: i.get("aclid") == acl["id"])]
    protocol = p["protocol"]
    icmp = protocol.lower() == "icmp"
    # CreateNetworkACLCmd: ICMP type and code default to -1 (any), the CIDR list to 0.0.0.0/0.
    cidrs = p.get("cidrlist") or ["0.0.0.0/0"]
    item: dict[str, Any] = {
        "aclid": acl["id"], "aclname": acl["name"], "number": p.get("number") or max(numbers, default=0) + 1,
        "action": action, "traffictype": _traffic(p.get("traffictype")) or "Ingress",
        "protocol": protocol.lower() if not protocol.isdigit() else protocol, "cidrlist": ",".join(cidrs),
        "state": "Add", "fordisplay": p.get("fordisplay", True) if ctx.caller.is_admin else True,
        "accountid": vpc["accountid"], "_cidrs": cidrs,
    }
    for name in ("startport", "endport", "reason"):
        if p.get(name) is not None:
            item[name] = p[name]
    if icmp:
        item["icmptype"] = p.get("icmptype", -1)
        item["icmpcode"] = p.get("icmpcode", -1)
    else:
        for name in ("icmptype", "icmpcode"):
            if p.get(name) is not None:
                item[name] = p[name]
    if item.get("startport") is not None and item.get("endport") is None:
        item["endport"] = item["startport"]  # CreateNetworkACLCmd.getSourcePortEnd
    _checked_item(item)
    item = ctx.insert("networkacl", item, account_id=vpc["accountid"])
    return ctx.start_job("acl_create", {"id": item["id"]}, instance_type="NetworkAclItem", object_id=item["id"])


def _job_create_item(ctx: Ctx, args: dict) -> dict:
    item = ctx.get("networkacl", args["id"])
    if item is None:
        raise SimError(530, f"Failed to apply Network ACL rule: {args['id']}", 4250)
    item["state"] = "Active"
    ctx.save("networkacl", item)
    return {"networkacl": render_item(ctx, item, "createNetworkACL")}


def _item(ctx: Ctx, p: dict) -> tuple[dict, dict]:
    item = ctx.get("networkacl", p["id"])
    if item is None:
        raise invalid_value(ctx.command, "id", p["id"])
    acl = ctx.get("networkacllist", item["aclid"]) or {}
    if acl.get("_default"):
        raise param_error("Default ACL cannot be modified")
    _may_change(ctx, acl)
    return item, acl


def _update_item(ctx: Ctx, p: dict) -> JobStarted:
    item, acl = _item(ctx, p)
    changed = dict(item)
    if p.get("number") is not None and p["number"] != item.get("number"):
        _number_free(ctx, acl, p["number"], exclude=item["id"])
        changed["number"] = p["number"]
    if p.get("protocol"):
        changed["protocol"] = p["protocol"].lower() if not p["protocol"].isdigit() else p["protocol"]
    if p.get("action"):
        changed["action"] = _action(p["action"])
    if p.get("traffictype"):
        changed["traffictype"] = _traffic(p["traffictype"])
    if p.get("cidrlist"):
        changed.update(cidrlist=",".join(p["cidrlist"]), _cidrs=p["cidrlist"])
    partial = p.get("partialupgrade", True)
    for name in ("startport", "endport", "icmptype", "icmpcode", "reason"):
        if p.get(name) is not None:
            changed[name] = p[name]
        elif not partial:
            changed.pop(name, None)
    if "fordisplay" in p and ctx.caller.is_admin:
        changed["fordisplay"] = p["fordisplay"]
    _checked_item(changed)
    return ctx.start_job("acl_update", {"id": item["id"], "item": changed}, instance_type="NetworkAclItem")


def _job_update_item(ctx: Ctx, args: dict) -> dict:
    if ctx.get("networkacl", args["id"]) is None:
        raise param_error("Unable to find ACL item to update")
    item = ctx.save("networkacl", args["item"])
    return {"networkacl": render_item(ctx, item, "updateNetworkACLItem")}


def _delete_item(ctx: Ctx, p: dict) -> JobStarted:
    item = ctx.get("networkacl", p["id"])
    if item is None:
        raise invalid_value(ctx.command, "id", p["id"])
    acl = ctx.get("networkacllist", item["aclid"]) or {}
    if acl.get("_default"):
        raise param_error("ACL Items in default ACL cannot be deleted")
    _may_change(ctx, acl)
    return ctx.start_job("acl_delete", {"id": item["id"]}, instance_type="NetworkAclItem")


def _job_delete_item(ctx: Ctx, args: dict) -> Any:
    if ctx.get("networkacl", args["id"]) is not None:
        ctx.tags.drop("NetworkACL", args["id"])
        ctx.remove("networkacl", args["id"])
    return SUCCESS


def _list_items(ctx: Ctx, p: dict) -> Listing:
    for name, kind in (("id", "networkacl"), ("aclid", "networkacllist"), ("networkid", "network")):
        if p.get(name) and ctx.get(kind, p[name], removed=kind == "network") is None:
            raise invalid_value(ctx.command, name, p[name])
    scope = ctx.scope_accounts(p)
    defaults = {a["id"] for a in ctx.find("networkacllist", where=lambda a: a.get("_default"))}
    rows = [i for i in ctx.find("networkacl") if i["aclid"] in defaults or scope is None
            or i.get("accountid") == scope]
    if p.get("networkid"):
        net = ctx.get("network", p["networkid"]) or {}
        rows = [i for i in rows if i["aclid"] == net.get("aclid")]
    if p.get("aclid"):
        rows = [i for i in rows if i["aclid"] == p["aclid"]]
    if p.get("id"):
        rows = [i for i in rows if i["id"] == p["id"]]
    for name in ("traffictype", "protocol", "action"):
        if p.get(name):
            rows = [i for i in rows if str(i.get(name, "")).lower() == p[name].lower()]
    rows = keyword_filter(rows, p.get("keyword"), "protocol", "cidrlist", "reason")
    rows = ctx.tags.filter(rows, "NetworkACL", p.get("tags"))
    rows.sort(key=lambda i: (i["aclid"], i.get("number", 0)))
    return Listing([render_item(ctx, i) for i in rows])


COMMANDS = {
    "createNetworkACLList": _create_list,
    "listNetworkACLLists": _list_lists,
    "deleteNetworkACLList": _delete_list,
    "replaceNetworkACLList": _replace_list,
    "createNetworkACL": _create_item,
    "updateNetworkACLItem": _update_item,
    "deleteNetworkACL": _delete_item,
    "listNetworkACLs": _list_items,
}
JOB_ACTIONS = {
    "acllist_create": _job_create_list,
    "acllist_delete": _job_delete_list,
    "acllist_replace": _job_replace_list,
    "acl_create": _job_create_item,
    "acl_update": _job_update_item,
    "acl_delete": _job_delete_item,
}
TAG_RESOLVERS = {"NetworkACL": lambda ctx, uuid: ctx.get("networkacl", uuid),
                 "NetworkACLList": lambda ctx, uuid: ctx.get("networkacllist", uuid)}
