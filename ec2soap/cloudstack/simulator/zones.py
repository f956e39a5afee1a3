"""Simulator: the catalog a cloud is built on: zones, offerings, OS types, networks, global settings,
capabilities, resource limits and listApis (QueryManagerImpl, ConfigurationManagerImpl, ApiDiscoveryServiceImpl).

Seeded once; afterwards only configurations change (updateConfiguration). No HTTP here.
"""
from __future__ import annotations

from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.context import Ctx, Listing, cs_date, keyword_filter, public_fields
from ec2soap.cloudstack.simulator.errors import SimError, invalid_value, param_error, permission_denied

__all__ = ["COMMANDS", "ADMIN_ONLY", "seed", "CLOUDSTACK_VERSION", "HYPERVISOR"]

CLOUDSTACK_VERSION = "4.18.0.0"
HYPERVISOR = "Simulator"
MB = 1024 ** 2

# The default User role of CloudStack 4.18 may call the rest of this family.
ADMIN_ONLY = {"listConfigurations", "updateConfiguration"}

# EC2 instance types of the m1/c1 era as compute offerings: name → (cpus, MHz, memory MB, display text).
SERVICE_OFFERINGS = [
    ("t1.micro", 1, 500, 613, "Micro Instance, 1 vCPU, 613 MB RAM"),
    ("m1.small", 1, 1000, 1740, "Small Instance, 1 vCPU, 1.7 GB RAM"),
    ("m1.medium", 1, 2000, 3840, "Medium Instance, 1 vCPU, 3.75 GB RAM"),
    ("m1.large", 2, 2000, 7680, "Large Instance, 2 vCPUs, 7.5 GB RAM"),
    ("m1.xlarge", 4, 2000, 15360, "Extra Large Instance, 4 vCPUs, 15 GB RAM"),
    ("c1.medium", 2, 2500, 1740, "High-CPU Medium Instance, 2 vCPUs, 1.7 GB RAM"),
    ("c1.xlarge", 8, 2500, 7168, "High-CPU Extra Large Instance, 8 vCPUs, 7 GB RAM"),
]
# name → (GB, display text); 0 GB + customized is the size-on-request offering.
DISK_OFFERINGS = [("Custom", 0, "Custom Disk"), ("Small", 5, "Small Disk, 5 GB"),
                  ("Medium", 20, "Medium Disk, 20 GB"), ("Large", 100, "Large Disk, 100 GB")]
# OS category → OS type descriptions.
OS_TYPES = {
    "CentOS": ["CentOS 5.6 (64-bit)", "CentOS 7"],
    "Ubuntu": ["Ubuntu 22.04 LTS", "Ubuntu 20.04 LTS"],
    "Windows": ["Windows Server 2019 (64-bit)"],
    "Other": ["Other Linux (64-bit)", "Other (64-bit)"],
}
# (name, category, type, default, description); the value may differ from the default at seed time.
CONFIGURATIONS = [
    ("enable.ec2.api", "Advanced", "Boolean", "false", "enable EC2 API on CloudStack"),
    ("enable.s3.api", "Advanced", "Boolean", "false", "enable Amazon S3 API on CloudStack"),
    ("default.page.size", "Advanced", "Long", "500", "Default page size for API list* commands"),
    ("default.ui.page.size", "Advanced", "Long", "20",
     "The default pagesize to be used by UI and other clients when making list* API calls"),
    ("expunge.delay", "Advanced", "Integer", "86400",
     "Determines how long (in seconds) to wait before actually expunging destroyed vm. The default value = the "
     "default value of expunge.interval"),
    ("expunge.interval", "Advanced", "Integer", "86400",
     "The interval (in seconds) to wait before running the expunge thread."),
    ("integration.api.port", "Advanced", "Integer", "0",
     "Integration (unauthenticated) API port. To disable set it to 0 or negative."),
    ("vpc.max.networks", "Advanced", "Integer", "3", "Maximum number of networks per vpc"),
    ("allow.public.user.templates", "Advanced", "Boolean", "true",
     "If false, users will not be able to create public templates."),
    ("allow.user.create.projects", "Project Defaults", "Boolean", "true",
     "If regular user can create a project; true by default"),
    ("project.invite.required", "Project Defaults", "Boolean", "false",
     "If invitation confirmation is required when add account to project. Default value is false"),
    ("custom.diskoffering.size.min", "Advanced", "Long", "1", "Minimum size in GB for custom disk offering."),
    ("custom.diskoffering.size.max", "Advanced", "Long", "1024", "Maximum size in GB for custom disk offering."),
    ("allow.user.view.destroyed.vm", "Advanced", "Boolean", "false",
     "Determines whether users can view their destroyed or expunging vm "),
    ("allow.user.expunge.recover.vm", "Advanced", "Boolean", "false",
     "Determines whether users can expunge or recover their vm"),
    ("allow.user.expunge.recover.volume", "Advanced", "Boolean", "true",
     "Determines whether users can expunge or recover their volume"),
    ("api.throttling.enabled", "Advanced", "Boolean", "false", "Enable/disable Api rate limit"),
    ("kvm.snapshot.enabled", "Snapshots", "Boolean", "false",
     "Whether volume snapshot is enabled on running instances on a KVM host"),
    *[(accounts.LIMIT_SETTINGS[kind], "Account Defaults", "Long", str(accounts.DEFAULT_USER_LIMITS[kind]),
       f"How many {what} an account may have unless it has a limit of its own")
      for kind, what in (("vm", "user VMs"), ("ip", "public IPs"), ("template", "templates"),
                         ("snapshot", "snapshots"), ("volume", "volumes"), ("network", "networks"),
                         ("vpc", "VPCs"))],
]
# listResourceLimits names (Resource.ResourceType.getName()) for accounts.RESOURCE_TYPES ordinals.
_LIMIT_TYPE_NAMES = {0: "user_vm", 1: "public_ip", 2: "volume", 3: "snapshot", 4: "template", 5: "project",
                     6: "network", 7: "vpc", 8: "cpu", 9: "memory", 10: "primary_storage",
                     11: "secondary_storage"}
