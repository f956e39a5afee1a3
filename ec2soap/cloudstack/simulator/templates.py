"""Simulator: templates: list, register, create from a volume or snapshot, update, delete, launch permissions
(TemplateManagerImpl, TemplateAdapterBase and the template query of QueryManagerImpl).

A template is kind "template": TemplateResponse fields plus `_zoneids`, `_permittedaccounts` (launch permission
account ids), `_ready_at` and `_created` (epoch seconds). Readiness is computed from `_ready_at` against the clock,
so a download in progress survives restarts; advance() also flips the stored `isready` for other families.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import accounts
from ec2soap.cloudstack.simulator.engine import (SUCCESS, Ctx, JobStarted, Listing, SimError, cs_date,
                                                 invalid_value, keyword_filter, param_error, permission_denied,
                                                 public_fields)
from ec2soap.cloudstack.simulator.zones import HYPERVISOR
from ec2soap.store.tables import cs_job

__all__ = ["COMMANDS", "JOB_ACTIONS", "seed", "advance", "get_template", "render_template", "can_launch",
           "is_ready", "FILTERS"]

GB = 1024 ** 3
FILTERS = ("featured", "self", "selfexecutable", "sharedexecutable", "executable", "community", "all")
# Storage.ImageFormat and Hypervisor.HypervisorType names CloudStack 4.18 accepts.
IMAGE_FORMATS = ("QCOW2", "RAW", "VHD", "VHDX", "OVA", "ISO", "BAREMETAL", "VMDK", "TAR", "DIR")
HYPERVISORS = ("XenServer", "KVM", "VMware", "Hyperv", "VirtualBox", "Parralels", "BareMetal", "Simulator", "Ovm",
               "Ovm3", "LXC", "Custom", "Any", "None")
# A registered template spends this share of its time downloading, the rest installing.
_DOWNLOAD_SHARE = 0.8
_REGISTERED_SIZE = 2 * GB
_SEED_TEMPLATES = [
    # name, os type, password enabled, format
    ("CentOS 5.6 (64-bit) no GUI (Simulator)", "CentOS 5.6 (64-bit)", False, "VHD"),
    ("Ubuntu 22.04 LTS (Simulator)", "Ubuntu 22.04 LTS", False, "QCOW2"),
    ("CentOS 7 with password reset (Simulator)", "CentOS 7", True, "QCOW2"),
    ("Windows Server 2019 (Simulator)", "Windows Server 2019 (64-bit)", True, "OVA"),
]


# -- helpers other families use --------------------------------------------------------------------------------
def get_template(ctx: Ctx, uuid: str | None, param: str = "templateid") -> dict:
    """The template doc; an unknown uuid is the dispatcher's 431 for PARAM."""
    doc = ctx.get("template", uuid) if uuid else None
    if doc is None:
        raise invalid_value(ctx.command, param, str(uuid))
    return doc


def is_ready(ctx: Ctx, doc: dict) -> bool:
    if "_ready_at" not in doc:
        return bool(doc.get("isready", True))  # a doc written without a download time (tests, other families)
    return doc["_ready_at"] is not None and ctx.now >= doc["_ready_at"]


def can_launch(ctx: Ctx, doc: dict, account_id: str | None = None) -> bool:
    """May ACCOUNT_ID (default: the caller's) deploy from or read this template? (DomainChecker for templates)"""
    account_id = account_id or ctx.caller.account_id
    return (ctx.caller.is_admin or bool(doc.get("ispublic")) or doc.get("accountid") == account_id
            or account_id in doc.get("_permittedaccounts", ()))


def _zone_ids(doc: dict, ctx: Ctx | None = None) -> list[str]:
    if doc.get("_zoneids"):
        return list(doc["_zoneids"])
    if doc.get("zoneid") == "-1" and ctx is not None:
        return [z["id"] for z in ctx.find("zone")]
    return [doc["zoneid"]] if doc.get("zoneid") not in (None, "", "-1") else []


