"""store/ec2_objects.py on SQLite, PostgreSQL and MariaDB: create, list by kind/account/VPC, compare-and-set
updates and deletes (a stale version loses), accounts never see each other's objects."""
from __future__ import annotations

from typing import Any

from ec2soap.store import Store
from ec2soap.store.ec2_objects import ObjectRecords


class _Inline:
    """A real Store whose `run` finishes inline (run_sync) and hands back an awaitable, as the reactor's would."""

    def __init__(self, store: Store):
        self.store = store

    def run(self, fn: Any, *args: Any, readonly: bool = False) -> Any:
        return _Ready(self.store.run_sync(fn, *args, readonly=readonly))


class _Ready:
    def __init__(self, value: Any):
        self.value = value

    def __await__(self) -> Any:
        return self.value
        yield  # a generator that finishes at once


def _done(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the coroutine waited on something other than the store")


def test_objects_round_trip_with_versions_on_every_database(any_store_url: str) -> None:
    store = Store(any_store_url, threads=2)
    store.migrate()
    try:
        records = ObjectRecords(_Inline(store), clock=iter(range(100, 200)).__next__)
        igw = _done(records.create("igw", "acct-a", {"tags": {}}))
        rtb = _done(records.create("rtb", "acct-a", {"routes": []}, vpc="vpc-1"))
        _done(records.create("rtb", "acct-b", {"routes": []}, vpc="vpc-1"))

        assert [r.cs_id for r in _done(records.list("rtb", "acct-a"))] == [rtb.cs_id]
        assert _done(records.list("rtb", "acct-a", vpc="vpc-2")) == []
        assert _done(records.get("igw", "acct-b", igw.cs_id)) is None  # another account's
        assert _done(records.list("igw", "acct-a", cs_ids=[])) == []

        stale = _done(records.get("igw", "acct-a", igw.cs_id))
        assert _done(records.update(igw, {"tags": {"a": "1"}}, vpc="vpc-1")) is True
        assert (igw.version, igw.vpc) == (2, "vpc-1")
        assert _done(records.update(stale, {"tags": {"b": "2"}})) is False  # read before the first update
        again = _done(records.get("igw", "acct-a", igw.cs_id))
        assert (again.data, again.vpc, again.version, again.created) == ({"tags": {"a": "1"}}, "vpc-1", 2, 100)
        assert _done(records.update(again, {"tags": {}}, vpc=None)) is True and again.vpc is None

        assert _done(records.delete(stale)) is False
        assert _done(records.delete(stale, any_version=True)) is True
        assert _done(records.get("igw", "acct-a", igw.cs_id)) is None
    finally:
        store.close()
