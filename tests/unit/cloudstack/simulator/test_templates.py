"""The simulator's template family: filters, isolation, register/create readiness over time, permissions."""
from __future__ import annotations

from typing import Any

import pytest

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.engine import Caller, Ctx
from tests.conftest import cs
from tests.unit.cloudstack.simulator.test_zones import undocumented

JOB = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tsim(store: Any, clock: Clock) -> Simulator:
    sim = Simulator(store, SimulatorConfig(job_seconds=JOB, expunge_seconds=60.0), clock=clock)
    sim.users = sim.seed()
    return sim


def _ctx(sim: Simulator, conn: Any) -> Ctx:
    return Ctx(sim, conn, Caller(user={"id": "t"}, account={"id": "t", "accounttype": 1, "name": "t"}), "test",
               sim.clock())


def put(sim: Simulator, kind: str, doc: dict, account_id: str | None = None) -> dict:
    return sim.store.run_sync(lambda conn: _ctx(sim, conn).insert(kind, doc, account_id=account_id))


def edit(sim: Simulator, kind: str, uuid: str, **changes: Any) -> None:
    def go(conn: Any) -> None:
        ctx = _ctx(sim, conn)
        ctx.save(kind, {**ctx.get(kind, uuid), **changes})
    sim.store.run_sync(go)


def new_user(sim: Simulator, name: str) -> dict:
    status, body = cs(sim, "admin", "createAccount", username=name, password="pw", email=f"{name}@x",
                      firstname=name, lastname="x", accounttype=0)
    assert status == 200
    user_id = body["account"]["user"][0]["id"]
    keys = cs(sim, "admin", "registerUserKeys", id=user_id)[1]["userkeys"]
    return {"apikey": keys["apikey"], "secretkey": keys["secretkey"], "accountid": body["account"]["id"]}


def zone_id(sim: Simulator) -> str:
    return cs(sim, "admin", "listZones")[1]["zone"][0]["id"]


def register(sim: Simulator, user: Any = "demo", **params: Any) -> tuple[int, dict]:
    args = {"name": "mine", "displaytext": "my image", "format": "QCOW2", "hypervisor": "KVM",
            "url": "http://images.example/mine.qcow2", "zoneid": zone_id(sim)}
    args.update(params)
    return cs(sim, user, "registerTemplate", **args)


def job(sim: Simulator, user: Any, jobid: str) -> dict:
    return cs(sim, user, "queryAsyncJobResult", jobid=jobid)[1]


def listing(sim: Simulator, user: Any, flt: str, **params: Any) -> list[dict]:
    status, body = cs(sim, user, "listTemplates", templatefilter=flt, **params)
    assert status == 200, body
    return body.get("template", [])


# -- listing ---------------------------------------------------------------------------------------------------------
def test_seeded_templates_are_featured_public_and_ready(tsim: Simulator) -> None:
    status, body = cs(tsim, "demo", "listTemplates", templatefilter="featured")
    assert status == 200 and body["count"] == len(body["template"]) >= 3
    names = {t["name"] for t in body["template"]}
    assert "CentOS 5.6 (64-bit) no GUI (Simulator)" in names
    assert any(t["passwordenabled"] for t in body["template"])
    for t in body["template"]:
        assert t["isready"] is True and t["ispublic"] and t["isfeatured"] and t["account"] == "system"
        assert t["zonename"] == "zone1" and t["ostypename"]
        assert "status" not in t  # not the caller's
    assert undocumented(body["template"], spec.command("listTemplates")["response"]) == []
    admin = listing(tsim, "admin", "featured")
    assert all(t["status"] == "Download Complete" for t in admin)
    assert cs(tsim, "demo", "listTemplates", templatefilter="self") == (200, {})
    assert cs(tsim, "demo", "listTemplates", templatefilter="community") == (200, {})


def test_template_filter_errors(tsim: Simulator) -> None:
    status, body = cs(tsim, "demo", "listTemplates", templatefilter="Featured")
    assert status == 431 and body["cserrorcode"] == 9999
    assert body["errortext"] == "No enum constant com.cloud.template.VirtualMachineTemplate.TemplateFilter.Featured"
    assert cs(tsim, "demo", "listTemplates", templatefilter="all") == (431, {
        "uuidList": [], "errorcode": 431, "cserrorcode": 4350, "errortext": "Filter all can be specified by admin only"})
    status, body = cs(tsim, "demo", "listTemplates")
    assert status == 431 and body["errortext"].endswith("due to missing parameter templatefilter")