def _pending_job(ctx: Ctx, instance_id: str) -> str | None:
    row = ctx.conn.execute(select(cs_job.c.uuid).where(cs_job.c.instance_id == instance_id, cs_job.c.status == 0)
                           .order_by(cs_job.c.due.desc())).first()
    return row.uuid if row else None


def _progress(ctx: Ctx, doc: dict) -> tuple[str, str, int]:
    """(status, downloadState, percent) of a template from its stored times."""
    if is_ready(ctx, doc):
        return "Download Complete", "DOWNLOADED", 100
    if doc.get("_from") in ("volume", "snapshot"):
        return "Installing Template", "DOWNLOAD_IN_PROGRESS", 0
    start, end = doc.get("_created", ctx.now), doc.get("_ready_at") or ctx.now
    fraction = (ctx.now - start) / (end - start) if end > start else 1.0
    if fraction < _DOWNLOAD_SHARE:
        percent = max(0, int(100 * fraction / _DOWNLOAD_SHARE))
        return f"{percent}% Downloaded", "DOWNLOAD_IN_PROGRESS", percent
    return "Installing Template", "DOWNLOADED", 100


def render_template(ctx: Ctx, doc: dict, zoneid: str | None = None) -> dict:
    """TemplateResponse of DOC in ZONEID (default: its first zone), as the caller may see it."""
    zones = _zone_ids(doc, ctx)
    zoneid = zoneid or (zones[0] if zones else None)
    zone = ctx.get("zone", zoneid, removed=True) if zoneid else None
    ostype = ctx.get("ostype", doc.get("ostypeid"), removed=True) or {}
    ready = is_ready(ctx, doc)
    out = dict(doc)
    out.update(zoneid=zoneid, zonename=(zone or {}).get("name"), isready=ready,
               ostypename=ostype.get("description"), tags=ctx.tags.of("Template", doc["id"]))
    if not ready:
        out.pop("size", None)
        out.pop("physicalsize", None)
    if ctx.caller.is_admin or doc.get("accountid") == ctx.caller.account_id:
        # The download status is shown to admins and owners only (TemplateJoinDaoImpl).
        status, state, percent = _progress(ctx, doc)
        out["status"] = status
        out["downloaddetails"] = [{"downloadState": state, "datastore": "secondary1",
                                   "downloadPercent": str(percent)}]
    if doc.get("_removed") is not None:
        out["removed"] = cs_date(doc["_removed"])
    job = _pending_job(ctx, doc["id"])
    if job:
        out["jobid"], out["jobstatus"] = job, 0
    return public_fields({k: v for k, v in out.items() if v is not None}, spec.command("listTemplates")["response"])


# -- listTemplates ---------------------------------------------------------------------------------------------------
def _permitted_account(ctx: Ctx, p: dict, listall: bool) -> str | None:
    """buildACLSearchParameters: the one account the list is about, or None for every account."""
    if p.get("account"):
        found = ctx.find("account", name=p["account"])
        if not found:
            raise param_error(f"Unable to find account {p['account']} in domain ROOT")
        if not ctx.caller.is_admin and found[0]["id"] != ctx.caller.account_id:
            raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                    f"within domain id=ROOT")
        return found[0]["id"]
    if not ctx.caller.is_admin:
        return ctx.caller.account_id
    if listall or p.get("domainid") or p.get("id"):
        return None
    return ctx.caller.account_id


def _matches_filter(doc: dict, flt: str, account: str | None) -> bool:
    owned = account is None or doc.get("accountid") == account
    if flt == "featured":
        return bool(doc.get("ispublic") and doc.get("isfeatured"))
    if flt == "community":
        return bool(doc.get("ispublic") and not doc.get("isfeatured"))
    if flt in ("self", "selfexecutable"):
        return owned
    if flt == "sharedexecutable":
        return account is not None and account in doc.get("_permittedaccounts", ())
    if flt == "executable":
        # CloudStack quirk: "executable" is public-or-own; templates shared with the caller are not included.
        return bool(doc.get("ispublic")) or (account is not None and doc.get("accountid") == account)
    return True  # all (admins only)


