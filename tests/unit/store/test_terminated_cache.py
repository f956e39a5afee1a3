"""InstanceRecords.terminated's per-account cache: the same answers as the database, this process's writes seen
at once, a second process's (another Store on the same database) within the TTL, or at once for a VM CloudStack
already lists as destroyed; a read that began before a write is not kept."""
from __future__ import annotations

import random
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

from ec2soap.store import Store
from ec2soap.store.instance_records import InstanceRecords, _record_sync

NOW = 1_800_000_000.0
HOUR = 3600.0


class _Inline:
    """A real Store whose `run` finishes inline (run_sync), counting its reads of terminated records."""

    def __init__(self, store: Store):
        self.store = store
        self.reads = 0
        self.held: list[tuple[Deferred, Any]] = []
        self.hold = False

    def run(self, fn: Any, *args: Any, readonly: bool = False) -> Any:
        result = self.store.run_sync(fn, *args, readonly=readonly)
        if fn.__name__ == "_terminated_sync":
            self.reads += 1
            if self.hold:  # read now, answered when the test says
                waiting: Deferred = Deferred()
                self.held.append((waiting, result))
                return waiting
        done: Deferred = Deferred()
        done.callback(result)
        return done


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _done(coroutine: Any) -> Any:
    results: list[Any] = []
    ensureDeferred(coroutine).addBoth(results.append)
    assert results, "the coroutine waited on something the test did not release"
    if isinstance(results[0], BaseException) or hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


def _ids(records: list[Any]) -> list[tuple[str, float]]:
    return [(r.cs_id, r.terminated) for r in records]


def _stores(tmp_path: Any) -> tuple[Store, Store]:
    url = f"sqlite:///{tmp_path}/records.db"
    first = Store(url, threads=1)
    first.migrate()
    return first, Store(url, threads=1)  # the second: another gateway process on the same database


def _record(store: Store, account: str, cs_id: str, at: float) -> None:
    store.run_sync(_record_sync, account, [(cs_id, "i-" + cs_id, '{"instance_id": "i-%s"}' % cs_id)], at)


def test_cached_answers_are_the_databases_for_any_since_and_destroyed_vms(tmp_path: Any) -> None:
    db, _other = _stores(tmp_path)
    try:
        rng = random.Random(14)
        vms = [f"vm-{n}" for n in range(30)]
        for cs_id in vms[:24]:
            _record(db, rng.choice(["acct", "other"]), cs_id, NOW - rng.uniform(0, 3 * HOUR))
        clock = _Clock()
        cached = InstanceRecords(_Inline(db), clock=clock)
        direct = InstanceRecords(_Inline(db), terminated_ttl=0)
        hits = 0
        for step in range(300):
            since = NOW - HOUR + step  # the clock moves on, as each request's `since` does
            if rng.random() < 0.2:
                since = 2.0 ** 62  # only the named VMs' records, whenever terminated
            gone = rng.sample(vms, rng.randint(0, 6))
            account = rng.choice(["acct", "other"])
            before = cached.store.reads
            got = _done(cached.terminated(account, since, gone))
            hits += cached.store.reads == before
            want = _done(direct.terminated(account, since, gone))
            assert _ids(got) == _ids(want), (step, account, gone)
            assert [r.facts for r in got] == [r.facts for r in want]
            if step % 50 == 49:
                clock.now += 2  # past the TTL: read again
        assert hits > 100  # the cache answered many of them
        # An earlier SINCE than the cached read's is read from the database.
        before = cached.store.reads
        _done(cached.terminated("acct", NOW - 2 * HOUR, []))
        assert cached.store.reads == before + 1
    finally:
        db.close()
        _other.close()


def test_this_process_sees_its_own_terminations_at_once(tmp_path: Any) -> None:
    db, other = _stores(tmp_path)
    other.close()
    try:
        records = InstanceRecords(_Inline(db), clock=_Clock())
        assert _done(records.terminated("acct", NOW - HOUR, [])) == []
        _done(records.record_terminated("acct", [("vm-1", "i-1", {"instance_id": "i-1"})], NOW))
        got = _done(records.terminated("acct", NOW - HOUR, []))
        assert [(r.cs_id, r.instance_id, r.facts) for r in got] == [("vm-1", "i-1", {"instance_id": "i-1"})]
        reads = records.store.reads
        assert _ids(_done(records.terminated("acct", NOW - HOUR, ["vm-1"]))) == [("vm-1", NOW)]
        assert records.store.reads == reads  # vm-1's record is known: no read
        # Termination protection writes the same rows: it empties the cache too.
        _done(records.set_protection("vm-2", "i-2", "acct", True))
        _done(records.terminated("acct", NOW - HOUR, []))
        assert records.store.reads == reads + 1
    finally:
        db.close()