_ACTIVE_VM_STATES = ("Starting", "Running", "Stopping", "Migrating")
_GUEST_SERVICES = [
    ("Dhcp", "VirtualRouter", []), ("Dns", "VirtualRouter", []), ("UserData", "VirtualRouter", []),
    ("SecurityGroup", "SecurityGroupProvider", []),
    ("StaticNat", "Netscaler", [("ElasticIp", "true"), ("AssociatePublicIP", "true")]),
]


# -- helpers other families use --------------------------------------------------------------------------------


def _render(doc: dict, command: str) -> dict:
    return public_fields(doc, spec.command(command)["response"])


def _exact(items: list[dict], p: dict, *names: str) -> list[dict]:
    for name in names:
        if p.get(name) is not None:
            items = [i for i in items if i.get(name) == p[name]]
    return items


# -- zones --------------------------------------------------------------------------------------------------------
def _capacities(ctx: Ctx, zone: dict) -> list[dict]:
    """Memory and CPU-core capacity of the zone from the VMs that hold resources (CapacityManagerImpl)."""
    vms = ctx.find("vm", where=lambda v: v.get("zoneid") == zone["id"] and v.get("state") in _ACTIVE_VM_STATES)
    used_cores = sum(int(v.get("cpunumber") or 0) for v in vms)
    used_mem = sum(int(v.get("memory") or 0) for v in vms) * MB
    out = []
    for ctype, name, used, total in ((0, "MEMORY", used_mem, int(zone.get("_memory_mb", 0)) * MB),
                                     (90, "CPU_CORE", used_cores, int(zone.get("_cpu_cores", 0)))):
        percent = f"{(100.0 * used / total) if total else 0:.2f}"
        out.append({"type": ctype, "name": name, "zoneid": zone["id"], "zonename": zone["name"],
                    "capacityused": used, "capacityallocated": used, "capacitytotal": total,
                    "percentused": percent})
    return out


def _render_zone(ctx: Ctx, zone: dict, showcapacities: bool) -> dict:
    out = dict(zone)
    out["tags"] = ctx.tags.of("Zone", zone["id"])
    if showcapacities:
        out["capacity"] = _capacities(ctx, zone)
    return _render(out, "listZones")