def _list_templates(ctx: Ctx, p: dict) -> Listing:
    ctx.known(p, projectid=None)
    flt = p["templatefilter"]
    if flt not in FILTERS:
        # CloudStack quirk: TemplateFilter.valueOf is case-sensitive and its exception text reaches the caller.
        raise SimError(431, f"No enum constant com.cloud.template.VirtualMachineTemplate.TemplateFilter.{flt}", 9999)
    if flt == "all" and not ctx.caller.is_admin:
        raise param_error("Filter all can be specified by admin only")
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")
    if p.get("domainid") and ctx.get("domain", p["domainid"]) is None:
        raise invalid_value(ctx.command, "domainid", p["domainid"])
    account = _permitted_account(ctx, p, bool(p.get("listall")) or flt == "all")
    # Only downloaded templates for these filters (ListTemplatesCmd.listInReadyState).
    specific = ctx.caller.is_admin and bool(p.get("account")) and bool(p.get("domainid"))
    only_ready = flt in ("featured", "selfexecutable", "sharedexecutable", "community") or (
        flt == "executable" and specific)
    docs = ctx.find("template", removed=bool(p.get("showremoved")))
    if p.get("id"):
        doc = ctx.get("template", p["id"], removed=True)
        if doc is None:
            raise invalid_value(ctx.command, "id", p["id"])
        if not can_launch(ctx, doc):
            raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate "
                                    f"with resource {p['id']}")
        # With an id the template filter and account scope are ignored (QueryManagerImpl).
        docs = [d for d in docs if d["id"] == p["id"]]
    else:
        docs = [d for d in docs if _matches_filter(d, flt, account)]
        if p.get("ids"):
            docs = [d for d in docs if d["id"] in p["ids"]]
    if only_ready:
        docs = [d for d in docs if is_ready(ctx, d)]
    if p.get("name"):
        docs = [d for d in docs if d.get("name") == p["name"]]
    if p.get("hypervisor"):
        docs = [d for d in docs if str(d.get("hypervisor", "")).lower() == p["hypervisor"].lower()]
    if p.get("parenttemplateid"):
        docs = [d for d in docs if d.get("parenttemplateid") == p["parenttemplateid"]]
    docs = keyword_filter(docs, p.get("keyword"), "name")
    docs = ctx.tags.filter(docs, "Template", p.get("tags"))
    items = []
    for doc in docs:
        zones = [z for z in _zone_ids(doc, ctx) if not p.get("zoneid") or z == p["zoneid"]]
        if p.get("showunique"):
            zones = zones[:1]
        items.extend(render_template(ctx, doc, z) for z in zones)
    return Listing(items)


# -- register / create ---------------------------------------------------------------------------------------------


def _visibility(ctx: Ctx, p: dict, owner: dict) -> tuple[bool, bool]:
    """(ispublic, isfeatured) as TemplateAdapterBase allows them for the owner."""
    admin = owner.get("accounttype") == accounts.ADMIN
    public = bool(p.get("ispublic"))
    if public and not admin and (ctx.config_value("allow.public.user.templates") or "true") != "true":
        raise param_error("Only private templates/ISO can be created.")
    # Only admins make featured templates; a user's request for it is dropped, not refused.
    return public, bool(p.get("isfeatured")) and admin


def _details(value: Any) -> dict:
    out: dict[str, str] = {}
    for entry in value or []:
        out.update(entry)
    return out


def _duration(ctx: Ctx, action: str) -> float:
    return float(ctx.config.durations.get(action, ctx.config.job_seconds))


