"""Simulator: VPCs and their offerings (VpcManagerImpl behaviour), and the advanced zone they live in.

The advanced zone is seeded here (when SimulatorConfig.advanced_zone is set) because everything in it exists for
VPCs and isolated networks: the zone itself (networktype Advanced, no security groups), its own public range,
the "Default VPC offering", the isolated and VPC-tier network offerings and the two default ACL lists with the
items schema-410to420.sql gives them. A VPC is kind "vpc"; its tiers are "network" docs with a `vpcid`.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.accounts import owner_account, owner_fields
from ec2soap.cloudstack.simulator.addresses import allocate_address
from ec2soap.cloudstack.simulator.context import (SUCCESS, Ctx, JobStarted, Listing, cs_date, keyword_filter,
                                                  public_fields)
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied

__all__ = ["COMMANDS", "JOB_ACTIONS", "TAG_RESOLVERS", "seed", "ADVANCED_ZONE", "VPC_OFFERING",
           "ISOLATED_OFFERING", "TIER_OFFERING", "DEFAULT_DENY", "DEFAULT_ALLOW", "java_vpc", "render_vpc",
           "live_vpc", "services_of", "tiers_of", "check_cidr"]

ADVANCED_ZONE = "zone2"
VPC_OFFERING = "Default VPC offering"
ISOLATED_OFFERING = "DefaultIsolatedNetworkOfferingWithSourceNatService"
TIER_OFFERING = "DefaultIsolatedNetworkOfferingForVpcNetworks"
DEFAULT_DENY, DEFAULT_ALLOW = "default_deny", "default_allow"
# TEST-NET-2: the advanced zone's public range (the basic zone keeps addresses.PUBLIC_RANGE).
PUBLIC_RANGE = ("198.51.100.10", "198.51.100.250")
GUEST_CIDR = "10.1.1.0/24"  # the zone guest CIDR a fresh CloudStack 4.18 zone wizard proposes

_VR, _VPC_VR = "VirtualRouter", "VpcVirtualRouter"
# (service, provider, capabilities) as createDefaultVpcOffering and the two default network offerings have them.
_VPC_SERVICES = [("Dhcp", _VPC_VR, []), ("Dns", _VPC_VR, []), ("Lb", _VPC_VR, []), ("Gateway", "PrivateGateway", []),
                 ("StaticNat", _VPC_VR, []), ("SourceNat", _VPC_VR, [("RedundantRouter", "false")]),
                 ("NetworkACL", _VPC_VR, []), ("PortForwarding", _VPC_VR, []), ("UserData", _VPC_VR, []),
                 ("Vpn", _VPC_VR, [])]
_TIER_SERVICES = [("Dhcp", _VPC_VR, []), ("Dns", _VPC_VR, []), ("UserData", _VPC_VR, []),
                  ("SourceNat", _VPC_VR, [("SupportedSourceNatTypes", "peraccount")]),
                  ("StaticNat", _VPC_VR, []), ("PortForwarding", _VPC_VR, []),
                  ("Lb", _VPC_VR, [("SupportedLBIsolation", "dedicated")]), ("NetworkACL", _VPC_VR, []),
                  ("Vpn", _VPC_VR, [])]
_ISOLATED_SERVICES = [("Dhcp", _VR, []), ("Dns", _VR, []), ("UserData", _VR, []), ("Firewall", _VR, []),
                      ("Gateway", _VR, []), ("Lb", _VR, [("SupportedLBIsolation", "dedicated")]),
                      ("SourceNat", _VR, [("SupportedSourceNatTypes", "peraccount")]), ("StaticNat", _VR, []),
                      ("PortForwarding", _VR, []), ("Vpn", _VR, [])]


def services_of(services: list[tuple[str, str, list[tuple[str, str]]]]) -> list[dict]:
    return [{"name": name, "provider": [{"name": provider}],
             "capability": [{"name": c, "value": v, "canchooseservicecapability": False} for c, v in caps]}
            for name, provider, caps in services]


# -- helpers other families use ------------------------------------------------------------------------------------
def java_vpc(vpc: dict) -> str:
    # CloudStack quirk: messages print VpcVO.toString(), "[VPC [<internal id>-<name>]".
    return f"[VPC [{vpc.get('_dbid', 1)}-{vpc['name']}]"


def tiers_of(ctx: Ctx, vpc_id: str) -> list[dict]:
    return ctx.find("network", where=lambda n: n.get("vpcid") == vpc_id)


def live_vpc(ctx: Ctx, vpc_id: str, param: str = "vpcid") -> dict:
    """The VPC a uuid parameter names, the caller's own (or any, for an admin)."""
    vpc = ctx.get("vpc", vpc_id)
    return ctx.owned(vpc, "vpc", param, vpc_id)