def _list_zones(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, id="zone")
    if p.get("domainid") and ctx.get("domain", p["domainid"]) is None:
        raise invalid_value(ctx.command, "domainid", p["domainid"])
    zones = ctx.find("zone")
    if not ctx.caller.is_admin:
        # Users never see disabled zones (DataCenter allocation state).
        zones = [z for z in zones if z.get("allocationstate") == "Enabled"]
    zones = _exact(zones, p, "id", "name")
    if p.get("networktype"):
        zones = [z for z in zones if z.get("networktype", "").lower() == p["networktype"].lower()]
    zones = keyword_filter(zones, p.get("keyword"), "name", "description")
    zones = ctx.tags.filter(zones, "Zone", p.get("tags"))
    # CloudStack quirk: `available=false` is documented as "only zones where you have a VM", but 4.x lists every
    # zone of the caller's domain either way; EC2 clients rely on that.
    return Listing([_render_zone(ctx, z, bool(p.get("showcapacities"))) for z in zones])


def _list_hypervisors(ctx: Ctx, p: dict) -> Listing:
    zones = [ctx.lookup("zone", p["zoneid"], "zoneid")] if p.get("zoneid") else ctx.find("zone")
    names: list[str] = []
    for zone in zones:
        for name in zone.get("_hypervisors", [HYPERVISOR]):
            if name not in names:
                names.append(name)
    return Listing([{"name": n} for n in names])


# -- offerings, OS types ----------------------------------------------------------------------------------------
def _offering_zone_filter(ctx: Ctx, p: dict) -> None:
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")


def _list_service_offerings(ctx: Ctx, p: dict) -> Listing:
    _offering_zone_filter(ctx, p)
    ctx.known(p, id="serviceoffering")
    if p.get("domainid") and ctx.get("domain", p["domainid"]) is None:
        raise invalid_value(ctx.command, "domainid", p["domainid"])
    rows = ctx.find("serviceoffering")
    if p.get("issystem"):
        rows = [o for o in rows if o.get("issystem")]
    else:
        rows = [o for o in rows if not o.get("issystem")]
    rows = _exact(rows, p, "id", "name")
    if p.get("virtualmachineid"):
        vm = ctx.get("vm", p["virtualmachineid"])
        vm = ctx.owned(vm, "vm", "virtualmachineid", p["virtualmachineid"])
        # The offerings a VM may change to: every other one (ListServiceOfferingsCmd with virtualmachineid).
        rows = [o for o in rows if o["id"] != vm.get("serviceofferingid")]
    # cpunumber/memory/cpuspeed: offerings able to hold that much (4.18 semantics for fixed offerings).
    for name in ("cpunumber", "memory", "cpuspeed"):
        if p.get(name) is not None:
            rows = [o for o in rows if o.get("iscustomized") or int(o.get(name) or 0) >= p[name]]
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    return Listing([_render(o, "listServiceOfferings") for o in rows])


