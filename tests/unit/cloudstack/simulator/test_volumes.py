"""The simulator's volume and snapshot families through the API: create, attach/detach, delete, snapshots,
limits and isolation."""
from __future__ import annotations

import pytest

from ec2soap.cloudstack.simulator import Simulator
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import (Clock, deploy, make_sim, new_user, undocumented_keys,
                                                           wait, world)

GB = 1024 ** 3


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def csim(store, clock) -> Simulator:
    return make_sim(store, clock)


@pytest.fixture
def w(csim) -> dict:
    return world(csim)


def _volume(sim, user, volume_id):
    _, body = cs(sim, user, "listVolumes", id=volume_id)
    return body["volume"][0] if body.get("volume") else None


def _create(sim, user, w, clock, **params):
    args = {"zoneid": w["zone"]["id"], "diskofferingid": w["disk"]["id"], **params}
    args = {k: v for k, v in args.items() if v is not None}
    status, body = cs(sim, user, "createVolume", **args)
    assert status == 200, body
    return body["id"], wait(sim, user, body["jobid"], clock)


def _limit(sim, clock, resource, value):
    def go(conn):
        from ec2soap.cloudstack.simulator.engine import Caller, Ctx
        ctx = Ctx(sim, conn, Caller(user={}, account={"accounttype": 1}), "test", clock())
        account = ctx.find("account", name="demo")[0]
        account["limits"][resource] = value
        ctx.save("account", account)
    sim.store.run_sync(go)


def test_create_volume_from_offering_is_allocated(csim, w, clock):
    status, body = cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["disk"]["id"],
                      name="data1")
    assert status == 200 and set(body) == {"id", "jobid"}
    assert _volume(csim, "demo", body["id"])["state"] == "Allocated"
    done = wait(csim, "demo", body["jobid"], clock)
    volume = done["jobresult"]["volume"]
    assert done["jobinstancetype"] == "Volume" and volume["id"] == body["id"]
    assert volume["state"] == "Allocated" and volume["type"] == "DATADISK" and volume["size"] == 5 * GB
    assert volume["name"] == "data1" and volume["diskofferingname"] == "small-disk"
    assert undocumented_keys("createVolume", volume) == []


def test_custom_offering_needs_a_size(csim, w, clock):
    status, body = cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["custom"]["id"])
    assert status == 431
    _, done = _create(csim, "demo", w, clock, diskofferingid=w["custom"]["id"], size=20)
    assert done["jobresult"]["volume"]["size"] == 20 * GB
    assert cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["disk"]["id"], size=3)[0] == 431


def test_create_volume_needs_an_offering_or_snapshot(csim, w):
    status, body = cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"])
    assert status == 431 and "disk Offering ID or snapshot ID" in body["errortext"]
    status, body = cs(csim, "demo", "createVolume", diskofferingid=w["disk"]["id"])
    assert status == 431