def _new_template(ctx: Ctx, owner: dict, p: dict, *, zones: list[str], ready_at: float | None,
                  extra: dict) -> dict:
    public, featured = _visibility(ctx, p, owner)
    ostype = ctx.lookup("ostype", p["ostypeid"], "ostypeid") if p.get("ostypeid") else _default_ostype(ctx)
    doc = {
        "id": ctx.new_uuid(), "name": p["name"], "displaytext": p.get("displaytext") or p["name"],
        "ispublic": public, "isfeatured": featured, "isextractable": bool(p.get("isextractable")),
        "passwordenabled": bool(p.get("passwordenabled")), "sshkeyenabled": bool(p.get("sshkeyenabled")),
        "isdynamicallyscalable": bool(p.get("isdynamicallyscalable")), "bootable": True,
        "requireshvm": p.get("requireshvm", True), "bits": int(p.get("bits") or 64), "ostypeid": ostype["id"],
        "crossZones": False, "templatetype": "USER", "created": cs_date(ctx.now), "details": _details(p.get("details")),
        "directdownload": bool(p.get("directdownload")), "deployasis": False, "hasannotations": False,
        "isready": ready_at is not None and ctx.now >= ready_at, "_zoneids": zones,
        "zoneid": zones[0] if len(zones) == 1 else "-1", "_permittedaccounts": [], "_created": ctx.now,
        "_ready_at": ready_at, **accounts.owner_fields(ctx, owner),
    }
    if p.get("templatetag"):
        doc["templatetag"] = p["templatetag"]
    doc.update(extra)
    return ctx.insert("template", doc, account_id=owner["id"])


def _default_ostype(ctx: Ctx) -> dict:
    found = ctx.find("ostype", where=lambda o: o.get("description") == "Other (64-bit)") or ctx.find("ostype")
    if not found:
        raise param_error("Please specify a valid OS type")
    return found[0]


def _canonical(value: str, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n.lower() == value.lower()), None)


def _register_template(ctx: Ctx, p: dict) -> Listing:
    """registerTemplate: synchronous; the template downloads in the background and is ready later."""
    if p.get("zoneid") and p.get("zoneids"):
        raise SimError(431, "Both zoneid and zoneids cannot be specified at the same time", 9999)
    wanted = p.get("zoneids") or ([p["zoneid"]] if p.get("zoneid") else [])
    if not wanted:
        raise SimError(431, "Either zoneid or zoneids is required. Both cannot be null.", 9999)
    owner = accounts.owner_account(ctx, p)
    cross = "-1" in wanted
    if cross:
        if owner.get("accounttype") != accounts.ADMIN:
            raise permission_denied("Only admins can create templates in all zones")
        zones = [z["id"] for z in ctx.find("zone")]
    else:
        zones = [ctx.lookup("zone", z, "zoneids" if p.get("zoneids") else "zoneid")["id"] for z in wanted]
    fmt = _canonical(p["format"], IMAGE_FORMATS)
    if fmt is None or fmt == "ISO":
        raise param_error(f"Image format: {p['format']} is incorrect. Supported formats are "
                          f"{', '.join(f for f in IMAGE_FORMATS if f != 'ISO')}")
    hypervisor = _canonical(p["hypervisor"], HYPERVISORS)
    if hypervisor is None or hypervisor in ("Any", "None"):
        raise param_error(f"Hypervisor Type: {p['hypervisor']} is invalid. Supported Hypervisor types are "
                          f"{', '.join(h for h in HYPERVISORS if h not in ('Any', 'None'))}")
    scheme = p["url"].split("://", 1)[0].lower() if "://" in p["url"] else ""
    if scheme not in ("http", "https"):
        raise param_error(f"Unsupported scheme for url: {p['url']}")
    accounts.check_limit(ctx, "template", account=owner)
    doc = _new_template(ctx, owner, p, zones=zones, ready_at=ctx.now + _duration(ctx, "template_download"), extra={
        "format": fmt, "hypervisor": hypervisor, "url": p["url"], "crossZones": cross,
        "size": _REGISTERED_SIZE, "physicalsize": _REGISTERED_SIZE, "_from": "url",
        **({"checksum": p["checksum"]} if p.get("checksum") else {}),
    })
    return Listing([render_template(ctx, doc, z) for z in zones])


def _source_volume(ctx: Ctx, p: dict) -> tuple[dict, dict]:
    volume = ctx.require("volume", p, "volumeid")
    if volume.get("type") != "ROOT":
        raise param_error(f"Failed to create template from volume {volume['id']}: only a ROOT volume can be used")
    vm = ctx.get("vm", volume.get("virtualmachineid")) if volume.get("virtualmachineid") else None
    state = (vm or {}).get("state") or volume.get("vmstate")
    if state != "Stopped":
        raise param_error(f"VM {(vm or {}).get('name', volume.get('virtualmachineid'))} must be stopped in order "
                          f"to create a template from its volume {volume['id']}")
    if volume.get("state") not in (None, "Ready"):
        raise param_error(f"Volume {volume['id']} is not in Ready state but {volume['state']}")
    return volume, vm or {}