def _list_disk_offerings(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain", storageid=None)
    _offering_zone_filter(ctx, p)
    if p.get("volumeid"):
        ctx.owned(ctx.get("volume", p["volumeid"]), "volume", "volumeid", p["volumeid"])
    ctx.known(p, id="diskoffering")
    rows = _exact(ctx.find("diskoffering"), p, "id", "name", "encrypt")
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    return Listing([_render(o, "listDiskOfferings") for o in rows])


def _list_os_types(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, id="ostype")
    rows = _exact(ctx.find("ostype"), p, "id", "oscategoryid")
    if p.get("description"):
        # Matched with LIKE %description% (GuestOSDao), i.e. as a case-insensitive substring.
        rows = keyword_filter(rows, p["description"], "description")
    rows = keyword_filter(rows, p.get("keyword"), "description")
    return Listing([_render(o, "listOsTypes") for o in rows])


# -- networks ------------------------------------------------------------------------------------------------------
def _services(services: list[dict]) -> set[str]:
    return {s["name"].lower() for s in services}


def _visible_network(ctx: Ctx, net: dict, scope: str | None) -> bool:
    if net.get("acltype") == "Domain":
        return True
    return scope is None or net.get("accountid") == scope


def _list_networks(ctx: Ctx, p: dict) -> Listing:
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")
    ctx.known(p, id="network", networkofferingid="networkoffering", associatednetworkid="network")
    scope = ctx.scope_accounts(p)
    rows = [n for n in ctx.find("network") if _visible_network(ctx, n, scope)]
    rows = _exact(rows, p, "id", "zoneid", "networkofferingid", "issystem", "canusefordeploy", "specifyipranges",
                  "restartrequired", "displaynetwork", "physicalnetworkid", "vpcid", "associatednetworkid")
    if p.get("type") and p["type"].lower() != "all":
        rows = [n for n in rows if n.get("type", "").lower() == p["type"].lower()]
    for name in ("traffictype", "acltype"):
        if p.get(name):
            rows = [n for n in rows if str(n.get(name, "")).lower() == p[name].lower()]
    if p.get("supportedservices"):
        wanted = {s.lower() for s in p["supportedservices"]}
        rows = [n for n in rows if wanted <= _services(n.get("service", []))]
    if p.get("forvpc") is not None:
        rows = [n for n in rows if bool(n.get("vpcid")) == p["forvpc"]]
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    rows = ctx.tags.filter(rows, "Network", p.get("tags"))
    out = []
    for net in rows:
        item = dict(net, tags=ctx.tags.of("Network", net["id"]))
        if not ctx.caller.is_admin:
            item.pop("vlan", None)
            item.pop("broadcasturi", None)
        out.append(_render(item, "listNetworks"))
    return Listing(out)


def _list_network_offerings(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, domainid="domain")
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")
    ctx.known(p, id="networkoffering")
    rows = _exact(ctx.find("networkoffering"), p, "id", "name", "displaytext", "isdefault", "specifyvlan",
                  "specifyipranges", "forvpc")
    for name in ("guestiptype", "traffictype", "availability", "state"):
        if p.get(name):
            rows = [o for o in rows if str(o.get(name, "")).lower() == p[name].lower()]
    if p.get("networkid"):
        net = ctx.lookup("network", p["networkid"], "networkid")
        # The offerings the network could be upgraded to: same kind, not the current one.
        rows = [o for o in rows if o["id"] != net.get("networkofferingid")
                and o.get("guestiptype") == net.get("type") and o.get("traffictype") == net.get("traffictype")]
    if p.get("supportedservices"):
        wanted = {s.lower() for s in p["supportedservices"]}
        rows = [o for o in rows if wanted <= _services(o.get("service", []))]
    if p.get("sourcenatsupported") is not None:
        rows = [o for o in rows if ("sourcenat" in _services(o.get("service", []))) == p["sourcenatsupported"]]
    rows = keyword_filter(rows, p.get("keyword"), "name", "displaytext")
    return Listing([_render(o, "listNetworkOfferings") for o in rows])


# -- configurations -----------------------------------------------------------------------------------------------
_SCOPE_PARAMS = {"zoneid": "zone", "accountid": "account", "domainid": "domain", "clusterid": None,
                 "storageid": None, "imagestoreuuid": None}


def _scope_param(ctx: Ctx, p: dict) -> str | None:
    """The scope parameter given, if any; its uuid must name something (§1)."""
    for name, kind in _SCOPE_PARAMS.items():
        if p.get(name):
            if kind is None or ctx.get(kind, p[name]) is None:
                raise invalid_value(ctx.command, name, p[name])
            return name
    return None


def _render_configuration(doc: dict) -> dict:
    out = dict(doc)
    out.pop("id", None)  # our row uuid; CloudStack's `id` is only set for scoped values
    return _render(out, "listConfigurations")


def _list_configurations(ctx: Ctx, p: dict) -> Listing:
    if _scope_param(ctx, p):
        # Every setting here is global; none has a zone/account/... scoped value to list.
        return Listing([])
    rows = ctx.find("configuration")
    if p.get("name"):
        # CloudStack quirk: `name` is matched with LIKE %name%, so name=page.size also finds default.ui.page.size.
        rows = [c for c in rows if p["name"].lower() in c["name"].lower()]
    for name in ("category", "group", "subgroup", "parent"):
        if p.get(name):
            rows = [c for c in rows if str(c.get(name, "")).lower() == p[name].lower()]
    rows = keyword_filter(rows, p.get("keyword"), "name", "description", "category", "value", "component")
    return Listing([_render_configuration(c) for c in rows])


def _check_value(name: str, ctype: str, value: str) -> None:
    """ConfigurationManagerImpl.validateConfigurationValue: type checks for the value given."""
    if ctype == "Boolean" and value.lower() not in ("true", "false"):
        raise param_error("Please enter either 'true' or 'false'.")
    if ctype in ("Integer", "Long"):
        try:
            int(value)
        except ValueError:
            raise param_error(f"There was error in trying to parse value: {value}. Please enter a valid "
                              f"{ctype.lower()} value for parameter {name}") from None


def _update_configuration(ctx: Ctx, p: dict) -> dict:
    rows = ctx.find("configuration", name=p["name"])
    if not rows:
        raise param_error(f"Config parameter with name {p['name']} doesn't exist")
    config = rows[0]
    if _scope_param(ctx, p):
        raise param_error(f"Invalid scope id provided for the parameter {p['name']}")
    value = p.get("value")
    # CloudStack quirk: without `value` nothing changes and the current setting is returned as it is.
    if value is None:
        return _render_configuration(config)
    if value.strip() == "" or value == "null":
        config.pop("value", None)
    else:
        _check_value(config["name"], config.get("type", "String"), value)
        config["value"] = value
    ctx.save("configuration", config)
    return _render_configuration(config)


# -- capabilities, limits, APIs ---------------------------------------------------------------------------------
def _list_capabilities(ctx: Ctx, p: dict) -> dict:
    return {
        "securitygroupsenabled": any(z.get("securitygroupsenabled") for z in ctx.find("zone")),
        "dynamicrolesenabled": True,
        "cloudstackversion": CLOUDSTACK_VERSION,
        "userpublictemplateenabled": ctx.config_true("allow.public.user.templates"),
        "supportELB": "false",
        "projectinviterequired": ctx.config_true("project.invite.required"),
        "allowusercreateprojects": ctx.config_true("allow.user.create.projects"),
        "customdiskofferingminsize": ctx.config_int("custom.diskoffering.size.min", 1),
        "customdiskofferingmaxsize": ctx.config_int("custom.diskoffering.size.max", 1024),
        "regionsecondaryenabled": False,
        "kvmsnapshotenabled": ctx.config_true("kvm.snapshot.enabled"),
        "allowuserviewdestroyedvm": ctx.config_true("allow.user.view.destroyed.vm"),
        "allowuserexpungerecovervm": ctx.config_true("allow.user.expunge.recover.vm"),
        "allowuserexpungerecovervolume": ctx.config_true("allow.user.expunge.recover.volume"),
        "allowuserviewalldomainaccounts": False,
        "kubernetesserviceenabled": False,
        "kubernetesclusterexperimentalfeaturesenabled": False,
        "defaultuipagesize": ctx.config_int("default.ui.page.size", 20),
        "instancesstatsretentiontime": 720,
        "instancesstatsuseronly": False,
        "instancesdisksstatsretentionenabled": False,
        "instancesdisksstatsretentiontime": 720,
    }


def _limits_account(ctx: Ctx, p: dict) -> dict | None:
    """Whose limits: the caller's, or (admins) the named account; None = the domain's own limits."""
    if p.get("domainid") and ctx.get("domain", p["domainid"]) is None:
        raise invalid_value(ctx.command, "domainid", p["domainid"])
    if p.get("account"):
        found = ctx.find("account", name=p["account"])
        if not found:
            raise param_error(f"Unable to find account {p['account']} in domain id=ROOT")
        account = found[0]
        if not ctx.caller.is_admin and account["id"] != ctx.caller.account_id:
            raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                    f"within domain id=ROOT")
        return account
    if p.get("domainid") and ctx.caller.is_admin:
        return None
    return ctx.caller.account