def test_a_second_process_is_seen_within_the_ttl_and_at_once_for_a_destroyed_vm(tmp_path: Any) -> None:
    db, other_db = _stores(tmp_path)
    try:
        clock = _Clock()
        ours = InstanceRecords(_Inline(db), clock=clock)
        theirs = InstanceRecords(_Inline(other_db), clock=clock)
        assert _done(ours.terminated("acct", NOW - HOUR, [])) == []
        _done(theirs.record_terminated("acct", [("vm-1", "i-1", {"instance_id": "i-1"})], NOW))
        # Within the TTL the other process's record is not seen, unless CloudStack lists the VM as destroyed.
        assert _done(ours.terminated("acct", NOW - HOUR, [])) == []
        assert _ids(_done(ours.terminated("acct", NOW - HOUR, ["vm-1"]))) == [("vm-1", NOW)]
        _done(theirs.record_terminated("acct", [("vm-2", "i-2", {"instance_id": "i-2"})], NOW + 1))
        assert _ids(_done(ours.terminated("acct", NOW - HOUR + 1, ["vm-1"]))) == [("vm-1", NOW)]
        clock.now += ours.terminated_ttl
        assert _ids(_done(ours.terminated("acct", NOW - HOUR + 1, ["vm-1"]))) == [("vm-1", NOW), ("vm-2", NOW + 1)]
        # A VM CloudStack lists as destroyed that we never recorded is looked up once, then known to have none.
        reads = ours.store.reads
        assert _ids(_done(ours.terminated("acct", NOW - HOUR + 1, ["vm-9"]))) == [("vm-1", NOW), ("vm-2", NOW + 1)]
        assert _ids(_done(ours.terminated("acct", NOW - HOUR + 1, ["vm-9", "vm-1"]))) == [("vm-1", NOW),
                                                                                      ("vm-2", NOW + 1)]
        assert ours.store.reads == reads + 1
    finally:
        db.close()
        other_db.close()


def test_a_read_that_began_before_a_write_is_not_kept(tmp_path: Any) -> None:
    db, other = _stores(tmp_path)
    other.close()
    try:
        store = _Inline(db)
        records = InstanceRecords(store, clock=_Clock())
        store.hold = True
        early = ensureDeferred(records.terminated("acct", NOW - HOUR, []))  # has read: no records yet
        store.hold = False
        _done(records.record_terminated("acct", [("vm-1", "i-1", {})], NOW))
        waiting, result = store.held.pop()
        waiting.callback(result)
        seen: list[Any] = []
        early.addCallback(seen.append)
        assert seen == [[]]  # what the database held when it was read
        # ... and not cached: the next read sees the record.
        assert _ids(_done(records.terminated("acct", NOW - HOUR, []))) == [("vm-1", NOW)]
    finally:
        db.close()


def test_ttl_zero_reads_the_database_every_time(tmp_path: Any) -> None:
    db, other = _stores(tmp_path)
    other.close()
    try:
        records = InstanceRecords(_Inline(db), terminated_ttl=0)
        for _ in range(3):
            _done(records.terminated("acct", NOW - HOUR, []))
        assert records.store.reads == 3
    finally:
        db.close()


def test_refills_within_the_ttl_carry_a_bounded_number_of_checked_vms(tmp_path: Any, monkeypatch: Any) -> None:
    from ec2soap.store import instance_records

    monkeypatch.setattr(instance_records, "_CARRY", 3)
    db, other = _stores(tmp_path)
    other.close()
    try:
        _record(db, "acct", "vm-old", NOW - 5 * HOUR)  # outside the hour: only seen when named
        records = InstanceRecords(_Inline(db), clock=_Clock())
        for n in range(10):
            got = _done(records.terminated("acct", NOW - HOUR, [f"vm-{n}", "vm-old"] if n == 9 else [f"vm-{n}"]))
            assert _ids(got) == ([("vm-old", NOW - 5 * HOUR)] if n == 9 else [])
            assert len(records._terminated["acct"].checked) <= 3 + 2
    finally:
        db.close()
