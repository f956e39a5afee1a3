"""The simulator's read cache (listings.py): what a read-only request read is served again only while nothing was
written since, a read that raced a write is not kept, writing requests never use it, and a write the engine
cannot follow to its commit switches it off."""
from __future__ import annotations

from ec2soap.cloudstack.simulator.listings import ReadCache


def _reader(cache: ReadCache, key: str, value: object, reads: list) -> object:
    def read() -> object:
        reads.append(key)
        return value
    with cache.reading():
        return cache.fetch(key, read)


def test_a_read_is_served_again_until_a_write() -> None:
    cache, reads = ReadCache(), []
    assert _reader(cache, "vms", ("a",), reads) == ("a",)
    assert _reader(cache, "vms", ("other",), reads) == ("a",)  # from the cache: read() not called
    assert reads == ["vms"]
    with cache.writing():
        cache.changed()
    assert _reader(cache, "vms", ("a", "b"), reads) == ("a", "b")
    assert reads == ["vms", "vms"]


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache, reads = ReadCache(), []

    def racing_read() -> object:
        # Another thread's writing request commits while this read is under way.
        with cache.writing():
            cache.changed()
        return ("stale",)

    with cache.reading():
        assert cache.fetch("vms", racing_read) == ("stale",)
    assert _reader(cache, "vms", ("fresh",), reads) == ("fresh",)


def test_writing_requests_and_calls_outside_a_request_always_read() -> None:
    cache, reads = ReadCache(), []
    _reader(cache, "vms", ("a",), reads)
    with cache.writing():
        assert cache.fetch("vms", lambda: ("own",)) == ("own",)
    assert cache.fetch("vms", lambda: ("direct",)) == ("direct",)


def test_a_write_outside_the_engine_switches_the_cache_off_once_serving() -> None:
    cache, reads = ReadCache(), []
    cache.changed()  # seeding, before the first request: fine
    assert cache.enabled
    _reader(cache, "vms", ("a",), reads)
    cache.changed()  # a test writing through its own Ctx: its commit cannot be followed
    assert not cache.enabled
    assert _reader(cache, "vms", ("b",), reads) == ("b",)
    assert _reader(cache, "vms", ("c",), reads) == ("c",)
    assert reads == ["vms", "vms", "vms"]


def test_simulators_on_one_store_share_one_cache() -> None:
    class Store:
        pass

    one, other = Store(), Store()
    assert ReadCache.of(one) is ReadCache.of(one)
    assert ReadCache.of(one) is not ReadCache.of(other)