def _create_template(ctx: Ctx, p: dict) -> JobStarted:
    """createTemplate: the template row exists at once, not ready; the job makes it ready."""
    if not p.get("volumeid") and not p.get("snapshotid"):
        raise param_error("Failed to create private template record, need to specify snapshotId or volumeId")
    if p.get("volumeid") and p.get("snapshotid"):
        raise param_error(f"Failed to create private template record, please specify only one of volumeId and "
                          f"snapshotId; specified volumeId {p['volumeid']} and snapshotId {p['snapshotid']}")
    ctx.lookup("ostype", p["ostypeid"], "ostypeid")
    if p.get("volumeid"):
        volume, vm = _source_volume(ctx, p)
        source = "volume"
        size = int(volume.get("size") or 0)
    else:
        snapshot = ctx.require("snapshot", p, "snapshotid")
        if snapshot.get("state") != "BackedUp":
            raise param_error(f"Snapshot {snapshot['id']} is not in BackedUp state yet and can't be used for "
                              f"template creation")
        volume = ctx.get("volume", snapshot.get("volumeid"), removed=True) or {}
        vm = ctx.get("vm", volume.get("virtualmachineid"), removed=True) or {} if volume else {}
        source = "snapshot"
        size = int(snapshot.get("virtualsize") or volume.get("size") or 0)
    zoneid = (volume.get("zoneid") or vm.get("zoneid") or (snapshot.get("zoneid") if source == "snapshot"
                                                           else None))
    zone = ctx.lookup("zone", zoneid, "volumeid" if source == "volume" else "snapshotid")
    owner = ctx.caller.account
    accounts.check_limit(ctx, "template", account=owner)
    duration = _duration(ctx, "template_create")
    extra: dict[str, Any] = {"format": "RAW", "hypervisor": volume.get("hypervisor") or vm.get("hypervisor")
                             or zone.get("_hypervisor", HYPERVISOR), "size": size, "physicalsize": size,
                             "_from": source}
    if vm.get("templateid"):
        extra["sourcetemplateid"] = vm["templateid"]
    doc = _new_template(ctx, owner, p, zones=[zone["id"]], ready_at=ctx.now + duration, extra=extra)
    return ctx.start_job("template_create", {"id": doc["id"]}, instance_type="Template", instance_id=doc["id"],
                         object_id=doc["id"], duration=duration)


def _template_created(ctx: Ctx, args: dict) -> dict:
    doc = ctx.get("template", args["id"])
    if doc is None:
        raise SimError(530, f"Failed to create template {args['id']}: it was deleted while being created", 4250)
    doc["_ready_at"] = min(doc.get("_ready_at") or ctx.now, ctx.now)
    doc["isready"] = True
    ctx.save("template", doc)
    return {"template": render_template(ctx, doc)}


# -- update / delete / permissions ---------------------------------------------------------------------------------
def _mine(ctx: Ctx, p: dict, param: str = "id") -> dict:
    """The template named by PARAM, which the caller must own (or be an admin)."""
    doc = get_template(ctx, p[param], param)
    if not ctx.caller.is_admin and doc.get("accountid") != ctx.caller.account_id:
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate with "
                                f"resource {doc['id']}")
    return doc


