"""The simulator's VM family through the API: deploy, life cycle over time, isolation, limits, capacity,
passwords, persistence and expunge."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import (Clock, deploy, job, make_sim, new_user, put, read,
                                                           undocumented_keys, vm_of, wait, world)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def csim(store, clock) -> Simulator:
    return make_sim(store, clock)


@pytest.fixture
def w(csim) -> dict:
    return world(csim)


def test_deploy_is_create_style_async_and_runs_on_the_real_clock(sim):
    w = world(sim)
    status, body = cs(sim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"],
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert status == 200 and set(body) == {"id", "jobid"}
    assert vm_of(sim, "demo", body["id"])["state"] == "Starting"
    pending = job(sim, "demo", body["jobid"])
    assert pending["jobstatus"] == 0 and "jobresult" not in pending
    done = wait(sim, "demo", body["jobid"])
    assert done["jobstatus"] == 1 and done["jobinstanceid"] == body["id"]
    vm = done["jobresult"]["virtualmachine"]
    assert vm["state"] == "Running" and vm["id"] == body["id"]
    assert vm_of(sim, "demo", body["id"])["state"] == "Running"


def test_deployed_vm_renders_documented_fields(csim, w, clock):
    vm_id, done = deploy(csim, "demo", w, clock, name="web-1", displayname="Web one", group="web")
    vm = done["jobresult"]["virtualmachine"]
    assert undocumented_keys("deployVirtualMachine", vm) == []
    assert vm["name"] == "web-1" and vm["displayname"] == "Web one" and vm["group"] == "web"
    assert vm["serviceofferingname"] == "m1.small" and vm["cpunumber"] == 1 and vm["memory"] == 1024
    assert vm["templatename"] == "CentOS 7" and vm["zonename"] == w["zone"]["name"]
    assert vm["account"] == "demo" and vm["domain"] == "ROOT"
    nic, = vm["nic"]
    assert nic["ipaddress"].startswith("10.1.1.") and nic["isdefault"] is True
    assert [g["name"] for g in vm["securitygroup"]] == ["default"]
    assert vm["tags"] == []
    # A password-enabled template gives the password in the deploy result, never in lists.
    assert len(vm["password"]) == 6
    listed = vm_of(csim, "demo", vm_id)
    assert "password" not in listed and undocumented_keys("listVirtualMachines", listed) == []
    # Only admins see where it runs.
    assert "hostid" not in listed and "instancename" not in listed
    as_admin = vm_of(csim, "admin", vm_id, listall="true")
    assert as_admin["hostid"] and as_admin["hostname"] and as_admin["instancename"].startswith("i-")


def test_deploy_creates_a_root_volume_that_is_ready_when_running(csim, w, clock):
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"],
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    _, vols = cs(csim, "demo", "listVolumes", virtualmachineid=body["id"])
    root, = vols["volume"]
    assert root["type"] == "ROOT" and root["state"] == "Allocated" and root["deviceid"] == 0
    wait(csim, "demo", body["jobid"], clock)
    _, vols = cs(csim, "demo", "listVolumes", virtualmachineid=body["id"])
    assert vols["volume"][0]["state"] == "Ready" and vols["volume"][0]["vmstate"] == "Running"


def test_startvm_false_leaves_it_stopped_then_start_and_stop(csim, w, clock):
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"], startvm="false",
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert vm_of(csim, "demo", body["id"])["state"] == "Stopped"
    assert wait(csim, "demo", body["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Stopped"
    vm_id = body["id"]
    _, started = cs(csim, "demo", "startVirtualMachine", id=vm_id)
    assert vm_of(csim, "demo", vm_id)["state"] == "Starting"
    assert wait(csim, "demo", started["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Running"
    _, stopping = cs(csim, "demo", "stopVirtualMachine", id=vm_id)
    assert vm_of(csim, "demo", vm_id)["state"] == "Stopping"
    assert wait(csim, "demo", stopping["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Stopped"
    # Stopping a stopped VM succeeds.
    _, again = cs(csim, "demo", "stopVirtualMachine", id=vm_id, forced="true")
    assert wait(csim, "demo", again["jobid"], clock)["jobstatus"] == 1


def test_start_running_vm_is_a_sync_431(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "startVirtualMachine", id=vm_id)
    assert status == 431 and "already running" in body["errortext"]


def test_stop_queued_behind_deploy_runs_after_it(csim, w, clock):
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"],
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    _, stop = cs(csim, "demo", "stopVirtualMachine", id=body["id"])
    assert wait(csim, "demo", body["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Running"
    assert wait(csim, "demo", stop["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Stopped"


def test_reboot_running_succeeds_and_reboot_stopped_fails_in_the_job(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    _, reboot = cs(csim, "demo", "rebootVirtualMachine", id=vm_id)
    assert wait(csim, "demo", reboot["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Running"
    _, stop = cs(csim, "demo", "stopVirtualMachine", id=vm_id)
    wait(csim, "demo", stop["jobid"], clock)
    _, reboot = cs(csim, "demo", "rebootVirtualMachine", id=vm_id)
    failed = wait(csim, "demo", reboot["jobid"], clock)
    assert failed["jobstatus"] == 2 and failed["jobresultcode"] == 530
    assert failed["jobresult"]["errorcode"] == 530


def test_destroy_then_expunge_after_the_delay(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    root = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id)[1]["volume"][0]
    _, destroy = cs(csim, "demo", "destroyVirtualMachine", id=vm_id)
    assert vm_of(csim, "admin", vm_id, listall="true")["state"] == "Stopping"
    done = wait(csim, "demo", destroy["jobid"], clock)
    assert done["jobresult"]["virtualmachine"]["state"] == "Destroyed"
    # CloudStack hides destroyed VMs from their owner (allow.user.view.destroyed.vm is false by default).
    assert vm_of(csim, "demo", vm_id) is None
    assert vm_of(csim, "admin", vm_id, listall="true", state="Destroyed")["state"] == "Destroyed"
    assert vm_of(csim, "admin", vm_id, listall="true", state="Present") is None
    # Start on a destroyed VM is a sync 431.
    assert cs(csim, "demo", "startVirtualMachine", id=vm_id)[0] == 431
    clock.tick(1.1)
    assert vm_of(csim, "admin", vm_id, listall="true")["state"] == "Expunging"
    clock.tick(0.3)
    assert vm_of(csim, "admin", vm_id, listall="true") is None
    assert read(csim, "volume", root["id"]) is None
    assert vm_of(csim, "admin", vm_id, listall="true", state="Expunged")["id"] == vm_id
    assert vm_of(csim, "demo", vm_id, state="Expunged") is None


def test_destroy_with_expunge_is_admin_only_by_default(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "destroyVirtualMachine", id=vm_id, expunge="true")
    assert status == 531
    _, destroy = cs(csim, "admin", "destroyVirtualMachine", id=vm_id, expunge="true")
    assert wait(csim, "admin", destroy["jobid"], clock)["jobstatus"] == 1
    assert vm_of(csim, "admin", vm_id, listall="true") is None


def test_expunge_command_needs_admin_and_a_destroyed_vm(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    assert cs(csim, "demo", "expungeVirtualMachine", id=vm_id)[0] == 401
    _, early = cs(csim, "admin", "expungeVirtualMachine", id=vm_id)
    failed = wait(csim, "admin", early["jobid"], clock)
    assert failed["jobstatus"] == 2 and "destroy" in failed["jobresult"]["errortext"]
    _, destroy = cs(csim, "demo", "destroyVirtualMachine", id=vm_id)
    wait(csim, "demo", destroy["jobid"], clock)
    _, expunge = cs(csim, "admin", "expungeVirtualMachine", id=vm_id)
    assert wait(csim, "admin", expunge["jobid"], clock)["jobresult"] == {"success": True}
    assert vm_of(csim, "admin", vm_id, listall="true") is None


def test_destroy_detaches_data_disks_at_expunge(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    _, created = cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["disk"]["id"])
    wait(csim, "demo", created["jobid"], clock)
    _, attach = cs(csim, "demo", "attachVolume", id=created["id"], virtualmachineid=vm_id)
    wait(csim, "demo", attach["jobid"], clock)
    _, destroy = cs(csim, "admin", "destroyVirtualMachine", id=vm_id, expunge="true")
    wait(csim, "admin", destroy["jobid"], clock)
    _, vols = cs(csim, "demo", "listVolumes")
    volume, = vols["volume"]
    assert volume["id"] == created["id"] and "virtualmachineid" not in volume


def test_users_are_isolated(csim, w, clock):
    other = new_user(csim, "alice")
    mine, _ = deploy(csim, "demo", w, clock)
    theirs, _ = deploy(csim, other, w, clock)
    _, listing = cs(csim, "demo", "listVirtualMachines")
    assert [v["id"] for v in listing["virtualmachine"]] == [mine]
    _, listing = cs(csim, "demo", "listVirtualMachines", listall="true", id=theirs)
    assert listing == {}
    status, body = cs(csim, "demo", "stopVirtualMachine", id=theirs)
    assert status == 531 and body["cserrorcode"] == 4365
    _, everyone = cs(csim, "admin", "listVirtualMachines", listall="true")
    assert {v["id"] for v in everyone["virtualmachine"]} == {mine, theirs}
    _, by_account = cs(csim, "admin", "listVirtualMachines", account="alice")
    assert [v["id"] for v in by_account["virtualmachine"]] == [theirs]


def test_list_filters(csim, w, clock):
    a, _ = deploy(csim, "demo", w, clock, name="alpha", displayname="The Alpha")
    b, _ = deploy(csim, "demo", w, clock, name="beta", startvm="false")
    ids = lambda **p: [v["id"] for v in cs(csim, "demo", "listVirtualMachines", **p)[1].get("virtualmachine", [])]
    assert ids(state="Running") == [a] and ids(state="stopped") == [b] and ids(state="Present") == [a, b]
    assert ids(name="alp") == [a] and ids(keyword="ALPHA") == [a] and ids(ids=f"{a},{b}") == [a, b]
    assert ids(zoneid=w["zone"]["id"]) == [a, b] and ids(templateid=w["private"]["id"]) == []
    assert ids(id=a) == [a]
    status, body = cs(csim, "demo", "listVirtualMachines", id="not-a-uuid")
    assert status == 431


def test_name_must_be_a_hostname_and_unique_per_account(csim, w, clock):
    deploy(csim, "demo", w, clock, name="web")
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"], name="web",
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert status == 431 and "already exists" in body["errortext"]
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"], name="9bad_name",
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert status == 431 and body["errortext"].startswith("Invalid name.")
    other = new_user(csim, "bob")
    assert deploy(csim, other, w, clock, name="web")[1]["jobstatus"] == 1


def test_deploy_validates_its_references(csim, w):
    base = {"zoneid": w["zone"]["id"], "serviceofferingid": w["small"]["id"], "templateid": w["template"]["id"]}
    missing = "11111111-2222-4333-8444-555555555555"
    for param in ("zoneid", "serviceofferingid", "templateid"):
        status, body = cs(csim, "demo", "deployVirtualMachine", **{**base, param: missing})
        assert status == 431 and f"Invalid parameter {param} value={missing}" in body["errortext"]
    status, body = cs(csim, "demo", "deployVirtualMachine", **{**base, "templateid": w["private"]["id"]})
    assert status == 531
    not_ready = put(csim, "template", {"name": "dl", "isready": False, "ispublic": True, "zoneid": w["zone"]["id"]})
    assert cs(csim, "demo", "deployVirtualMachine", **{**base, "templateid": not_ready["id"]})[0] == 431
    status, body = cs(csim, "demo", "deployVirtualMachine", **base, keypair="nope")
    assert status == 431 and "nope" in body["errortext"]
    status, body = cs(csim, "demo", "deployVirtualMachine", **base, securitygroupnames="nope")
    assert status == 431 and body["errortext"] == "Unable to find group by name nope"
    status, body = cs(csim, "demo", "deployVirtualMachine", **base, userdata="not base64!")
    assert status == 431 and "base64" in body["errortext"]
    status, _ = cs(csim, "demo", "deployVirtualMachine", **base,
                   userdata=base64.b64encode(b"x" * 32769).decode())
    assert status == 431
    _, listing = cs(csim, "demo", "listVirtualMachines")
    assert listing == {}


def test_userdata_is_stored_and_listed_on_request(csim, w, clock):
    data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    vm_id, _ = deploy(csim, "demo", w, clock, userdata=data)
    assert "userdata" not in vm_of(csim, "demo", vm_id)
    assert vm_of(csim, "demo", vm_id, userdata="true")["userdata"] == data
    _, updated = cs(csim, "demo", "updateVirtualMachine", id=vm_id, displayname="renamed", haenable="true",
                    userdata=base64.b64encode(b"new").decode())
    assert updated["virtualmachine"]["displayname"] == "renamed" and updated["virtualmachine"]["haenable"]
    assert undocumented_keys("updateVirtualMachine", updated["virtualmachine"]) == []
    assert vm_of(csim, "demo", vm_id, userdata="true")["userdata"] == base64.b64encode(b"new").decode()


def test_vm_limit_is_535(csim, w, clock):
    def go(conn):
        from ec2soap.cloudstack.simulator.engine import Caller, Ctx
        ctx = Ctx(csim, conn, Caller(user={}, account={"accounttype": 1}), "test", clock())
        account = ctx.find("account", name="demo")[0]
        account["limits"]["vm"] = 1
        ctx.save("account", account)
    csim.store.run_sync(go)
    deploy(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"],
                      serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert status == 535 and body["cserrorcode"] == 4370


def test_zone_capacity_failure_is_a_failed_job_and_error_state(csim, clock):
    w = world(csim, _cpu_cores=4, _memory_mb=10240)
    first, done = deploy(csim, "demo", w, clock, serviceofferingid=w["large"]["id"])
    assert done["jobstatus"] == 1
    second, failed = deploy(csim, "demo", w, clock, serviceofferingid=w["large"]["id"])
    assert failed["jobstatus"] == 2 and failed["jobresultcode"] == 530
    assert failed["jobresult"]["errorcode"] == 533
    assert failed["jobresult"]["errortext"].startswith("Unable to create a deployment for VM")
    assert vm_of(csim, "demo", second)["state"] == "Error"
    # Stopping the first frees the capacity: it can start again, and a new deploy fits.
    _, stop = cs(csim, "demo", "stopVirtualMachine", id=first)
    wait(csim, "demo", stop["jobid"], clock)
    assert deploy(csim, "demo", w, clock, serviceofferingid=w["large"]["id"])[1]["jobstatus"] == 1
    _, start = cs(csim, "demo", "startVirtualMachine", id=first)
    assert wait(csim, "demo", start["jobid"], clock)["jobresult"]["errorcode"] == 533
    assert vm_of(csim, "demo", first)["state"] == "Stopped"


def _rsa_pair() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return key, public


def test_password_is_encrypted_with_the_key_pair(csim, w, clock):
    key, public = _rsa_pair()
    put(csim, "sshkeypair", {"name": "mykey", "fingerprint": "aa:bb", "_publickey": public,
                             "accountid": csim.users["demo"]["accountid"], "account": "demo"},
        account_id=csim.users["demo"]["accountid"])
    vm_id, done = deploy(csim, "demo", w, clock, keypair="mykey")
    vm = done["jobresult"]["virtualmachine"]
    assert vm["keypairs"] == "mykey"
    status, body = cs(csim, "demo", "getVMPassword", id=vm_id)
    assert status == 200
    clear = key.decrypt(base64.b64decode(body["password"]["encryptedpassword"]), padding.PKCS1v15())
    assert clear.decode() == vm["password"]
    # Reset needs a stopped VM, and changes the password.
    assert cs(csim, "demo", "resetPasswordForVirtualMachine", id=vm_id)[0] == 431
    _, stop = cs(csim, "demo", "stopVirtualMachine", id=vm_id)
    wait(csim, "demo", stop["jobid"], clock)
    _, reset = cs(csim, "demo", "resetPasswordForVirtualMachine", id=vm_id)
    new = wait(csim, "demo", reset["jobid"], clock)["jobresult"]["virtualmachine"]["password"]
    body = cs(csim, "demo", "getVMPassword", id=vm_id)[1]
    assert key.decrypt(base64.b64decode(body["password"]["encryptedpassword"]), padding.PKCS1v15()).decode() == new


def test_get_password_without_a_key_pair_is_431(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "getVMPassword", id=vm_id)
    assert status == 431 and "No password" in body["errortext"]


def test_state_survives_a_new_simulator_on_the_same_store(csim, w, clock, store):
    vm_id, _ = deploy(csim, "demo", w, clock, name="keeper")
    again = Simulator(store, SimulatorConfig(job_seconds=0.2, expunge_seconds=1.0), clock=clock)
    again.users = csim.users
    vm = vm_of(again, "demo", vm_id)
    assert vm["name"] == "keeper" and vm["state"] == "Running"
    # A job queued by one simulator is finished by the other.
    _, stop = cs(csim, "demo", "stopVirtualMachine", id=vm_id)
    assert wait(again, "demo", stop["jobid"], clock)["jobresult"]["virtualmachine"]["state"] == "Stopped"


def test_explicit_security_groups_replace_the_default(csim, w, clock):
    owner = csim.users["demo"]["accountid"]
    group = put(csim, "securitygroup", {"name": "web", "description": "web", "accountid": owner,
                                        "account": "demo", "ingressrule": [], "egressrule": []},
                account_id=owner)
    vm_id, done = deploy(csim, "demo", w, clock, securitygroupids=group["id"])
    assert [g["name"] for g in done["jobresult"]["virtualmachine"]["securitygroup"]] == ["web"]
    _, listing = cs(csim, "demo", "listVirtualMachines", securitygroupid=group["id"])
    assert [v["id"] for v in listing["virtualmachine"]] == [vm_id]
    status, _ = cs(csim, "demo", "deployVirtualMachine", zoneid=w["zone"]["id"], securitygroupids=group["id"],
                   securitygroupnames="web", serviceofferingid=w["small"]["id"], templateid=w["template"]["id"])
    assert status == 431
