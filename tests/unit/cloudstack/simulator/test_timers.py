"""Timers (simulator/timers.py): a request skips the families' advance() scan only while nothing it would change
can be due. Random sequences of deploys (some failing for capacity inside their job), stops, starts, destroys
with and without expunge, template downloads and the clock moving; before every request, while the timers say
no look is needed, every family's advance() run on the committed state must find nothing to change."""
from __future__ import annotations

import random
from typing import Any

import pytest

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.engine import Ctx, _WriteNeeded
from tests.conftest import make_store, signed
from tests.unit.cloudstack.simulator.compute_world import JOB, Clock, world

EXPUNGE = 1.0


def _nothing_due(sim: Simulator) -> bool:
    """Every family's advance() on the committed state, read-only: False if one would change anything."""
    def scan(conn: Any) -> bool:
        ctx = Ctx(sim, conn, sim._system_caller(conn), "advance", sim.clock())
        try:
            for family in sim.families:
                if hasattr(family, "advance"):
                    family.advance(ctx)
        except _WriteNeeded:
            return False
        return True
    return sim.store.run_sync(scan, readonly=True)


@pytest.mark.parametrize("seed", range(6))
def test_a_skipped_scan_never_skips_a_due_change(tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    store = make_store(f"sqlite:///{tmp_path}/sim.db")
    try:
        sim = Simulator(store, SimulatorConfig(job_seconds=JOB, expunge_seconds=EXPUNGE), clock=clock)
        sim.users = sim.seed()
        w = world(sim, _cpu_cores=3)  # room for three small VMs: later deploys fail inside their job
        admin, demo = sim.users["admin"], sim.users["demo"]
        vms: list[str] = []
        skipped = looked = 0

        def call(user: dict, command: str, **params: Any) -> tuple[int, dict]:
            nonlocal skipped, looked
            if clock.now < sim.timers.next_look:
                skipped += 1
                assert _nothing_due(sim), (seed, command, clock.now, sim.timers.next_look)
            else:
                looked += 1
            status, body = sim.handle(signed(user, command=command, **params))
            return status, next(iter(body.values()))

        for _ in range(80):
            choice = rng.choice(["deploy", "deploy", "stop", "start", "destroy", "expunge", "template",
                                 "tick", "tick", "tick", "list"])
            if choice == "deploy" or (not vms and choice in ("stop", "start", "destroy", "expunge")):
                status, made = call(admin, "deployVirtualMachine", zoneid=w["zone"]["id"],
                                    templateid=w["template"]["id"], serviceofferingid=w["small"]["id"])
                if status == 200:
                    vms.append(made["id"])
            elif choice in ("stop", "start", "destroy", "expunge"):
                command = {"stop": "stopVirtualMachine", "start": "startVirtualMachine"}.get(
                    choice, "destroyVirtualMachine")
                extra = {"expunge": "true"} if choice == "expunge" else {}
                call(admin, command, id=rng.choice(vms), **extra)  # may be refused: the state decides
            elif choice == "template":
                call(demo, "registerTemplate", name=f"t{rng.random()}", displaytext="t", format="QCOW2",
                     hypervisor="KVM", url="http://images.example/t.qcow2", zoneid=w["zone"]["id"])
            elif choice == "tick":
                clock.tick(rng.choice([0.05, JOB, JOB + 0.05, EXPUNGE, EXPUNGE + JOB, 30.0]))
            else:
                call(rng.choice([admin, demo]), "listVirtualMachines", listall="true")
        # Then deploys one after another until the zone is full: a deploy failing inside its job leaves its VM
        # Starting until advance() turns it Error, which the next request must look for.
        states: set[str] = set()
        for _ in range(5):
            call(admin, "deployVirtualMachine", zoneid=w["zone"]["id"], templateid=w["template"]["id"],
                 serviceofferingid=w["small"]["id"])
            clock.tick(JOB + 0.05)
            call(admin, "listVirtualMachines", listall="true")  # the job runs (and fails) here
            listed = call(admin, "listVirtualMachines", listall="true")[1].get("virtualmachine", [])
            states = {vm["state"] for vm in listed}
            if "Error" in states:
                break
        assert "Error" in states, states
        # The property was exercised both ways: scans skipped and scans run.
        assert skipped and looked, (skipped, looked)
    finally:
        store.close()


def test_a_family_without_timers_looks_after_every_write(tmp_path: Any) -> None:
    """A family with advance() and no TIMERS (one written before timers) is never skipped after a write."""
    from ec2soap.cloudstack.simulator.timers import Timers

    class Untimed:
        @staticmethod
        def advance(ctx: Any) -> None:
            return None

    timers = Timers([Untimed])
    timers.begin()
    timers.scanned(float("inf"))
    assert timers.next_look == float("inf")
    timers.wrote("anything", {"id": "x"})
    assert timers.next_look == float("inf")  # noted once the request's transaction is over
    timers.end()
    assert timers.next_look == 0.0
