"""Ctx.find(ids=...) reads a few rows by uuid instead of the whole kind: it must give exactly what the whole
kind's rows filtered by those ids give, in the same (creation) order, for every account scope, removed rows
included or not, ids unknown, of another account or of a removed row."""
from __future__ import annotations

import random
from typing import Any

import pytest

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.context import _FEW_IDS
from ec2soap.cloudstack.simulator.engine import Ctx
from tests.conftest import make_store, signed
from tests.unit.cloudstack.simulator.compute_world import JOB, Clock, world


@pytest.mark.parametrize("seed", range(3))
def test_find_by_ids_is_the_kind_filtered_by_ids(tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    store = make_store(f"sqlite:///{tmp_path}/sim.db")
    try:
        sim = Simulator(store, SimulatorConfig(job_seconds=JOB, expunge_seconds=0.5), clock=clock)
        sim.users = sim.seed()
        w = world(sim)
        users = [sim.users["admin"], sim.users["demo"]]
        made: list[str] = []
        for _ in range(12):
            status, body = sim.handle(signed(rng.choice(users), command="deployVirtualMachine",
                                             zoneid=w["zone"]["id"], templateid=w["template"]["id"],
                                             serviceofferingid=w["small"]["id"]))
            assert status == 200, body
            made.append(next(iter(body.values()))["id"])
            clock.tick()
        for vm in rng.sample(made, 5):  # some destroyed and, a tick later, expunged (removed rows)
            sim.handle(signed(users[0], command="destroyVirtualMachine", id=vm, expunge="true"))
            clock.tick(rng.choice([0.05, JOB + 0.05]))
        sim.handle(signed(users[0], command="listVirtualMachines", listall="true"))
        accounts = [None, users[0]["accountid"], users[1]["accountid"], "-none-"]

        def check(conn: Any) -> int:
            ctx = Ctx(sim, conn, None, "test", clock())  # type: ignore[arg-type]
            compared = 0
            for _ in range(60):
                ids = rng.sample(made, rng.randint(0, min(len(made), _FEW_IDS))) + \
                    (["00000000-0000-0000-0000-000000000000"] if rng.random() < 0.3 else [])
                account, removed = rng.choice(accounts), rng.random() < 0.5
                whole = [v for v in ctx.find("vm", account_id=account, removed=removed) if v["id"] in set(ids)]
                assert ctx.find("vm", account_id=account, removed=removed, ids=ids) == whole, (ids, account)
                compared += len(whole)
            return compared
        assert store.run_sync(check, readonly=True) > 0
    finally:
        store.close()
