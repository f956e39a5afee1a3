"""Several gateway processes on one database and storage root: SQLite, PostgreSQL and MariaDB.

Threads with their own connections stand in for processes: each S3Operations shares only the database and
the storage root, as two hosts would."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from ec2soap.s3.operations import S3Operations
from tests import racing
from tests.unit.s3.conftest import ALICE, get, put, upload_part


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """FN(0) … FN(N-1) at once (tests.racing.race) → each one's result or exception."""
    return racing.race((partial(fn, i) for i in range(n)), timeout=60)


def referenced(ops: S3Operations) -> set[str]:
    return ops.store.run_sync(ops.meta.referenced_blobs)


def test_concurrent_puts_of_one_new_key_end_with_one_winner_and_no_orphan(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "race")
    payloads = [bytes([65 + i]) * (1000 + i) for i in range(6)]
    results = race(6, lambda i: put(any_ops, ALICE, "race", "key", payloads[i]))
    assert not [r for r in results if isinstance(r, Exception)], results
    body = get(any_ops, ALICE, "race", "key")
    assert body in payloads  # one complete winner, never a mix
    assert len(any_ops.list_objects(ALICE, "race").contents) == 1
    assert set(any_ops.objects.blob_ids()) == referenced(any_ops) and len(referenced(any_ops)) == 1


def test_concurrent_puts_on_a_versioned_bucket_keep_every_version(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "vrace")
    any_ops.put_bucket_versioning(ALICE, "vrace", "Enabled")
    put(any_ops, ALICE, "vrace", "key", b"first")
    results = race(5, lambda i: put(any_ops, ALICE, "vrace", "key", b"v%d" % i))
    assert not [r for r in results if isinstance(r, Exception)], results
    versions = any_ops.list_object_versions(ALICE, "vrace").versions
    assert len(versions) == 6 and sum(v.is_latest for v in versions) == 1
    latest = next(v for v in versions if v.is_latest)
    assert get(any_ops, ALICE, "vrace", "key") == get(any_ops, ALICE, "vrace", "key",
                                                      version_id=latest.version_id)
    assert set(any_ops.objects.blob_ids()) == referenced(any_ops) and len(referenced(any_ops)) == 6


def test_put_and_delete_racing_leave_no_orphan(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "pdr")
    put(any_ops, ALICE, "pdr", "key", b"start")
    race(6, lambda i: put(any_ops, ALICE, "pdr", "key", b"x" * i) if i % 2 else
         any_ops.delete_object(ALICE, "pdr", "key"))
    assert set(any_ops.objects.blob_ids()) == referenced(any_ops)
    assert len(any_ops.list_objects(ALICE, "pdr").contents) <= 1


def test_concurrent_bucket_creation_has_one_owner(any_ops: S3Operations) -> None:
    results = race(4, lambda i: any_ops.create_bucket(f"AK{i}", "contested"))
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert {r.code for r in results if isinstance(r, Exception)} == {"BucketAlreadyExists"}


def test_parts_uploaded_in_parallel_then_completed(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "mpr")
    uid = any_ops.create_multipart_upload(ALICE, "mpr", "big", {}).upload_id
    pieces = [bytes([48 + i]) * 1500 for i in range(6)]
    # Parts 1..6 in parallel, and part 3 sent twice at once: one of the two must win cleanly.
    jobs = list(range(6)) + [2]
    results = race(len(jobs), lambda j: upload_part(any_ops, ALICE, "mpr", "big", uid, jobs[j] + 1,
                                                     pieces[jobs[j]]))
    assert not [r for r in results if isinstance(r, Exception)], results
    parts = any_ops.list_parts(ALICE, "mpr", "big", uid).parts
    assert [p.part_number for p in parts] == [1, 2, 3, 4, 5, 6]
    version = any_ops.complete_multipart_upload(ALICE, "mpr", "big", uid, [(p.part_number, p.etag) for p in parts])
    assert get(any_ops, ALICE, "mpr", "big") == b"".join(pieces)
    assert set(any_ops.objects.blob_ids()) == set(version.blob_ids) == referenced(any_ops)


def test_read_after_write_across_nodes(any_ops: S3Operations, tmp_path: Any) -> None:
    """A second gateway with its own engine sees a write as soon as the first has answered."""
    from ec2soap.store import Store

    other_store = Store(any_ops.store.url, threads=2)
    other = S3Operations(other_store, any_ops.objects, limits=any_ops.limits)
    try:
        any_ops.create_bucket(ALICE, "raw")
        for i in range(5):
            put(any_ops, ALICE, "raw", "k", b"value %d" % i)
            assert get(other, ALICE, "raw", "k") == b"value %d" % i
            put(other, ALICE, "raw", f"o{i}", b"x")
            assert len(any_ops.list_objects(ALICE, "raw").contents) == i + 2
    finally:
        other_store.close()
