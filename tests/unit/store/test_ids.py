"""IdMap minting: new ids in one statement, and two processes (two Stores on one database) that mint the same
resources agree on one id each, whichever minted first and whatever else the batch holds."""
from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred

from ec2soap.store import Store
from ec2soap.store.ids import IdMap


class _Inline:
    """A real Store whose `run` finishes inline (run_sync)."""

    def __init__(self, store: Store):
        self.store = store

    def run(self, fn: Any, *args: Any, readonly: bool = False) -> Any:
        done: Deferred = Deferred()
        done.callback(self.store.run_sync(fn, *args, readonly=readonly))
        return done


def _done(coroutine: Any) -> Any:
    results: list[Any] = []
    ensureDeferred(coroutine).addBoth(results.append)
    assert results
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


def _maps(tmp_path: Any) -> tuple[IdMap, IdMap]:
    url = f"sqlite:///{tmp_path}/ids.db"
    first = Store(url, threads=1)
    first.migrate()
    return IdMap(_Inline(first)), IdMap(_Inline(Store(url, threads=1)))


def test_new_ids_are_minted_and_kept(tmp_path: Any) -> None:
    ours, _theirs = _maps(tmp_path)
    minted = _done(ours.to_ec2_many("instance", ["vm-1", "vm-2", "vm-1"]))
    assert list(minted) == ["vm-1", "vm-2"]
    assert all(v.startswith("i-") and len(v) == 19 for v in minted.values())
    assert len(set(minted.values())) == 2
    assert _done(ours.to_cloudstack_many("instance", list(minted.values()))) == {
        minted["vm-1"]: "vm-1", minted["vm-2"]: "vm-2"}


def test_a_batch_with_ids_another_process_minted_takes_theirs(tmp_path: Any) -> None:
    ours, theirs = _maps(tmp_path)
    first = _done(theirs.to_ec2_many("volume", ["v-1", "v-3"]))
    mixed = _done(ours.to_ec2_many("volume", ["v-1", "v-2", "v-3"]))
    assert mixed["v-1"] == first["v-1"] and mixed["v-3"] == first["v-3"]
    assert mixed["v-2"].startswith("vol-") and mixed["v-2"] not in first.values()
    # and the other process finds the one minted here
    assert _done(theirs.to_ec2("volume", "v-2")) == mixed["v-2"]
    # the same uuid under another kind is another id
    assert _done(ours.to_ec2("snapshot", "v-1")).startswith("snap-")
