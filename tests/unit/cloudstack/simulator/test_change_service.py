"""The simulator's changeServiceForVirtualMachine (UpgradeVMCmd): only a stopped VM changes its offering."""
from __future__ import annotations

import pytest

from ec2soap.cloudstack.simulator import Simulator
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import (Clock, deploy, make_sim, new_user, undocumented_keys,
                                                           vm_of, wait, world)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def csim(store, clock) -> Simulator:
    return make_sim(store, clock)


def test_a_stopped_vm_changes_offering(csim, clock):
    w = world(csim)
    vm_id, _ = deploy(csim, "demo", w, clock)
    status, body = cs(csim, "demo", "changeServiceForVirtualMachine", id=vm_id, serviceofferingid=w["large"]["id"])
    assert status == 431 and "make sure the virtual machine is stopped" in body["errortext"]
    status, body = cs(csim, "demo", "stopVirtualMachine", id=vm_id)
    wait(csim, "demo", body["jobid"], clock)
    status, body = cs(csim, "demo", "changeServiceForVirtualMachine", id=vm_id, serviceofferingid=w["large"]["id"])
    assert status == 200, body
    vm = body["virtualmachine"]
    assert undocumented_keys("changeServiceForVirtualMachine", vm) == []
    assert vm["serviceofferingid"] == w["large"]["id"] and vm["serviceofferingname"] == "m1.large"
    assert vm["cpunumber"] == 4 and vm["memory"] == 8192 and vm["state"] == "Stopped"
    assert vm_of(csim, "demo", vm_id)["serviceofferingname"] == "m1.large"
    _, vols = cs(csim, "demo", "listVolumes", virtualmachineid=vm_id, type="ROOT")
    assert vols["volume"][0]["serviceofferingid"] == w["large"]["id"]
    # The same offering again is refused, like CloudStack's checkIfCanUpgrade.
    status, body = cs(csim, "demo", "changeServiceForVirtualMachine", id=vm_id, serviceofferingid=w["large"]["id"])
    assert status == 431 and "already has the requested service offering" in body["errortext"]


def test_unknown_offering_and_other_users_vm(csim, clock):
    w = world(csim)
    vm_id, _ = deploy(csim, "demo", w, clock, startvm="false")
    status, _ = cs(csim, "demo", "changeServiceForVirtualMachine", id=vm_id,
                   serviceofferingid="00000000-0000-4000-8000-00000000dead")
    assert status == 431
    other = new_user(csim, "other")
    status, _ = cs(csim, other, "changeServiceForVirtualMachine", id=vm_id, serviceofferingid=w["large"]["id"])
    assert status in (431, 531)
    assert vm_of(csim, "demo", vm_id)["serviceofferingname"] == "m1.small"
