"""Terminated instances and the gateway's instance records: what the record keeps (EC2's fields, none of the
addresses), ClientToken claims deciding a race between two processes on one database, and the simulator's
expunge.delay (CloudStack's one-day default, changed by updateConfiguration)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.core.instance_model import STATES, BlockDevice, EbsDevice, GroupRef, Instance, Placement
from ec2soap.core.model import Tag
from ec2soap.core.terminations import TERMINATED_REASON, from_facts, to_facts
from ec2soap.store import Store
from ec2soap.store.instance_records import _claim_sync, _fill_sync, _release_sync, _token_sync
from tests.conftest import cs
from tests.unit.cloudstack.simulator.compute_world import Clock, deploy, read, wait, world


def _instance() -> Instance:
    launched = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc)
    return Instance(
        instance_id="i-0123456789abcdef0", image_id="ami-0123456789abcdef0", instance_state=STATES["running"],
        private_dns_name="VM-1", dns_name="198.51.100.7", instance_type="m1.small", launch_time=launched,
        placement=Placement("zone-1"), reservation_id="r-0123456789abcdef0", owner_id="acct", key_name="deploy",
        private_ip_address="10.1.1.10", ip_address="198.51.100.7", ami_launch_index="0",
        block_device_mapping=[BlockDevice("/dev/sda1", EbsDevice("vol-0123456789abcdef0", "attached", launched,
                                                                 True))],
        tags=[Tag("Name", "web")], groups=[GroupRef("sg-0123456789abcdef0", "web")], cs_id="cs-1",
        cs_state="Running")


def test_the_record_keeps_what_ec2_shows_of_a_terminated_instance() -> None:
    import json

    at = datetime(2026, 12, 1, 11, 30, 0, tzinfo=timezone.utc).timestamp()
    facts = json.loads(json.dumps(to_facts(_instance(), at)))  # stored as JSON text
    gone = from_facts(facts)
    assert (gone.instance_state, gone.state_reason) == (STATES["terminated"], TERMINATED_REASON)
    assert gone.reason == "User initiated (2026-12-01 11:30:00 GMT)"
    kept = _instance()
    for name in ("instance_id", "image_id", "instance_type", "launch_time", "placement", "reservation_id",
                 "owner_id", "key_name", "ami_launch_index", "tags", "cs_id"):
        assert getattr(gone, name) == getattr(kept, name), name
    # EC2 drops the addresses, volumes and security groups of a terminated instance.
    assert (gone.private_dns_name, gone.dns_name, gone.ip_address, gone.private_ip_address) == ("", "", None, None)
    assert gone.block_device_mapping == [] and gone.groups == []


def test_a_client_token_claimed_at_once_by_two_processes_has_one_winner(store: Store) -> None:
    other = Store(store.url, threads=2)  # a second process on the same database
    try:
        barrier = threading.Barrier(8)
        results: list[Any] = []

        def claim(db: Store, n: int) -> None:
            barrier.wait(timeout=30)
            results.append(db.run_sync(_claim_sync, "acct", "token-1", "fp", f"r-{n}", 1.0))
        threads = [threading.Thread(target=claim, args=(store if n % 2 else other, n)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(1 for r in results if r.claimed) == 1 and len(results) == 8
        winner = next(r for r in results if r.claimed)
        assert {r.reservation_id for r in results} == {winner.reservation_id}
        # Another account's same token is its own claim.
        assert store.run_sync(_claim_sync, "other", "token-1", "fp", "r-x", 1.0).claimed
        # A failed launch releases its claim; a finished one keeps it.
        store.run_sync(_release_sync, "other", "token-1")
        assert store.run_sync(_token_sync, "other", "token-1") is None
        store.run_sync(_fill_sync, "acct", "token-1", "r-final", ["cs-1"])
        store.run_sync(_release_sync, "acct", "token-1")
        kept = store.run_sync(_token_sync, "acct", "token-1")
        assert (kept.reservation_id, kept.instances) == ("r-final", ["cs-1"])
    finally:
        other.close()


def test_the_simulator_keeps_destroyed_vms_for_expunge_delay_as_it_is_set(store: Store) -> None:
    clock = Clock()
    sim = Simulator(store, SimulatorConfig(job_seconds=0.2), clock=clock)
    sim.users = sim.seed()
    _, configs = cs(sim, "admin", "listConfigurations", name="expunge.delay")
    assert configs["configuration"][0]["value"] == "86400"  # CloudStack's default
    _, caps = cs(sim, "demo", "listCapabilities")
    assert caps["capability"]["allowuserexpungerecovervm"] is False
    assert caps["capability"]["allowuserviewdestroyedvm"] is False
    w = world(sim)
    first, _ = deploy(sim, "demo", w, clock)
    wait(sim, "demo", cs(sim, "demo", "destroyVirtualMachine", id=first)[1]["jobid"], clock)
    assert cs(sim, "admin", "updateConfiguration", name="expunge.delay", value="5")[0] == 200
    second, _ = deploy(sim, "demo", w, clock)
    wait(sim, "demo", cs(sim, "demo", "destroyVirtualMachine", id=second)[1]["jobid"], clock)
    clock.tick(6)
    cs(sim, "admin", "listVirtualMachines", listall="true")
    clock.tick(1)
    cs(sim, "admin", "listVirtualMachines", listall="true")
    assert read(sim, "vm", second) is None  # expunged after the 5 s now set
    assert read(sim, "vm", first)["state"] == "Destroyed"  # still waiting out its day


def test_client_tokens_older_than_a_week_are_dropped(store: Store, in_reactor: Any) -> None:
    from ec2soap.store.instance_records import KEEP_TOKENS, InstanceRecords

    records = InstanceRecords(store)
    now = 1_800_000_000.0
    old = in_reactor(records.claim_token, "acct", "old", "fp", "r-old", now - KEEP_TOKENS - 1)
    assert old.claimed
    # The first claim in an hour drops week-old tokens: the old token may launch again.
    assert in_reactor(records.claim_token, "acct", "new", "fp", "r-new", now).claimed
    assert in_reactor(records.token, "acct", "old") is None
    assert in_reactor(records.claim_token, "acct", "old", "fp", "r-again", now).claimed
    assert in_reactor(records.token, "acct", "new").reservation_id == "r-new"
