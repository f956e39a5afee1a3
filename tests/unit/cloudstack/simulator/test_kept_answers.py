"""Kept answers (engine.ANSWERS_KEPT): a listing answered again from the read cache is always the answer the
simulator would render now. Random sequences of writes (deploys, tags, volumes, stops, destroys) and of the clock
moving (jobs coming due, VMs expunging) are interleaved with the kept listings, each asked twice (the second from
the cache) by two callers, and compared with a second Simulator on the same database whose read cache is off; the
JSON the fronts send on (`handle(as_json=True)`) is the same answer."""
from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.engine import ANSWERS_KEPT
from tests.conftest import make_store, signed
from tests.unit.cloudstack.simulator.compute_world import JOB, Clock, world

LISTINGS = [("listVirtualMachines", {}), ("listVirtualMachines", {"listall": "true"}),
            ("listVolumes", {}), ("listVolumes", {"type": "ROOT"}),
            ("listVirtualMachines", {"state": "Running"}), ("listVolumes", {"listall": "true", "page": "1",
                                                                           "pagesize": "2"})]


def _handle(sim: Simulator, user: dict, command: str, **params: Any) -> tuple[int, dict]:
    return sim.handle(signed(user, command=command, **params))


@pytest.mark.parametrize("seed", range(4))
def test_kept_answers_are_the_answers_rendered_now(tmp_path: Any, seed: int) -> None:
    assert {name for name, _ in LISTINGS} == ANSWERS_KEPT
    rng = random.Random(seed)
    clock = Clock()
    url = f"sqlite:///{tmp_path}/sim.db"
    store, fresh_store = make_store(url), None
    try:
        sim = Simulator(store, SimulatorConfig(job_seconds=JOB, expunge_seconds=1.0), clock=clock)
        sim.users = sim.seed()
        w = world(sim)
        fresh_store = make_store(url)
        fresh = Simulator(fresh_store, SimulatorConfig(job_seconds=JOB, expunge_seconds=1.0), clock=clock)
        fresh.listings.enabled = False
        admin, demo = sim.users["admin"], sim.users["demo"]
        vms: list[tuple[dict, str]] = []

        def write(user: dict, command: str, **params: Any) -> dict:
            status, body = _handle(sim, user, command, **params)
            assert status == 200, (command, body)
            return next(iter(body.values()))

        def step() -> str:
            choice = rng.choice(["deploy", "deploy", "tag", "volume", "stop", "destroy", "tick", "tick"])
            user = rng.choice([admin, demo])
            mine = [vm for vm, owner in vms if owner == user["id"]]
            if choice == "deploy" or (not mine and choice in ("tag", "volume", "stop", "destroy")):
                made = write(user, "deployVirtualMachine", zoneid=w["zone"]["id"], templateid=w["template"]["id"],
                             serviceofferingid=w["small"]["id"])
                vms.append((made["id"], user["id"]))
                return "deploy"
            if choice == "tick":
                clock.tick(rng.choice([0.05, JOB, 1.5]))
                return choice
            vm = rng.choice(mine)
            if choice == "tag":
                write(user, "createTags", resourcetype="UserVm", **{"resourceids": vm, "tags[0].key": "k",
                                                                    "tags[0].value": str(rng.random())})
            elif choice == "volume":
                volume = write(user, "createVolume", zoneid=w["zone"]["id"], diskofferingid=w["disk"]["id"],
                               name=f"v{rng.random()}")
                if rng.random() < 0.5:
                    clock.tick()
                    _handle(sim, user, "attachVolume", id=volume["id"], virtualmachineid=vm)
            elif choice in ("stop", "destroy"):
                # May be refused (a job under way, already stopped): the answer is whatever the state is.
                _handle(sim, user, "stopVirtualMachine" if choice == "stop" else "destroyVirtualMachine", id=vm)
            return choice

        for _ in range(30):
            done = step()
            for user in (admin, demo):
                for command, params in LISTINGS:
                    first = _handle(sim, user, command, **params)
                    truth = _handle(fresh, user, command, **params)
                    assert first == truth, (seed, done, command, params)
                    # Each caller's copy is its own: changing it changes no later answer.
                    next(iter(first[1].values())).clear()
                    again = _handle(sim, user, command, **params)
                    # What both fronts send on (as_json): the kept JSON itself, the same answer.
                    status, raw = sim.handle(signed(user, command=command, **params), as_json=True)
                    assert again == truth and isinstance(raw, bytes) and (status, orjson.loads(raw)) == truth, (
                        seed, done, command, params)
    finally:
        store.close()
        if fresh_store is not None:
            fresh_store.close()