def _update_template(ctx: Ctx, p: dict) -> dict:
    doc = _mine(ctx, p)
    if p.get("ostypeid"):
        doc["ostypeid"] = ctx.lookup("ostype", p["ostypeid"], "ostypeid")["id"]
    if p.get("format"):
        fmt = _canonical(p["format"], IMAGE_FORMATS)
        if fmt is None:
            raise param_error(f"Image format: {p['format']} is incorrect. Supported formats are "
                              f"{', '.join(IMAGE_FORMATS)}")
        doc["format"] = fmt
    if p.get("templatetype"):
        if not ctx.caller.is_admin:
            raise permission_denied("Only the root admin can change the template type")
        doc["templatetype"] = p["templatetype"].upper()
    for name in ("name", "displaytext"):
        if p.get(name):
            doc[name] = p[name]
    for name in ("passwordenabled", "sshkeyenabled", "isdynamicallyscalable", "requireshvm", "bootable"):
        if p.get(name) is not None:
            doc[name] = p[name]
    if p.get("cleanupdetails"):
        doc["details"] = {}
    elif p.get("details"):
        doc["details"] = {**doc.get("details", {}), **_details(p["details"])}
    ctx.save("template", doc)
    return render_template(ctx, doc)


def _delete_template(ctx: Ctx, p: dict) -> JobStarted:
    doc = _mine(ctx, p)
    if p.get("zoneid"):
        ctx.lookup("zone", p["zoneid"], "zoneid")
        if p["zoneid"] not in _zone_ids(doc, ctx):
            raise param_error(f"Template {doc['id']} is not available in zone {p['zoneid']}")
    return ctx.start_job("template_delete", {"id": doc["id"], "zoneid": p.get("zoneid"),
                                             "forced": bool(p.get("forced"))},
                         instance_type="Template", instance_id=doc["id"])


def _template_deleted(ctx: Ctx, args: dict) -> Any:
    doc = ctx.get("template", args["id"])
    if doc is None:
        raise param_error(f"Template {args['id']} is already deleted")
    in_use = ctx.find("vm", where=lambda v: v.get("templateid") == doc["id"]
                      and v.get("state") not in ("Destroyed", "Expunging", "Expunged")
                      and (not args.get("zoneid") or v.get("zoneid") == args["zoneid"]))
    if in_use and not args.get("forced"):
        raise param_error(f"Unable to delete template with id: {doc['id']} because VM instances: "
                          f"[{','.join(v.get('name', v['id']) for v in in_use)}] are using it.")
    remaining = [z for z in _zone_ids(doc, ctx) if args.get("zoneid") and z != args["zoneid"]]
    if remaining:
        doc["_zoneids"] = remaining
        doc["zoneid"] = remaining[0] if len(remaining) == 1 else "-1"
        ctx.save("template", doc)
        return SUCCESS
    ctx.tags.drop("Template", doc["id"])
    doc["_removed"] = ctx.now
    ctx.save("template", doc)
    ctx.remove("template", doc["id"])
    return SUCCESS


def _list_template_permissions(ctx: Ctx, p: dict) -> dict:
    doc = get_template(ctx, p["id"], "id")
    if not can_launch(ctx, doc):
        raise permission_denied(f"Account {ctx.caller.account['name']} does not have permission to operate with "
                                f"resource {doc['id']}")
    ids = list(doc.get("_permittedaccounts", ()))
    if not ctx.caller.is_admin and doc.get("accountid") != ctx.caller.account_id:
        # Someone the template is shared with learns only about its own grant, not the owner's other partners.
        ids = [i for i in ids if i == ctx.caller.account_id]
    names = [a["name"] for a in (ctx.get("account", i) for i in ids) if a]
    return {"id": doc["id"], "ispublic": bool(doc.get("ispublic")), "domainid": doc.get("domainid"),
            "account": names, "projectids": []}


