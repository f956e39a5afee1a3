"""Conditional writes (If-Match / If-None-Match) on S3Operations: the rules, and their atomicity against
concurrent writers on SQLite, PostgreSQL and MariaDB (threads with their own connections stand in for
gateway processes, as in test_concurrency.py)."""
from __future__ import annotations

import pytest

from ec2soap.s3.errors import S3Error
from ec2soap.s3.operations import S3Operations
from tests.unit.s3.conftest import ALICE, get, put, upload_part
from tests.unit.s3.test_concurrency import race, referenced


def _code(fn: object) -> str:
    with pytest.raises(S3Error) as caught:
        fn()  # type: ignore[operator]
    return caught.value.code


def test_if_none_match_star_creates_once(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cwb")
    put(ops, ALICE, "cwb", "k", b"first", {"if-none-match": "*"})
    assert _code(lambda: put(ops, ALICE, "cwb", "k", b"second", {"if-none-match": "*"})) == "PreconditionFailed"
    assert get(ops, ALICE, "cwb", "k") == b"first"
    # The refused body left no blob behind.
    assert set(ops.objects.blob_ids()) == referenced(ops)


def test_if_none_match_after_a_delete_marker_writes(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cwv")
    ops.put_bucket_versioning(ALICE, "cwv", "Enabled")
    put(ops, ALICE, "cwv", "k", b"first")
    ops.delete_object(ALICE, "cwv", "k")
    put(ops, ALICE, "cwv", "k", b"again", {"if-none-match": "*"})
    assert get(ops, ALICE, "cwv", "k") == b"again"


def test_if_none_match_with_an_etag_is_not_implemented(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cwe")
    assert _code(lambda: ops.check_put(ALICE, "cwe", "k", {"content-length": "1", "if-none-match": '"abc"'})) \
        == "NotImplemented"


def test_if_match(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cmb")
    assert _code(lambda: put(ops, ALICE, "cmb", "k", b"x", {"if-match": '"0123"'})) == "NoSuchKey"
    first = put(ops, ALICE, "cmb", "k", b"first")
    assert _code(lambda: put(ops, ALICE, "cmb", "k", b"x", {"if-match": '"0123"'})) == "PreconditionFailed"
    second = put(ops, ALICE, "cmb", "k", b"second", {"if-match": f'"{first.etag}"'})
    assert get(ops, ALICE, "cmb", "k") == b"second"
    # The old ETag no longer matches: compare-and-swap.
    assert _code(lambda: put(ops, ALICE, "cmb", "k", b"x", {"if-match": first.etag})) == "PreconditionFailed"
    put(ops, ALICE, "cmb", "k", b"third", {"if-match": second.etag})
    assert get(ops, ALICE, "cmb", "k") == b"third"


def test_complete_multipart_upload_conditions(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cmp")
    put(ops, ALICE, "cmp", "k", b"exists")
    uid = ops.create_multipart_upload(ALICE, "cmp", "k", {}).upload_id
    part = upload_part(ops, ALICE, "cmp", "k", uid, 1, b"p" * 2000)
    assert _code(lambda: ops.complete_multipart_upload(ALICE, "cmp", "k", uid, [(1, part.etag)],
                                                       headers={"if-none-match": "*"})) == "PreconditionFailed"
    assert _code(lambda: ops.complete_multipart_upload(ALICE, "cmp", "k", uid, [(1, part.etag)],
                                                       headers={"if-match": '"nope"'})) == "PreconditionFailed"
    # The refused completion kept the upload: it can still complete.
    current = ops.get_object(ALICE, "cmp", "k", head=True).version
    done = ops.complete_multipart_upload(ALICE, "cmp", "k", uid, [(1, part.etag)],
                                         headers={"if-match": current.etag})
    assert get(ops, ALICE, "cmp", "k") == b"p" * 2000 and done.etag.endswith("-1")


@pytest.mark.parametrize("versioning", [None, "Enabled"])
def test_concurrent_if_none_match_puts_have_one_winner(any_ops: S3Operations, versioning: str | None) -> None:
    any_ops.create_bucket(ALICE, "cwrace")
    if versioning:
        any_ops.put_bucket_versioning(ALICE, "cwrace", versioning)
    payloads = [bytes([65 + i]) * (500 + i) for i in range(6)]
    # Several rounds: a check made apart from the write's own locked read loses this race only now and then.
    for key in ("key1", "key2", "key3"):
        results = race(6, lambda i: put(any_ops, ALICE, "cwrace", key, payloads[i], {"if-none-match": "*"}))
        winners = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert all(isinstance(r, S3Error) and r.code in ("PreconditionFailed", "ConditionalRequestConflict")
                   for r in losers), losers
        assert get(any_ops, ALICE, "cwrace", key) == payloads[winners[0]]
        assert len(any_ops.list_object_versions(ALICE, "cwrace", prefix=key).versions) == 1
    assert set(any_ops.objects.blob_ids()) == referenced(any_ops) and len(referenced(any_ops)) == 3


def test_concurrent_if_match_puts_swap_once(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "cmrace")
    any_ops.put_bucket_versioning(ALICE, "cmrace", "Enabled")
    base = put(any_ops, ALICE, "cmrace", "key", b"base")
    results = race(6, lambda i: put(any_ops, ALICE, "cmrace", "key", b"v%d" % i, {"if-match": base.etag}))
    winners = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, S3Error) and r.code in ("PreconditionFailed", "ConditionalRequestConflict")
               for r in losers), losers
    assert get(any_ops, ALICE, "cmrace", "key") == b"v%d" % winners[0]
    assert len(any_ops.list_object_versions(ALICE, "cmrace").versions) == 2


def test_concurrent_if_none_match_completions_have_one_winner(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "mprace")
    uploads = []
    for i in range(4):
        uid = any_ops.create_multipart_upload(ALICE, "mprace", "key", {}).upload_id
        part = upload_part(any_ops, ALICE, "mprace", "key", uid, 1, bytes([97 + i]) * 1500)
        uploads.append((uid, part.etag))
    results = race(4, lambda i: any_ops.complete_multipart_upload(
        ALICE, "mprace", "key", uploads[i][0], [(1, uploads[i][1])], headers={"if-none-match": "*"}))
    winners = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, S3Error) and r.code in ("PreconditionFailed", "ConditionalRequestConflict")
               for r in results if isinstance(r, Exception)), results
    assert get(any_ops, ALICE, "mprace", "key") == bytes([97 + winners[0]]) * 1500
    # The losers' uploads are still there to abort (or complete without the condition).
    assert len(any_ops.list_multipart_uploads(ALICE, "mprace").uploads) == 3