def _list_resource_limits(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, projectid=None)
    account = _limits_account(ctx, p)
    wanted: int | None = None
    if p.get("resourcetypename"):
        # resourcetypename wins over resourcetype (ListResourceLimitsCmd).
        match = [k for k, v in _LIMIT_TYPE_NAMES.items() if v == p["resourcetypename"].lower()]
        if not match:
            raise param_error(f"Please specify a valid resource type name: {p['resourcetypename']}")
        wanted = match[0]
    elif p.get("resourcetype") is not None:
        if p["resourcetype"] not in _LIMIT_TYPE_NAMES:
            raise param_error("Please specify a valid resource type.")
        wanted = p["resourcetype"]
    if p.get("id") is not None:
        # Only explicitly set limit rows have ids; the simulator keeps limits on the account, so none match.
        return Listing([])
    domain = ctx.get("domain", (account or {}).get("domainid") or p.get("domainid"), removed=True) or {}
    out = []
    for ordinal, (name, _kind) in sorted(accounts.RESOURCE_TYPES.items()):
        if wanted is not None and ordinal != wanted:
            continue
        item: dict[str, Any] = {}
        if account is not None:
            item["account"] = account["name"]
        item.update(domainid=domain.get("id"), domain=domain.get("name", "ROOT"), resourcetype=str(ordinal),
                    resourcetypename=_LIMIT_TYPE_NAMES[ordinal],
                    max=accounts.limit_of(ctx, account, name) if account is not None else -1)
        out.append(_render(item, "listResourceLimits"))
    return Listing(out)


