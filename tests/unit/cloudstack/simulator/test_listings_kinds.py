"""The simulator's read cache by kind (listings.py): a write of one kind drops only that kind's entries, both when
it is made and when its writing request ends; an unnamed change, or a writing request that made one, drops
everything; a read that raced a write of any kind is still not kept. And through the Simulator: a deploy leaves
the templates read before it in the cache, and what it wrote is read again."""
from __future__ import annotations

import threading
from typing import Any

from ec2soap.cloudstack.simulator.listings import ReadCache
from tests.conftest import cs


def _read(cache: ReadCache, key: str, kind: str | None, value: object, reads: list) -> object:
    def read() -> object:
        reads.append(key)
        return value
    with cache.reading():
        return cache.fetch(key, read, kind)


def test_a_write_drops_only_its_kinds_entries() -> None:
    cache, reads = ReadCache(), []
    _read(cache, "vms", "vm", ("a",), reads)
    _read(cache, "templates", "template", ("t",), reads)
    with cache.writing():
        cache.changed("vm")
    assert _read(cache, "vms", "vm", ("a", "b"), reads) == ("a", "b")
    assert _read(cache, "templates", "template", ("other",), reads) == ("t",)
    assert reads == ["vms", "templates", "vms"]


def test_a_kinds_entries_read_during_a_write_go_when_it_ends() -> None:
    cache, reads = ReadCache(), []
    _read(cache, "templates", "template", ("t",), reads)
    with cache.writing():
        cache.changed("vm")
        # A reader between the write and its commit reads the old rows and keeps none of them (the commit
        # could come before the request ends); other kinds are still served.
        assert _read(cache, "vms", "vm", ("old",), reads) == ("old",)
        assert _read(cache, "vms", "vm", ("again",), reads) == ("again",)
        assert _read(cache, "templates", "template", ("other",), reads) == ("t",)
    assert _read(cache, "vms", "vm", ("new",), reads) == ("new",)
    assert _read(cache, "vms", "vm", ("kept",), reads) == ("new",)
    assert _read(cache, "templates", "template", ("other",), reads) == ("t",)


def test_a_writing_request_reads_the_kinds_no_write_under_way_touched() -> None:
    cache, reads = ReadCache(), []
    _read(cache, "templates", "template", ("t",), reads)
    _read(cache, "vms", "vm", ("a",), reads)
    with cache.writing():
        assert cache.fetch("templates", lambda: ("db",), "template") == ("t",)
        assert cache.fetch("vms", lambda: ("db",), "vm") == ("a",)
        cache.changed("vm")
        # Its own write: read from the database from then on, and nothing it reads is stored.
        assert cache.fetch("vms", lambda: ("own",), "vm") == ("own",)
        assert cache.fetch("zones", lambda: ("z",), "zone") == ("z",)
        # Another thread's writing request under way makes its kinds the database's for everyone.
        other_done, other_go = threading.Event(), threading.Event()

        def other() -> None:
            with cache.writing():
                cache.changed("template")
                other_done.set()
                other_go.wait(10)
        thread = threading.Thread(target=other)
        thread.start()
        assert other_done.wait(10)
        assert cache.fetch("templates", lambda: ("db",), "template") == ("db",)
        other_go.set()
        thread.join(10)
    assert _read(cache, "zones", "zone", ("z2",), reads) == ("z2",)
    with cache.writing():
        cache.changed()  # an unnamed change: nothing from the cache for the rest of the request
        assert cache.fetch("zones", lambda: ("db",), "zone") == ("db",)


def test_entries_of_no_kind_and_unnamed_changes() -> None:
    cache, reads = ReadCache(), []
    _read(cache, "due", None, (1,), reads)
    _read(cache, "templates", "template", ("t",), reads)
    with cache.writing():
        cache.changed("vm")
    assert _read(cache, "due", None, (2,), reads) == (2,)  # any write may change it
    assert _read(cache, "templates", "template", ("x",), reads) == ("t",)
    with cache.writing():
        cache.changed()
    assert _read(cache, "templates", "template", ("u",), reads) == ("u",)


def test_a_read_that_raced_a_write_of_another_kind_is_not_kept() -> None:
    cache, reads = ReadCache(), []

    def racing_read() -> object:
        with cache.writing():
            cache.changed("vm")
        return ("stale",)

    with cache.reading():
        assert cache.fetch("templates", racing_read, "template") == ("stale",)
    assert _read(cache, "templates", "template", ("fresh",), reads) == ("fresh",)


def test_a_deploy_keeps_the_templates_and_rereads_the_vms(sim: Any) -> None:
    _, zones = cs(sim, "demo", "listZones", available="true")
    _, templates = cs(sim, "demo", "listTemplates", templatefilter="executable")
    _, offerings = cs(sim, "demo", "listServiceOfferings")
    _, before = cs(sim, "demo", "listVirtualMachines")
    entries = sim.listings._entries
    assert ("find", "template", None, None, False, None) in entries.get("template", {})
    status, started = cs(sim, "demo", "deployVirtualMachine", zoneid=zones["zone"][0]["id"],
                         templateid=templates["template"][0]["id"],
                         serviceofferingid=offerings["serviceoffering"][0]["id"])
    assert status == 200
    assert ("find", "template", None, None, False, None) in sim.listings._entries.get("template", {})
    assert not sim.listings._entries.get("vm")
    _, after = cs(sim, "demo", "listVirtualMachines")
    assert [v["id"] for v in after["virtualmachine"]] == \
           [v["id"] for v in before.get("virtualmachine", [])] + [started["id"]]
    _, again = cs(sim, "demo", "listTemplates", templatefilter="executable")
    assert again == templates
