"""Test helpers for the compute families: a simulator on a hand-driven clock, and the zone, template and offerings
the VM tests deploy from (the seeded ones when zones.py/templates.py provide them, else inserted here)."""
from __future__ import annotations

import time
from typing import Any

from ec2soap.cloudstack import spec
from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.engine import Caller, Ctx
from tests.conftest import cs

JOB = 0.2


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = JOB + 0.05) -> None:
        self.now += seconds


def make_sim(store: Any, clock: Any = None) -> Simulator:
    sim = Simulator(store, SimulatorConfig(job_seconds=JOB, expunge_seconds=1.0), clock=clock or time.time)
    sim.users = sim.seed()
    return sim


def put(sim: Simulator, kind: str, doc: dict, account_id: str | None = None) -> dict:
    """Insert a document as the test harness (for the dependencies other families seed)."""
    def go(conn: Any) -> dict:
        caller = Caller(user={"id": "test"}, account={"id": "test", "accounttype": 1, "name": "test"})
        return Ctx(sim, conn, caller, "test", sim.clock()).insert(kind, doc, account_id=account_id)
    return sim.store.run_sync(go)


def read(sim: Simulator, kind: str, uuid: str, removed: bool = False) -> dict | None:
    def go(conn: Any) -> dict | None:
        caller = Caller(user={"id": "test"}, account={"id": "test", "accounttype": 1, "name": "test"})
        return Ctx(sim, conn, caller, "test", sim.clock()).get(kind, uuid, removed=removed)
    return sim.store.run_sync(go)


def world(sim: Simulator, **zone_fields: Any) -> dict:
    """A zone of its own (capacity fields as given), a public ready template, offerings and a guest network."""
    zone = put(sim, "zone", {"name": f"zone-{len(zone_fields)}-{time.monotonic_ns()}", "networktype": "Basic",
                             "securitygroupsenabled": True, "allocationstate": "Enabled", **zone_fields})
    put(sim, "network", {"name": "guest", "zoneid": zone["id"], "traffictype": "Guest", "type": "Shared",
                         "gateway": "10.1.1.1", "netmask": "255.255.255.0", "cidr": "10.1.1.0/24"})
    template = put(sim, "template", {"name": "CentOS 7", "displaytext": "CentOS 7 64-bit", "isready": True,
                                     "passwordenabled": True, "zoneid": zone["id"], "ispublic": True,
                                     "isfeatured": True, "size": 8 * 1024 ** 3, "hypervisor": "Simulator"})
    private = put(sim, "template", {"name": "admin-only", "displaytext": "private", "isready": True,
                                    "passwordenabled": False, "zoneid": zone["id"], "ispublic": False,
                                    "isfeatured": False, "accountid": sim.users["admin"]["accountid"]})
    small = put(sim, "serviceoffering", {"name": "m1.small", "displaytext": "small", "cpunumber": 1,
                                         "cpuspeed": 1000, "memory": 1024})
    large = put(sim, "serviceoffering", {"name": "m1.large", "displaytext": "large", "cpunumber": 4,
                                         "cpuspeed": 2000, "memory": 8192})
    disk = put(sim, "diskoffering", {"name": "small-disk", "displaytext": "5 GB", "disksize": 5,
                                     "iscustomized": False})
    custom = put(sim, "diskoffering", {"name": "custom", "displaytext": "custom", "disksize": 0,
                                       "iscustomized": True})
    return {"zone": zone, "template": template, "private": private, "small": small, "large": large,
            "disk": disk, "custom": custom}


def job(sim: Simulator, user: Any, jobid: str) -> dict:
    status, body = cs(sim, user, "queryAsyncJobResult", jobid=jobid)
    assert status == 200, body
    return body


def wait(sim: Simulator, user: Any, jobid: str, clock: Clock | None = None, timeout: float = 5.0) -> dict:
    """Poll queryAsyncJobResult until the job is done (ticking CLOCK, or sleeping on the real clock)."""
    deadline = time.monotonic() + timeout
    while True:
        body = job(sim, user, jobid)
        if body["jobstatus"] != 0:
            return body
        assert time.monotonic() < deadline, f"job {jobid} still pending"
        if clock is not None:
            clock.tick()
        else:
            time.sleep(0.05)


def deploy(sim: Simulator, user: Any, w: dict, clock: Clock | None = None, **params: Any) -> tuple[str, dict]:
    """deployVirtualMachine and wait: (vm id, finished job body)."""
    args = {"zoneid": w["zone"]["id"], "serviceofferingid": w["small"]["id"], "templateid": w["template"]["id"]}
    args.update(params)
    status, body = cs(sim, user, "deployVirtualMachine", **args)
    assert status == 200, body
    return body["id"], wait(sim, user, body["jobid"], clock)


def vm_of(sim: Simulator, user: Any, vm_id: str, **params: Any) -> dict | None:
    status, body = cs(sim, user, "listVirtualMachines", id=vm_id, **params)
    assert status == 200, body
    return body["virtualmachine"][0] if body.get("virtualmachine") else None


def undocumented_keys(command: str, obj: Any, fields: dict | None = None, path: str = "") -> list[str]:
    """Every key of OBJ (recursively) that the spec's response table for COMMAND does not document."""
    fields = spec.command(command)["response"] if fields is None else fields
    bad = []
    items = obj if isinstance(obj, list) else [obj]
    for item in items:
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key not in fields:
                bad.append(path + key)
            elif fields[key].get("fields") and isinstance(value, (dict, list)):
                bad += undocumented_keys(command, value, fields[key]["fields"], path + key + ".")
    return bad


def new_user(sim: Simulator, name: str) -> dict:
    """A second user account (createAccount as admin) with API keys."""
    status, body = cs(sim, "admin", "createAccount", username=name, password="pw", email=f"{name}@x",
                      firstname=name, lastname="t", accounttype="0")
    assert status == 200, body
    user = body["account"]["user"][0]
    status, keys = cs(sim, "admin", "registerUserKeys", id=user["id"])
    assert status == 200, keys
    return {**user, **keys["userkeys"]}