def test_one_item_per_template_and_zone(tsim: Simulator) -> None:
    other = put(tsim, "zone", {"name": "zone2", "networktype": "Basic", "allocationstate": "Enabled",
                               "securitygroupsenabled": True})
    status, body = register(tsim, "admin", zoneids=f"{zone_id(tsim)},{other['id']}", zoneid="")
    assert status == 200 and body["count"] == 2
    assert {t["zoneid"] for t in body["template"]} == {zone_id(tsim), other["id"]}
    tid = body["template"][0]["id"]
    assert len(listing(tsim, "admin", "self", id=tid)) == 2
    assert len(listing(tsim, "admin", "self", id=tid, showunique="true")) == 1
    assert [t["zonename"] for t in listing(tsim, "admin", "self", id=tid, zoneid=other["id"])] == ["zone2"]


def test_paging_and_keyword(tsim: Simulator) -> None:
    body = cs(tsim, "demo", "listTemplates", templatefilter="featured", page=1, pagesize=2)[1]
    assert len(body["template"]) == 2 and body["count"] >= 3
    assert [t["name"] for t in listing(tsim, "demo", "featured", keyword="ubuntu")] == ["Ubuntu 22.04 LTS (Simulator)"]
    assert listing(tsim, "demo", "featured", hypervisor="kvm") == []


# -- registerTemplate and readiness ------------------------------------------------------------------------------------
def test_registered_template_downloads_then_is_ready(tsim: Simulator, clock: Clock) -> None:
    status, body = register(tsim)
    assert status == 200 and body["count"] == 1
    template = body["template"][0]
    assert template["isready"] is False and template["status"] == "0% Downloaded"
    assert template["account"] == "demo" and template["templatetype"] == "USER"
    assert template["format"] == "QCOW2" and template["hypervisor"] == "KVM"
    assert undocumented(template, spec.command("registerTemplate")["response"]) == []
    clock.now += JOB / 2
    assert listing(tsim, "demo", "self")[0]["status"] == "62% Downloaded"
    assert listing(tsim, "demo", "selfexecutable") == []
    # "executable" shows a user's templates that are still downloading.
    assert template["id"] in {t["id"] for t in listing(tsim, "demo", "executable")}
    clock.now += JOB * 0.4
    assert listing(tsim, "demo", "self")[0]["status"] == "Installing Template"
    clock.now += JOB * 0.2
    ready = listing(tsim, "demo", "selfexecutable")
    assert [t["id"] for t in ready] == [template["id"]]
    assert ready[0]["isready"] is True and ready[0]["status"] == "Download Complete"


def test_readiness_is_kept_across_restarts(tsim: Simulator, clock: Clock, store: Any) -> None:
    template = register(tsim)[1]["template"][0]
    restarted = Simulator(store, SimulatorConfig(job_seconds=JOB), clock=clock)
    restarted.users = tsim.users
    assert listing(restarted, "demo", "self")[0]["isready"] is False
    clock.now += JOB + 1
    again = Simulator(store, SimulatorConfig(job_seconds=JOB), clock=clock)
    again.users = tsim.users
    assert listing(again, "demo", "self", id=template["id"])[0]["isready"] is True


def test_register_errors(tsim: Simulator) -> None:
    status, body = register(tsim, zoneids=zone_id(tsim))
    assert (status, body["errortext"]) == (431, "Both zoneid and zoneids cannot be specified at the same time")
    status, body = register(tsim, zoneid="")
    assert (status, body["errortext"]) == (431, "Either zoneid or zoneids is required. Both cannot be null.")
    status, body = register(tsim, format="EXE")
    assert status == 431 and body["cserrorcode"] == 4350 and body["errortext"].startswith("Image format: EXE")
    assert register(tsim, hypervisor="Bochs")[0] == 431
    status, body = register(tsim, url="ftp://images.example/x.qcow2")
    assert body["errortext"] == "Unsupported scheme for url: ftp://images.example/x.qcow2"
    status, body = register(tsim, zoneid="-1")
    assert status == 531 and body["cserrorcode"] == 4365
    status, body = register(tsim, zoneid="7d3a38b2-0000-4000-8000-000000000000")
    assert status == 431 and body["cserrorcode"] == 9999
    assert register(tsim, ostypeid="7d3a38b2-0000-4000-8000-000000000000")[0] == 431
    cs(tsim, "admin", "updateConfiguration", name="allow.public.user.templates", value="false")
    status, body = register(tsim, ispublic="true")
    assert (status, body["errortext"]) == (431, "Only private templates/ISO can be created.")
    assert listing(tsim, "demo", "self") == []