def _update_template_permissions(ctx: Ctx, p: dict) -> Any:
    doc = get_template(ctx, p["id"], "id")
    admin = ctx.caller.is_admin
    if p.get("ispublic") and not admin and (ctx.config_value("allow.public.user.templates")
                                            or "true") != "true":
        raise param_error("Only private templates can be created.")
    names = p.get("accounts")
    op = p.get("op")
    if names is not None and (op is None or op.lower() not in ("add", "remove", "reset")):
        raise param_error(f"Invalid operation on accounts, the operation must be either 'add' or 'remove' in order "
                          f"to modify launch permissions.  Given operation is: '{op}'")
    if not admin and doc.get("accountid") != ctx.caller.account_id:
        raise param_error(f"Unable to grant permission to account {ctx.caller.account['name']} as it is neither "
                          f"admin nor owner or the template")
    if p.get("isfeatured") and not admin:
        raise permission_denied("Only admins can mark a template as featured")
    if p.get("ispublic") is not None:
        doc["ispublic"] = p["ispublic"]
    if p.get("isfeatured") is not None:
        doc["isfeatured"] = p["isfeatured"]
    if p.get("isextractable") is not None and admin:
        # isextractable "can be set only by root admin"; a user's value is ignored.
        doc["isextractable"] = p["isextractable"]
    permitted = list(doc.get("_permittedaccounts", ()))
    if op and op.lower() == "reset":
        permitted = []
    elif names:
        found = []
        for name in names:
            match = ctx.find("account", name=name)
            if not match:
                if op.lower() == "remove":
                    continue
                raise param_error(f"Unable to grant a launch permission to account {name} in domain id=ROOT, "
                                  f"account not found.  No permissions updated, please verify the account names "
                                  f"and retry.")
            found.append(match[0]["id"])
        if op.lower() == "add":
            permitted += [i for i in found if i not in permitted and i != doc.get("accountid")]
        else:
            permitted = [i for i in permitted if i not in found]
    doc["_permittedaccounts"] = permitted
    ctx.save("template", doc)
    return SUCCESS


# -- time, seed ------------------------------------------------------------------------------------------------------
# When a saved template's download finishes (timers.py); a template registered from a URL only.
TIMERS = {"template": lambda d: d.get("_ready_at") if not d.get("isready") and d.get("_from") == "url" else None}


def advance(ctx: Ctx) -> float | None:
    """Mark registered templates whose download time has passed as ready in the stored doc too.
    Returns when the next download finishes (None: none is under way)."""
    waiting = ctx.find("template", where=lambda d: not d.get("isready") and d.get("_from") == "url")
    due = [d for d in waiting if is_ready(ctx, d)]
    if not due:
        return min((d["_ready_at"] for d in waiting if d.get("_ready_at") is not None), default=None)
    ctx.lock()
    for doc in due:
        doc["isready"] = True
        ctx.save("template", doc)
    return ctx.now


def seed(ctx: Ctx) -> None:
    """Featured public templates owned by the SYSTEM account, ready in every zone."""
    if ctx.find("template"):
        return
    owner = ctx.caller.account
    zones = [z["id"] for z in ctx.find("zone")]
    for name, os_name, password, fmt in _SEED_TEMPLATES:
        ostype = next(iter(ctx.find("ostype", where=lambda o: o.get("description") == os_name)), None)
        ctx.insert("template", {
            "id": ctx.new_uuid(), "name": name, "displaytext": name, "ispublic": True, "isfeatured": True,
            "isextractable": False, "passwordenabled": password, "sshkeyenabled": True,
            "isdynamicallyscalable": False, "bootable": True, "requireshvm": False, "bits": 64,
            "ostypeid": (ostype or {}).get("id"), "crossZones": True, "templatetype": "BUILTIN",
            "created": cs_date(ctx.now), "details": {}, "directdownload": False, "deployasis": False,
            "hasannotations": False, "format": fmt, "hypervisor": HYPERVISOR, "size": 10 * GB,
            "physicalsize": 10 * GB, "isready": True, "_zoneids": zones, "zoneid": "-1",
            "_permittedaccounts": [], "_created": ctx.now, "_ready_at": ctx.now, "_from": "seed", "_system": True,
            "url": "http://download.cloudstack.org/templates/builtin/" + name.split(" (")[0].replace(" ", "-").lower(),
            **accounts.owner_fields(ctx, owner),
        }, account_id=owner["id"])


COMMANDS = {
    "listTemplates": _list_templates,
    "registerTemplate": _register_template,
    "createTemplate": _create_template,
    "deleteTemplate": _delete_template,
    "updateTemplate": _update_template,
    "listTemplatePermissions": _list_template_permissions,
    "updateTemplatePermissions": _update_template_permissions,
}
JOB_ACTIONS = {
    "template_create": _template_created,
    "template_delete": _template_deleted,
}