def _api_fields(fields: dict) -> list[dict]:
    out = []
    for name, info in sorted(fields.items()):
        entry: dict[str, Any] = {"name": name, "type": info.get("type", "string")}
        if info.get("fields"):
            entry["response"] = _api_fields(info["fields"])
        out.append(entry)
    return out


def _api_entry(name: str, entry: dict, admin: bool) -> dict:
    hidden = set() if admin else set(entry.get("adminonlyparams", ()))
    params = [{"name": pname, "type": info["type"], "required": info["required"], "length": info.get("length", 255)}
              for pname, info in sorted(entry["params"].items()) if pname not in hidden]
    return {"name": name, "isasync": entry["isasync"], "params": params, "response": _api_fields(entry["response"])}


def _list_apis(ctx: Ctx, p: dict) -> Listing:
    table = spec.commands()
    names = sorted(n for n in ctx.sim.commands if n in table and (ctx.caller.is_admin or n not in ctx.sim.admin_only))
    if p.get("name"):
        if p["name"] not in names:
            # CloudStack quirk: an unknown or forbidden name is an internal error, not a parameter error.
            raise SimError(530, "Api Discovery plugin was unable to find an api by that name or process any apis",
                           9999)
        names = [p["name"]]
    return Listing([_render(_api_entry(n, table[n], ctx.caller.is_admin), "listApis") for n in names])


# -- seed -----------------------------------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _service_items(services: list[tuple[str, str, list[tuple[str, str]]]]) -> list[dict]:
    return [{"name": name, "provider": [{"name": provider}],
             "capability": [{"name": c, "value": v, "canchooseservicecapability": False} for c, v in caps]}
            for name, provider, caps in services]