def test_admin_registers_cross_zone_and_users_cannot_feature(tsim: Simulator) -> None:
    body = register(tsim, "admin", zoneid="-1", isfeatured="true", ispublic="true")[1]
    assert body["template"][0]["crossZones"] is True and body["template"][0]["isfeatured"] is True
    mine = register(tsim, ispublic="true", isfeatured="true")[1]["template"][0]
    assert mine["ispublic"] is True and mine["isfeatured"] is False


def test_templates_count_against_the_limit(tsim: Simulator) -> None:
    demo = tsim.users["demo"]["accountid"]

    def limit_one(conn: Any) -> None:
        ctx = _ctx(tsim, conn)
        account = ctx.get("account", demo)
        account["limits"]["template"] = 1
        ctx.save("account", account)
    tsim.store.run_sync(limit_one)
    assert register(tsim)[0] == 200
    status, body = register(tsim)
    assert status == 535 and body["cserrorcode"] == 4370
    limit = cs(tsim, "demo", "listResourceLimits", resourcetypename="template")[1]["resourcelimit"][0]
    assert limit["max"] == 1


# -- isolation and permissions -----------------------------------------------------------------------------------------
def test_private_templates_are_isolated(tsim: Simulator, clock: Clock) -> None:
    other = new_user(tsim, "other")
    template = register(tsim)[1]["template"][0]
    clock.now += JOB + 1
    assert listing(tsim, other, "self") == []
    assert template["id"] not in {t["id"] for t in listing(tsim, other, "executable")}
    status, body = cs(tsim, other, "listTemplates", templatefilter="self", id=template["id"])
    assert status == 531 and body["cserrorcode"] == 4365
    assert listing(tsim, "admin", "self") == []
    assert template["id"] in {t["id"] for t in listing(tsim, "admin", "self", listall="true")}
    assert template["id"] in {t["id"] for t in listing(tsim, "admin", "all")}
    assert [t["id"] for t in listing(tsim, "admin", "self", account="demo", domainid=template["domainid"])] == [
        template["id"]]
    for command, params in (("updateTemplate", {"name": "x"}), ("deleteTemplate", {}),
                            ("updateTemplatePermissions", {"ispublic": "true"})):
        status, body = cs(tsim, other, command, id=template["id"], **params)
        assert status in (431, 531), (command, body)


def test_launch_permissions(tsim: Simulator, clock: Clock) -> None:
    other = new_user(tsim, "other")
    template = register(tsim)[1]["template"][0]
    clock.now += JOB + 1
    tid = template["id"]
    status, body = cs(tsim, "demo", "updateTemplatePermissions", id=tid, accounts="other", op="add")
    assert (status, body) == (200, {"success": True})
    assert [t["id"] for t in listing(tsim, other, "sharedexecutable")] == [tid]
    assert listing(tsim, other, "sharedexecutable")[0].get("status") is None
    perms = cs(tsim, "demo", "listTemplatePermissions", id=tid)[1]["templatepermission"]
    assert perms == {"id": tid, "ispublic": False, "domainid": template["domainid"], "account": ["other"],
                     "projectids": []}
    assert undocumented(perms, spec.command("listTemplatePermissions")["response"]) == []
    assert cs(tsim, other, "listTemplatePermissions", id=tid)[1]["templatepermission"]["account"] == ["other"]
    cs(tsim, "demo", "updateTemplatePermissions", id=tid, accounts="other", op="remove")
    assert listing(tsim, other, "sharedexecutable") == []
    cs(tsim, "demo", "updateTemplatePermissions", id=tid, accounts="other", op="add")
    cs(tsim, "demo", "updateTemplatePermissions", id=tid, op="reset")
    assert cs(tsim, "demo", "listTemplatePermissions", id=tid)[1]["templatepermission"]["account"] == []
    status, body = cs(tsim, "demo", "updateTemplatePermissions", id=tid, accounts="other", op="grant")
    assert status == 431 and body["errortext"] == (
        "Invalid operation on accounts, the operation must be either 'add' or 'remove' in order to modify launch "
        "permissions.  Given operation is: 'grant'")
    assert cs(tsim, "demo", "updateTemplatePermissions", id=tid, accounts="nobody", op="add")[0] == 431
    # Making it public shows it to everyone as community, and it stays the owner's.
    cs(tsim, "demo", "updateTemplatePermissions", id=tid, ispublic="true")
    assert tid in {t["id"] for t in listing(tsim, other, "community")}
    assert tid in {t["id"] for t in listing(tsim, other, "executable")}
    assert cs(tsim, "demo", "updateTemplatePermissions", id=tid, isfeatured="true")[0] == 531
    assert cs(tsim, "admin", "updateTemplatePermissions", id=tid, isfeatured="true")[0] == 200
    assert tid in {t["id"] for t in listing(tsim, other, "featured")}