def test_attach_makes_ready_and_detach_frees(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    volume_id, _ = _create(csim, "demo", w, clock)
    _, attach = cs(csim, "demo", "attachVolume", id=volume_id, virtualmachineid=vm_id)
    done = wait(csim, "demo", attach["jobid"], clock)
    volume = done["jobresult"]["volume"]
    assert volume["state"] == "Ready" and volume["virtualmachineid"] == vm_id and volume["deviceid"] == 1
    assert volume["vmstate"] == "Running" and undocumented_keys("attachVolume", volume) == []
    # Attached volumes cannot be attached again nor deleted.
    assert cs(csim, "demo", "attachVolume", id=volume_id, virtualmachineid=vm_id)[0] == 431
    status, body = cs(csim, "demo", "deleteVolume", id=volume_id)
    assert status == 431 and "not attached" in body["errortext"]
    _, detach = cs(csim, "demo", "detachVolume", id=volume_id)
    volume = wait(csim, "demo", detach["jobid"], clock)["jobresult"]["volume"]
    assert "virtualmachineid" not in volume and volume["state"] == "Ready"
    assert cs(csim, "demo", "detachVolume", id=volume_id)[0] == 431
    assert cs(csim, "demo", "deleteVolume", id=volume_id) == (200, {"success": True})
    assert _volume(csim, "demo", volume_id) is None


def test_device_ids_skip_3_and_detach_by_device(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    devices = []
    for _ in range(3):
        volume_id, _ = _create(csim, "demo", w, clock)
        _, attach = cs(csim, "demo", "attachVolume", id=volume_id, virtualmachineid=vm_id)
        devices.append(wait(csim, "demo", attach["jobid"], clock)["jobresult"]["volume"]["deviceid"])
    assert devices == [1, 2, 4]
    volume_id, _ = _create(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "attachVolume", id=volume_id, virtualmachineid=vm_id, deviceid=2)
    assert status == 431 and "used" in body["errortext"]
    _, detach = cs(csim, "demo", "detachVolume", virtualmachineid=vm_id, deviceid=2)
    assert wait(csim, "demo", detach["jobid"], clock)["jobstatus"] == 1
    assert cs(csim, "demo", "detachVolume", virtualmachineid=vm_id)[0] == 431


def test_root_volume_cannot_be_detached_or_deleted(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    root = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id, type="ROOT")[1]["volume"][0]
    status, body = cs(csim, "demo", "detachVolume", id=root["id"])
    assert status == 431 and body["errortext"] == "Please specify a data volume."
    assert cs(csim, "demo", "deleteVolume", id=root["id"])[0] == 431


def test_attach_checks_zone_and_vm_state(csim, w, clock):
    other = world(csim)
    vm_id, _ = deploy(csim, "demo", w, clock)
    volume_id, _ = _create(csim, "demo", other, clock)
    status, body = cs(csim, "demo", "attachVolume", id=volume_id, virtualmachineid=vm_id)
    assert status == 431 and "same zone" in body["errortext"]
    _, destroy = cs(csim, "demo", "destroyVirtualMachine", id=vm_id)
    wait(csim, "demo", destroy["jobid"], clock)
    here, _ = _create(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "attachVolume", id=here, virtualmachineid=vm_id)
    assert status == 431 and "running or stopped" in body["errortext"]


def test_volume_limit_is_535(csim, w, clock):
    _limit(csim, clock, "volume", 1)
    _create(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["disk"]["id"])
    assert status == 535


def test_volumes_are_isolated(csim, w, clock):
    alice = new_user(csim, "alice")
    mine, _ = _create(csim, "demo", w, clock)
    theirs, _ = _create(csim, alice, w, clock)
    _, listing = cs(csim, "demo", "listVolumes")
    assert [v["id"] for v in listing["volume"]] == [mine]
    assert cs(csim, "demo", "deleteVolume", id=theirs)[0] == 531
    vm_id, _ = deploy(csim, "demo", w, clock)
    assert cs(csim, alice, "attachVolume", id=theirs, virtualmachineid=vm_id)[0] == 531
    _, everyone = cs(csim, "admin", "listVolumes", listall="true", type="DATADISK")
    assert {v["id"] for v in everyone["volume"]} == {mine, theirs}


def test_snapshot_life_cycle_and_volume_from_snapshot(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock, name="db")
    root = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id)[1]["volume"][0]
    status, body = cs(csim, "demo", "createSnapshot", volumeid=root["id"])
    assert status == 200 and set(body) == {"id", "jobid"}
    _, listing = cs(csim, "demo", "listSnapshots", id=body["id"])
    assert listing["snapshot"][0]["state"] == "Creating"
    # A snapshot still being taken can neither be deleted nor used.
    assert cs(csim, "demo", "deleteSnapshot", id=body["id"])[0] == 431
    done = wait(csim, "demo", body["jobid"], clock)
    snapshot = done["jobresult"]["snapshot"]
    assert snapshot["state"] == "BackedUp" and snapshot["volumeid"] == root["id"]
    assert snapshot["volumetype"] == "ROOT" and snapshot["name"].startswith("db_ROOT-")
    assert undocumented_keys("createSnapshot", snapshot) == []
    _, listing = cs(csim, "demo", "listSnapshots", volumeid=root["id"])
    assert [s["id"] for s in listing["snapshot"]] == [body["id"]]
    restored, done = _create(csim, "demo", w, clock, diskofferingid=None, zoneid=None, snapshotid=body["id"])
    volume = done["jobresult"]["volume"]
    assert volume["state"] == "Ready" and volume["size"] == root["size"] and volume["snapshotid"] == body["id"]
    _, delete = cs(csim, "demo", "deleteSnapshot", id=body["id"])
    assert wait(csim, "demo", delete["jobid"], clock)["jobresult"] == {"success": True}
    assert cs(csim, "demo", "listSnapshots")[1] == {}


def test_snapshot_needs_a_ready_volume_and_respects_the_limit(csim, w, clock):
    volume_id, _ = _create(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "createSnapshot", volumeid=volume_id)
    assert status == 431 and "is not in Ready state but Allocated" in body["errortext"]
    vm_id, _ = deploy(csim, "demo", w, clock)
    root = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id)[1]["volume"][0]
    _limit(csim, clock, "snapshot", 1)
    _, first = cs(csim, "demo", "createSnapshot", volumeid=root["id"])
    wait(csim, "demo", first["jobid"], clock)
    assert cs(csim, "demo", "createSnapshot", volumeid=root["id"])[0] == 535


def test_snapshots_are_isolated(csim, w, clock):
    vm_id, _ = deploy(csim, "demo", w, clock)
    root = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id)[1]["volume"][0]
    _, snap = cs(csim, "demo", "createSnapshot", volumeid=root["id"])
    wait(csim, "demo", snap["jobid"], clock)
    alice = new_user(csim, "alice")
    assert cs(csim, alice, "listSnapshots")[1] == {}
    assert cs(csim, alice, "deleteSnapshot", id=snap["id"])[0] == 531
    assert cs(csim, alice, "createSnapshot", volumeid=root["id"])[0] == 531