def check_cidr(text: str, what: str = "CIDR") -> ipaddress.IPv4Network:
    """NetUtils.isValidIp4Cidr: a.b.c.d/n with the host bits clear."""
    try:
        if "/" not in text:
            raise ValueError(text)
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        raise param_error(f"Invalid {what} specified {text}") from None
    return net


def render_vpc(ctx: Ctx, vpc: dict, command: str = "listVPCs") -> dict:
    out = dict(vpc)
    out["tags"] = ctx.tags.of("Vpc", vpc["id"])
    from_zones = spec.command("listNetworks")["response"]
    out["network"] = [public_fields(dict(n, tags=ctx.tags.of("Network", n["id"])), from_zones)
                      for n in tiers_of(ctx, vpc["id"])]
    return public_fields(out, spec.command(command)["response"])


# -- VPC offerings -------------------------------------------------------------------------------------------------
def _list_vpc_offerings(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain")
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")
    if p.get("id") and ctx.get("vpcoffering", p["id"]) is None:
        raise invalid_value(ctx.command, "id", p["id"])
    rows = ctx.find("vpcoffering")
    for name in ("id", "name", "displaytext", "isdefault"):
        if p.get(name) is not None:
            rows = [o for o in rows if o.get(name) == p[name]]
    if p.get("state"):
        rows = [o for o in rows if o.get("state", "").lower() == p["state"].lower()]
    if p.get("supportedservices"):
        wanted = {s.lower() for s in p["supportedservices"]}
        rows = [o for o in rows if wanted <= {s["name"].lower() for s in o.get("service", [])}]
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    return Listing([public_fields(o, spec.command("listVPCOfferings")["response"]) for o in rows])


# -- VPCs ----------------------------------------------------------------------------------------------------------
def _create_vpc(ctx: Ctx, p: dict) -> JobStarted:
    """createVPC (create-style async): the VPC exists, Enabled, before the job starts its router (which is when
    CloudStack assigns the source NAT address: VpcRouterDeploymentDefinition)."""
    owner = owner_account(ctx, p)
    zone = ctx.lookup("zone", p["zoneid"], "zoneid")
    offering = ctx.get("vpcoffering", p["vpcofferingid"])
    if offering is None:
        raise invalid_value(ctx.command, "vpcofferingid", p["vpcofferingid"])
    if offering.get("state") != "Enabled":
        raise param_error("Unable to find vpc offering in Enabled state by specified id")
    if zone.get("allocationstate") == "Disabled" and not ctx.caller.is_admin:
        raise permission_denied("Cannot perform this operation since specified Zone is currently disabled")
    if zone.get("networktype") != "Advanced":
        raise param_error(f"Can't create VPC in zone {zone['id']}: VPCs need an Advanced zone")
    accounts.check_limit(ctx, "vpc", account=owner)
    cidr = check_cidr(p["cidr"])
    if not cidr.is_private:
        raise param_error(f"Guest Cidr {p['cidr']} is not RFC1918 compliant")
    ordinal = next((i for i, a in enumerate(ctx.find("account"), 1) if a["id"] == owner["id"]), 2)
    domain = p.get("networkdomain") or f"cs{ordinal:x}cloud.internal"
    vpc: dict[str, Any] = {
        "name": p["name"], "displaytext": p["displaytext"], "cidr": str(cidr), "zoneid": zone["id"],
        "zonename": zone["name"], "vpcofferingid": offering["id"], "vpcofferingname": offering["name"],
        "state": "Enabled", "created": cs_date(ctx.now), "networkdomain": domain, "restartrequired": False,
        "redundantvpcrouter": False, "distributedvpcrouter": False, "regionlevelvpc": False,
        "fordisplay": p.get("fordisplay", True) if ctx.caller.is_admin else True,
        "service": offering.get("service", []), "publicmtu": p.get("publicmtu", 1500), "hasannotations": False,
        **owner_fields(ctx, owner), "_dbid": ctx.next_counter("vpc_dbid"),
    }
    for name in ("dns1", "dns2"):
        if p.get(name):
            vpc[name] = p[name]
    vpc = ctx.insert("vpc", vpc, account_id=owner["id"])
    return ctx.start_job("vpc_create", {"id": vpc["id"], "start": p.get("start", True)}, instance_type="None",
                         object_id=vpc["id"])


def source_nat_for(ctx: Ctx, vpc: dict) -> None:
    """Give VPC its source NAT address if it has none yet."""
    if ctx.find("ipaddress", where=lambda d: d.get("vpcid") == vpc["id"] and d.get("issourcenat")):
        return
    owner = ctx.get("account", vpc["accountid"]) or ctx.caller.account
    allocate_address(ctx, owner, vpc["zoneid"], vpc=vpc, sourcenat=True)


def _job_create(ctx: Ctx, args: dict) -> dict:
    vpc = ctx.get("vpc", args["id"])
    if vpc is None:
        raise SimError(530, f"Unable to find VPC {args['id']}", 4250)
    if args.get("start", True):
        source_nat_for(ctx, vpc)
    return {"vpc": render_vpc(ctx, vpc, "createVPC")}


def _list_vpcs(ctx: Ctx, p: dict) -> Listing:
    for name, kind in (("zoneid", "zone"), ("vpcofferingid", "vpcoffering"), ("id", "vpc")):
        if p.get(name) and ctx.get(kind, p[name], removed=True) is None:
            raise invalid_value(ctx.command, name, p[name])
    rows = ctx.find("vpc", account_id=ctx.scope_accounts(p))
    for name in ("id", "zoneid", "vpcofferingid", "restartrequired", "cidr"):
        if p.get(name) is not None:
            rows = [v for v in rows if v.get(name) == p[name]]
    # CloudStack quirk: name and displaytext are matched with LIKE %value% (VpcManagerImpl.listVpcs).
    for name in ("name", "displaytext"):
        if p.get(name):
            rows = [v for v in rows if p[name].lower() in str(v.get(name, "")).lower()]
    if p.get("state"):
        rows = [v for v in rows if v["state"].lower() == p["state"].lower()]
    if "fordisplay" in p and ctx.caller.is_admin:
        rows = [v for v in rows if v.get("fordisplay", True) == p["fordisplay"]]
    if p.get("supportedservices"):
        wanted = {s.lower() for s in p["supportedservices"]}
        rows = [v for v in rows if wanted <= {s["name"].lower() for s in v.get("service", [])}]
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    rows = ctx.tags.filter(rows, "Vpc", p.get("tags"))
    return Listing([render_vpc(ctx, v) for v in rows])


def _update_vpc(ctx: Ctx, p: dict) -> JobStarted:
    vpc = live_vpc(ctx, p["id"], "id")
    return ctx.start_job("vpc_update", {k: p[k] for k in ("id", "name", "displaytext", "fordisplay", "publicmtu")
                                        if k in p}, instance_type="Vpc")


def _job_update(ctx: Ctx, args: dict) -> dict:
    vpc = ctx.get("vpc", args["id"])
    if vpc is None:
        raise param_error("Unable to find vpc by id " + args["id"])
    for name in ("name", "displaytext", "publicmtu"):
        if args.get(name) is not None:
            vpc[name] = args[name]
    if "fordisplay" in args and ctx.caller.is_admin:
        vpc["fordisplay"] = args["fordisplay"]
    ctx.save("vpc", vpc)
    return {"vpc": render_vpc(ctx, vpc, "updateVPC")}


def _restart_vpc(ctx: Ctx, p: dict) -> JobStarted:
    vpc = live_vpc(ctx, p["id"], "id")
    if p.get("makeredundant") and not p.get("cleanup"):
        # RestartVPCCmd: a redundant router only comes from a clean restart.
        raise param_error("To make the VPC redundant, cleanup must be set to true")
    return ctx.start_job("vpc_restart", {"id": vpc["id"], "redundant": bool(p.get("makeredundant"))},
                         instance_type="Vpc")


def _job_restart(ctx: Ctx, args: dict) -> Any:
    vpc = ctx.get("vpc", args["id"])
    if vpc is None:
        raise param_error("Unable to find Enabled VPC by id specified")
    vpc["restartrequired"] = False
    if args.get("redundant"):
        vpc["redundantvpcrouter"] = True
    source_nat_for(ctx, vpc)
    ctx.save("vpc", vpc)
    for tier in tiers_of(ctx, vpc["id"]):
        if tier.get("restartrequired"):
            tier["restartrequired"] = False
            ctx.save("network", tier)
    return SUCCESS


def _delete_vpc(ctx: Ctx, p: dict) -> JobStarted:
    vpc = ctx.get("vpc", p["id"])
    if vpc is None:
        raise param_error("unable to find VPC id=" + p["id"])
    ctx.owned(vpc, "vpc", "id", p["id"])
    return ctx.start_job("vpc_delete", {"id": vpc["id"]}, instance_type="Vpc")


def _job_delete(ctx: Ctx, args: dict) -> Any:
    vpc = ctx.get("vpc", args["id"])
    if vpc is None:
        raise param_error("unable to find VPC id=" + args["id"])
    tiers = tiers_of(ctx, vpc["id"])
    if tiers:
        raise param_error(f"Can't delete VPC {java_vpc(vpc)} as its used by {len(tiers)} networks")
    # Cleanup as destroyVpc does it: its addresses are released (the source NAT one too), its own ACL lists,
    # their items and its static routes go.
    for ip in ctx.find("ipaddress", where=lambda d: d.get("vpcid") == vpc["id"]):
        ctx.tags.drop("PublicIpAddress", ip["id"])
        ctx.remove("ipaddress", ip["id"])
    for acl in ctx.find("networkacllist", where=lambda a: a.get("vpcid") == vpc["id"]):
        for item in ctx.find("networkacl", where=lambda i: i.get("aclid") == acl["id"]):
            ctx.tags.drop("NetworkACL", item["id"])
            ctx.remove("networkacl", item["id"])
        ctx.remove("networkacllist", acl["id"])
    for route in ctx.find("staticroute", where=lambda r: r.get("vpcid") == vpc["id"]):
        ctx.tags.drop("StaticRoute", route["id"])
        ctx.remove("staticroute", route["id"])
    for gateway in ctx.find("privategateway", where=lambda g: g.get("vpcid") == vpc["id"]):
        ctx.remove("privategateway", gateway["id"])
    ctx.tags.drop("Vpc", vpc["id"])
    vpc["state"] = "Inactive"
    ctx.save("vpc", vpc)
    ctx.remove("vpc", vpc["id"])
    return SUCCESS


# -- seed ----------------------------------------------------------------------------------------------------------
def seed(ctx: Ctx) -> None:
    """The advanced zone next to the basic one (only with SimulatorConfig.advanced_zone; idempotent)."""
    if not ctx.config.advanced_zone or ctx.find("zone", name=ADVANCED_ZONE):
        return
    created = cs_date(ctx.now)
    basic = ctx.find("zone")
    ctx.insert("zone", {
        "name": ADVANCED_ZONE, "description": "Simulated Advanced zone with VPCs and isolated networks",
        "networktype": "Advanced", "securitygroupsenabled": False, "allocationstate": "Enabled",
        "dns1": "8.8.8.8", "dns2": "8.8.4.4", "internaldns1": "10.147.28.6", "dhcpprovider": "VirtualRouter",
        "guestcidraddress": GUEST_CIDR, "localstorageenabled": False, "zonetoken": ctx.new_uuid(),
        "hasannotations": False, "allowuserspecifyvrmtu": False, "routerprivateinterfacemaxmtu": 1500,
        "routerpublicinterfacemaxmtu": 1500, "resourcedetails": {}, "type": "Core",
        "_cpu_cores": 128, "_memory_mb": 524288, "_hypervisors": (basic[0].get("_hypervisors") if basic else None)
        or ["Simulator"], "_publicrange": list(PUBLIC_RANGE),
    })
    ctx.insert("vpcoffering", {
        "name": VPC_OFFERING, "displaytext": VPC_OFFERING, "isdefault": True, "state": "Enabled",
        "service": services_of(_VPC_SERVICES), "distributedvpcrouter": False, "supportsregionLevelvpc": False,
        "internetprotocol": "IPv4", "created": created,
    })
    common = {"traffictype": "Guest", "isdefault": True, "specifyvlan": False, "specifyipranges": False,
              "networkrate": 200, "state": "Enabled", "guestiptype": "Isolated", "ispersistent": False,
              "supportsstrechedl2subnet": False, "supportspublicaccess": False, "fortungsten": False,
              "internetprotocol": "IPv4", "created": created, "hasannotations": False, "details": {},
              "egressdefaultpolicy": False}
    ctx.insert("networkoffering", {
        **common, "name": ISOLATED_OFFERING,
        "displaytext": "Offering for Isolated networks with Source Nat service enabled", "conservemode": True,
        "availability": "Required", "forvpc": False, "service": services_of(_ISOLATED_SERVICES)})
    ctx.insert("networkoffering", {
        **common, "name": TIER_OFFERING,
        "displaytext": "Offering for Isolated VPC networks with Source Nat service enabled",
        "conservemode": False, "availability": "Optional", "forvpc": True, "service": services_of(_TIER_SERVICES)})
    for name, description, action in ((DEFAULT_DENY, "Default Network ACL Deny All", "Deny"),
                                      (DEFAULT_ALLOW, "Default Network ACL Allow All", "Allow")):
        acl = ctx.insert("networkacllist", {"name": name, "description": description, "fordisplay": True,
                                            "_default": True, "_dbid": 1 if action == "Deny" else 2})
        for number, traffic in ((1, "Ingress"), (2, "Egress")):
            ctx.insert("networkacl", {
                "aclid": acl["id"], "aclname": name, "number": number, "action": action, "traffictype": traffic,
                "protocol": "all", "cidrlist": "0.0.0.0/0", "state": "Active", "fordisplay": True, "tags": []})


COMMANDS = {
    "listVPCOfferings": _list_vpc_offerings,
    "createVPC": _create_vpc,
    "listVPCs": _list_vpcs,
    "updateVPC": _update_vpc,
    "restartVPC": _restart_vpc,
    "deleteVPC": _delete_vpc,
}
JOB_ACTIONS = {
    "vpc_create": _job_create,
    "vpc_update": _job_update,
    "vpc_restart": _job_restart,
    "vpc_delete": _job_delete,
}
TAG_RESOLVERS = {"Vpc": lambda ctx, uuid: ctx.get("vpc", uuid),
                 "VpcOffering": lambda ctx, uuid: ctx.get("vpcoffering", uuid),
                 "NetworkOffering": lambda ctx, uuid: ctx.get("networkoffering", uuid)}