def test_update_template(tsim: Simulator) -> None:
    template = register(tsim)[1]["template"][0]
    ubuntu = cs(tsim, "demo", "listOsTypes", description="Ubuntu 22.04")[1]["ostype"][0]
    status, body = cs(tsim, "demo", "updateTemplate", id=template["id"], name="renamed", displaytext="new text",
                      passwordenabled="true", ostypeid=ubuntu["id"])
    assert status == 200
    updated = body["template"]
    assert (updated["name"], updated["displaytext"], updated["passwordenabled"]) == ("renamed", "new text", True)
    assert updated["ostypename"] == "Ubuntu 22.04 LTS"
    assert listing(tsim, "demo", "self")[0]["name"] == "renamed"
    assert cs(tsim, "demo", "updateTemplate", id=template["id"], format="EXE")[0] == 431
    featured = listing(tsim, "demo", "featured")[0]
    assert cs(tsim, "demo", "updateTemplate", id=featured["id"], name="mine now")[0] == 531


# -- deleteTemplate ----------------------------------------------------------------------------------------------------
def test_delete_template(tsim: Simulator, clock: Clock) -> None:
    template = register(tsim)[1]["template"][0]
    status, body = cs(tsim, "demo", "deleteTemplate", id=template["id"])
    assert status == 200 and set(body) == {"jobid"}
    assert job(tsim, "demo", body["jobid"])["jobstatus"] == 0
    clock.now += JOB
    result = job(tsim, "demo", body["jobid"])
    assert result["jobstatus"] == 1 and result["jobresult"] == {"success": True}
    assert result["jobinstancetype"] == "Template"
    assert cs(tsim, "demo", "listTemplates", templatefilter="self") == (200, {})
    removed = listing(tsim, "demo", "self", showremoved="true")
    assert removed[0]["id"] == template["id"] and "removed" in removed[0]
    # A removed template's uuid is still known, and it counts no more against the limit.
    assert cs(tsim, "demo", "listTemplates", templatefilter="self", id=template["id"]) == (200, {})


def test_users_cannot_delete_featured_templates(tsim: Simulator) -> None:
    featured = listing(tsim, "demo", "featured")[0]
    status, body = cs(tsim, "demo", "deleteTemplate", id=featured["id"])
    assert status == 531 and body["cserrorcode"] == 4365
    status, body = cs(tsim, "demo", "deleteTemplate", id="7d3a38b2-0000-4000-8000-000000000000")
    assert status == 431 and body["cserrorcode"] == 9999


def test_a_template_in_use_is_kept_unless_forced(tsim: Simulator, clock: Clock) -> None:
    template = register(tsim)[1]["template"][0]
    put(tsim, "vm", {"name": "web1", "templateid": template["id"], "state": "Running", "zoneid": zone_id(tsim)},
        account_id=template["accountid"])
    jobid = cs(tsim, "demo", "deleteTemplate", id=template["id"])[1]["jobid"]
    clock.now += JOB
    result = job(tsim, "demo", jobid)
    assert result["jobstatus"] == 2 and result["jobresultcode"] == 530
    assert result["jobresult"]["errorcode"] == 431
    assert "because VM instances: [web1] are using it" in result["jobresult"]["errortext"]
    jobid = cs(tsim, "demo", "deleteTemplate", id=template["id"], forced="true")[1]["jobid"]
    clock.now += JOB
    assert job(tsim, "demo", jobid)["jobstatus"] == 1


