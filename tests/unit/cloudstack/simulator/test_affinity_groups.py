"""Simulator affinity groups: types, create-style create, placement on the zone's simulated hosts (anti-affinity
spreads, affinity packs, no host left is 533), updateVMAffinityGroup on stopped VMs, delete, isolation."""
from __future__ import annotations

import pytest

from ec2soap.cloudstack.simulator import Simulator
from ec2soap.cloudstack.simulator.placement import HOSTS
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import new_user, undocumented_keys, wait
from tests.unit.cloudstack.simulator.vpc_world import advanced_sim, fails, ok


@pytest.fixture
def asim(store) -> Simulator:
    return advanced_sim(store, job_seconds=0.0)


def _basic(asim) -> dict:
    zone = cs(asim, "demo", "listZones")[1]["zone"][0]
    small = next(o for o in cs(asim, "demo", "listServiceOfferings")[1]["serviceoffering"] if o["name"] == "m1.small")
    template = cs(asim, "demo", "listTemplates", templatefilter="featured")[1]["template"][0]
    return {"zoneid": zone["id"], "serviceofferingid": small["id"], "templateid": template["id"]}


def group(asim, name, kind, user="demo") -> dict:
    return ok(asim, user, "createAffinityGroup", name=name, type=kind, description=f"{name} group")["affinitygroup"]


def host_of(asim, vm_id) -> str:
    return cs(asim, "admin", "listVirtualMachines", id=vm_id, listall="true")[1]["virtualmachine"][0]["hostid"]


def test_types_and_create(asim) -> None:
    status, body = cs(asim, "demo", "listAffinityGroupTypes")
    assert status == 200 and body["affinityGroupType"] == [{"type": "host anti-affinity"}, {"type": "host affinity"}]
    status, body = cs(asim, "demo", "createAffinityGroup", name="web", type="host anti-affinity")
    assert status == 200 and set(body) == {"id", "jobid"}
    done = wait(asim, "demo", body["jobid"])
    assert done["jobinstancetype"] == "AffinityGroup" and "jobinstanceid" not in done
    made = done["jobresult"]["affinitygroup"]
    assert not undocumented_keys("createAffinityGroup", made)
    assert (made["id"], made["name"], made["type"], made["account"], made["virtualmachineIds"]) == \
        (body["id"], "web", "host anti-affinity", "demo", [])
    status, body = cs(asim, "demo", "createAffinityGroup", name="web", type="host affinity")
    assert (status, body["errortext"]) == (431, "Unable to create affinity group, a group with name web already "
                                                "exists.")
    status, body = cs(asim, "demo", "createAffinityGroup", name="x", type="spread")
    assert status == 431 and body["errortext"].startswith("Unable to create affinity group, invalid affinity group "
                                                          "type: spread. Valid values are host anti-affinity")
    status, body = cs(asim, "demo", "createAffinityGroup", name="x", type="ExplicitDedication")
    assert (status, body["cserrorcode"], body["errortext"]) == (531, 4365, "Cannot create the affinity group")
    listed = cs(asim, "demo", "listAffinityGroups", type="host anti-affinity")[1]["affinitygroup"]
    assert [g["name"] for g in listed] == ["web"] and not undocumented_keys("listAffinityGroups", listed)


def test_anti_affinity_spreads_until_no_host_is_left(asim) -> None:
    base = _basic(asim)
    spread = group(asim, "spread", "host anti-affinity")
    hosts = []
    for _ in range(HOSTS):
        vm = ok(asim, "demo", "deployVirtualMachine", affinitygroupids=spread["id"], **base)["virtualmachine"]
        assert [g["name"] for g in vm["affinitygroup"]] == ["spread"]
        hosts.append(host_of(asim, vm["id"]))
    assert len(set(hosts)) == HOSTS
    status, result = fails(asim, "demo", "deployVirtualMachine", affinitygroupnames="spread", **base)
    assert result["errorcode"] == 533 and result["errortext"].startswith("Unable to create a deployment for VM")
    members = cs(asim, "demo", "listAffinityGroups", id=spread["id"])[1]["affinitygroup"][0]["virtualmachineIds"]
    assert len(members) == HOSTS + 1  # the failed VM (state Error) is still a member
    assert cs(asim, "demo", "listAffinityGroups", virtualmachineid=members[0])[1]["count"] == 1


def test_affinity_packs_on_one_host(asim) -> None:
    base = _basic(asim)
    pack = group(asim, "pack", "host affinity")
    first = ok(asim, "demo", "deployVirtualMachine", affinitygroupids=pack["id"], **base)["virtualmachine"]
    second = ok(asim, "demo", "deployVirtualMachine", affinitygroupids=pack["id"], **base)["virtualmachine"]
    assert host_of(asim, first["id"]) == host_of(asim, second["id"])
    status, body = cs(asim, "demo", "deployVirtualMachine", affinitygroupids=pack["id"],
                      affinitygroupnames="pack", **base)
    assert status == 431 and "mutually exclusive" in body["errortext"]


def test_update_vm_groups_needs_a_stopped_vm_and_delete(asim) -> None:
    base = _basic(asim)
    spread, pack = group(asim, "spread", "host anti-affinity"), group(asim, "pack", "host affinity")
    vm = ok(asim, "demo", "deployVirtualMachine", affinitygroupids=spread["id"], **base)["virtualmachine"]
    status, result = fails(asim, "demo", "updateVMAffinityGroup", id=vm["id"], affinitygroupids=pack["id"])
    assert result["errorcode"] == 431 and "make sure the virtual machine is stopped" in result["errortext"]
    ok(asim, "demo", "stopVirtualMachine", id=vm["id"])
    status, body = cs(asim, "demo", "updateVMAffinityGroup", id=vm["id"], affinitygroupnames="pack")
    done = wait(asim, "demo", body["jobid"])
    assert "jobinstancetype" not in done
    assert [g["name"] for g in done["jobresult"]["virtualmachine"]["affinitygroup"]] == ["pack"]
    assert ok(asim, "demo", "deleteAffinityGroup", name="pack") == {"success": True}
    assert cs(asim, "demo", "listVirtualMachines", id=vm["id"])[1]["virtualmachine"][0]["affinitygroup"] == []
    status, body = cs(asim, "demo", "deleteAffinityGroup")
    assert (status, body["errortext"]) == (431, "Either the affinity group Id or group name must be specified to "
                                                "delete the group")
    status, body = cs(asim, "demo", "deleteAffinityGroup", name="pack")
    assert (status, body["errortext"]) == (431, "Unable to find affinity group pack")
    status, body = cs(asim, "demo", "deleteAffinityGroup", id=spread["id"])
    assert wait(asim, "demo", body["jobid"])["jobinstancetype"] == "AffinityGroup"


def test_another_account_cannot_use_the_groups(asim) -> None:
    base = _basic(asim)
    spread = group(asim, "spread", "host anti-affinity")
    other = new_user(asim, "trudy")
    assert cs(asim, other, "listAffinityGroups")[1] == {}
    status, body = cs(asim, other, "deployVirtualMachine", affinitygroupids=spread["id"], **base)
    assert (status, body["cserrorcode"]) == (531, 4365)
    assert cs(asim, other, "deleteAffinityGroup", id=spread["id"])[0] == 531