def seed(ctx: Ctx) -> None:
    """One Basic zone with security groups and EIP, the EC2-era offerings, OS types, the guest network and the
    global settings."""
    if ctx.find("zone"):
        return
    created = cs_date(ctx.now)
    root = accounts.root_domain(ctx)
    zone = ctx.insert("zone", {
        "name": "zone1", "description": "Simulated Basic zone with security groups and elastic IPs",
        "networktype": "Basic", "securitygroupsenabled": True, "allocationstate": "Enabled",
        "dns1": "8.8.8.8", "dns2": "8.8.4.4", "internaldns1": "10.147.28.6", "dhcpprovider": "VirtualRouter",
        "localstorageenabled": False, "zonetoken": ctx.new_uuid(), "hasannotations": False,
        "allowuserspecifyvrmtu": False, "routerprivateinterfacemaxmtu": 1500, "routerpublicinterfacemaxmtu": 1500,
        "resourcedetails": {}, "type": "Core",
        # Room for a few thousand small instances (4,096 m1.small by cores, by memory), like the guest network
        # below: the 128 cores / 512 GiB seeded before stopped bench/'s scale run at 128 VMs.
        "_cpu_cores": 4096, "_memory_mb": 8 * 1024 * 1024, "_hypervisor": HYPERVISOR, "_hypervisors": [HYPERVISOR],
    })
    for name, cpus, speed, memory, text in SERVICE_OFFERINGS:
        ctx.insert("serviceoffering", {
            "name": name, "displaytext": text, "cpunumber": cpus, "cpuspeed": speed, "memory": memory,
            "created": created, "storagetype": "shared", "provisioningtype": "thin", "offerha": False,
            "limitcpuuse": False, "isvolatile": False, "issystem": False, "defaultuse": False,
            "iscustomized": False, "iscustomizediops": False, "dynamicscalingenabled": True,
            "diskofferingstrictness": False, "cacheMode": "none", "hasannotations": False, "encryptroot": False,
            "networkrate": 200,
        })
    for name, size, text in DISK_OFFERINGS:
        ctx.insert("diskoffering", {
            "name": name, "displaytext": text, "disksize": size, "iscustomized": size == 0, "created": created,
            "storagetype": "shared", "provisioningtype": "thin", "cacheMode": "none", "displayoffering": True,
            "encrypt": False, "disksizestrictness": False, "iscustomizediops": False, "hasannotations": False,
        })
    for category, descriptions in OS_TYPES.items():
        category_id = ctx.new_uuid()
        for description in descriptions:
            ctx.insert("ostype", {"description": description, "oscategoryid": category_id, "isuserdefined": False,
                                  "_category": category})
    offering = ctx.insert("networkoffering", {
        "name": "DefaultSharedNetscalerEIPNetworkOffering",
        "displaytext": "Offering for Shared networks with security groups and elastic IPs",
        "traffictype": "Guest", "isdefault": True, "specifyvlan": False, "conservemode": True,
        "specifyipranges": True, "availability": "Optional", "networkrate": 200, "state": "Enabled",
        "guestiptype": "Shared", "service": _service_items(_GUEST_SERVICES), "forvpc": False,
        "ispersistent": False, "egressdefaultpolicy": True, "supportsstrechedl2subnet": False,
        "supportspublicaccess": False, "fortungsten": False, "internetprotocol": "IPv4", "created": created,
        "hasannotations": False, "details": {},
    })
    network_id = ctx.new_uuid()
    # The guest network is a /20 whose range starts where the /24 seeded before did (10.1.1.10, the first
    # address earlier versions handed out) and holds 3,825 addresses: the simulator is the embedded default,
    # and its /24 (241 addresses) could not hold bench/'s 2,000-instance DescribeInstances run. A real Basic
    # zone's pod range is whatever its operator gave createPod.
    ctx.insert("network", {
        "id": network_id, "name": "defaultGuestNetwork", "displaytext": "Basic zone guest network",
        "broadcastdomaintype": "Native", "traffictype": "Guest", "gateway": "10.1.0.1",
        "netmask": "255.255.240.0", "cidr": "10.1.0.0/20", "zoneid": zone["id"], "zonename": zone["name"],
        "networkofferingid": offering["id"], "networkofferingname": offering["name"],
        "networkofferingdisplaytext": offering["displaytext"], "networkofferingconservemode": True,
        "networkofferingavailability": "Optional", "issystem": False, "state": "Setup", "related": network_id,
        "dns1": zone["dns1"], "dns2": zone["dns2"], "type": "Shared", "acltype": "Domain",
        "domainid": root["id"], "domain": root["name"], "subdomainaccess": True, "isdefault": True,
        "canusefordeploy": True, "ispersistent": False, "specifyipranges": True, "restartrequired": False,
        "displaynetwork": True, "redundantrouter": False, "strechedl2subnet": False,
        "egressdefaultpolicy": True, "internetprotocol": "IPv4", "created": created,
        "service": _service_items(_GUEST_SERVICES), "hasannotations": False, "details": {},
        "_iprange": ["10.1.1.10", "10.1.15.250"],
    })
    values = {"enable.ec2.api": "true", "enable.s3.api": "true",
              "expunge.delay": _seconds(ctx.config.expunge_seconds),
              "expunge.interval": _seconds(ctx.config.expunge_seconds), "integration.api.port": "8096"}
    for name, category, ctype, default, description in CONFIGURATIONS:
        ctx.insert("configuration", {
            "name": name, "category": category, "type": ctype, "defaultvalue": default,
            "value": values.get(name, default), "description": description, "displaytext": description,
            "component": "ManagementServer", "isdynamic": True, "group": "Miscellaneous", "subgroup": "Others",
        })


COMMANDS = {
    "listZones": _list_zones,
    "listServiceOfferings": _list_service_offerings,
    "listDiskOfferings": _list_disk_offerings,
    "listOsTypes": _list_os_types,
    "listHypervisors": _list_hypervisors,
    "listNetworks": _list_networks,
    "listNetworkOfferings": _list_network_offerings,
    "listCapabilities": _list_capabilities,
    "listApis": _list_apis,
    "listConfigurations": _list_configurations,
    "updateConfiguration": _update_configuration,
    "listResourceLimits": _list_resource_limits,
}