# -- createTemplate ----------------------------------------------------------------------------------------------------
def _stopped_vm_with_root(sim: Simulator, state: str = "Stopped", vtype: str = "ROOT") -> tuple[dict, dict]:
    demo = sim.users["demo"]["accountid"]
    featured = listing(sim, "demo", "featured")[0]
    vm = put(sim, "vm", {"name": "web1", "state": state, "templateid": featured["id"], "zoneid": zone_id(sim),
                         "accountid": demo, "hypervisor": "Simulator"}, account_id=demo)
    volume = put(sim, "volume", {"name": "ROOT-1", "type": vtype, "virtualmachineid": vm["id"], "state": "Ready",
                                 "vmstate": state, "size": 8 * 1024 ** 3, "zoneid": zone_id(sim), "accountid": demo},
                 account_id=demo)
    return vm, volume


def test_create_template_from_a_stopped_vms_root_volume(tsim: Simulator, clock: Clock) -> None:
    vm, volume = _stopped_vm_with_root(tsim)
    ostype = cs(tsim, "demo", "listOsTypes")[1]["ostype"][0]["id"]
    status, body = cs(tsim, "demo", "createTemplate", name="golden", displaytext="golden image", volumeid=volume["id"],
                      ostypeid=ostype)
    assert status == 200 and set(body) == {"id", "jobid"}
    pending = listing(tsim, "demo", "self", id=body["id"])[0]
    assert pending["isready"] is False and pending["jobid"] == body["jobid"] and pending["jobstatus"] == 0
    assert pending["sourcetemplateid"] == vm["templateid"]
    clock.now += JOB
    result = job(tsim, "demo", body["jobid"])
    assert result["jobstatus"] == 1 and result["jobinstanceid"] == body["id"]
    template = result["jobresult"]["template"]
    assert template["id"] == body["id"] and template["isready"] is True and template["status"] == "Download Complete"
    assert template["size"] == 8 * 1024 ** 3 and template["ispublic"] is False
    assert undocumented(template, spec.command("createTemplate")["response"]) == []
    assert [t["id"] for t in listing(tsim, "demo", "selfexecutable")] == [body["id"]]


@pytest.mark.parametrize("state, vtype", [("Running", "ROOT"), ("Stopped", "DATADISK")])
def test_create_template_needs_a_stopped_root_volume(tsim: Simulator, state: str, vtype: str) -> None:
    _, volume = _stopped_vm_with_root(tsim, state, vtype)
    ostype = cs(tsim, "demo", "listOsTypes")[1]["ostype"][0]["id"]
    status, body = cs(tsim, "demo", "createTemplate", name="x", displaytext="x", volumeid=volume["id"],
                      ostypeid=ostype)
    assert status == 431 and body["cserrorcode"] == 4350
    assert cs(tsim, "demo", "listTemplates", templatefilter="self") == (200, {})


def test_create_template_from_a_snapshot(tsim: Simulator, clock: Clock) -> None:
    _, volume = _stopped_vm_with_root(tsim, "Running")
    demo = tsim.users["demo"]["accountid"]
    snapshot = put(tsim, "snapshot", {"name": "snap", "volumeid": volume["id"], "state": "BackingUp",
                                      "zoneid": zone_id(tsim), "virtualsize": 4 * 1024 ** 3, "accountid": demo},
                   account_id=demo)
    ostype = cs(tsim, "demo", "listOsTypes")[1]["ostype"][0]["id"]
    args = {"name": "from-snap", "displaytext": "from snapshot", "snapshotid": snapshot["id"], "ostypeid": ostype}
    assert cs(tsim, "demo", "createTemplate", **args)[0] == 431
    edit(tsim, "snapshot", snapshot["id"], state="BackedUp")
    status, body = cs(tsim, "demo", "createTemplate", **args)
    assert status == 200
    clock.now += JOB
    assert job(tsim, "demo", body["jobid"])["jobresult"]["template"]["size"] == 4 * 1024 ** 3


def test_create_template_argument_errors(tsim: Simulator) -> None:
    other = new_user(tsim, "other")
    _, volume = _stopped_vm_with_root(tsim)
    ostype = cs(tsim, "demo", "listOsTypes")[1]["ostype"][0]["id"]
    status, body = cs(tsim, "demo", "createTemplate", name="x", displaytext="x", ostypeid=ostype)
    assert status == 431 and "need to specify snapshotId or volumeId" in body["errortext"]
    status, body = cs(tsim, other, "createTemplate", name="x", displaytext="x", ostypeid=ostype,
                      volumeid=volume["id"])
    assert status == 531
    status, body = cs(tsim, "demo", "createTemplate", name="x", displaytext="x", volumeid=volume["id"],
                      ostypeid="7d3a38b2-0000-4000-8000-000000000000")
    assert status == 431 and body["cserrorcode"] == 9999
