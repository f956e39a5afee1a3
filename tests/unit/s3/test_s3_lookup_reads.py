"""The reads folded together for speed give what the separate reads gave, on every engine: a GET's one query
(bucket, its owner's account block, its lifecycle rules and the version), the version a write returns without
reading it back, and the x-amz-expiration a PUT reads in its own transaction."""
from __future__ import annotations

from typing import Any

from ec2soap.s3.xml_lifecycle import parse_lifecycle
from tests.unit.s3.conftest import ALICE, get, put
from tests.unit.s3.test_lifecycle import DAYS1, doc, rule

HEADERS = {"content-type": "text/plain", "cache-control": "no-cache", "x-amz-meta-colour": "blue",
           "x-amz-tagging": "a=1&b=2", "x-amz-acl": "public-read"}


def _read_back(ops: Any, bucket: str, key: str, version_id: Any = None) -> tuple[Any, Any]:
    def read(conn: Any) -> tuple[Any, Any]:
        found = ops.meta.get_bucket(conn, bucket)
        return found, ops.meta.get_object(conn, found.id, key, version_id) if found is not None else None
    return ops.store.run_sync(read)


def _joined(ops: Any, bucket: str, key: str, version_id: Any = None) -> tuple[Any, Any]:
    return ops.store.run_sync(ops.meta.get_bucket_and_object, bucket, key, version_id)


def test_the_version_a_put_returns_is_the_row_it_wrote(any_ops: Any) -> None:
    ops = any_ops
    ops.create_bucket(ALICE, "plain")
    written = put(ops, ALICE, "plain", "k/é", b"hello", HEADERS)
    assert written == _read_back(ops, "plain", "k/é")[1]
    again = put(ops, ALICE, "plain", "k/é", b"second")  # replacing the null version
    assert again == _read_back(ops, "plain", "k/é")[1] and again.blob_id != written.blob_id
    ops.create_bucket(ALICE, "versioned")
    ops.put_bucket_versioning(ALICE, "versioned", "Enabled")
    first = put(ops, ALICE, "versioned", "k", b"one", HEADERS)
    assert first == _read_back(ops, "versioned", "k", first.version_id)[1]
    second = put(ops, ALICE, "versioned", "k", b"two")
    assert second == _read_back(ops, "versioned", "k")[1] and second.version_id != first.version_id


def test_a_gets_one_query_reads_what_the_separate_ones_read(any_ops: Any) -> None:
    ops = any_ops
    ops.create_bucket(ALICE, "one")
    ops.put_bucket_versioning(ALICE, "one", "Enabled")
    old = put(ops, ALICE, "one", "k", b"old", HEADERS)
    put(ops, ALICE, "one", "k", b"new")
    ops.put_bucket_lifecycle(ALICE, "one", parse_lifecycle(doc(rule(DAYS1, "soon"))))
    for key, version_id in (("k", None), ("k", old.version_id), ("absent", None), ("k", "no-such-version")):
        bucket, version = _joined(ops, "one", key, version_id)
        expected_bucket, expected_version = _read_back(ops, "one", key, version_id)
        assert version == expected_version
        assert bucket.lifecycle_rules == ops.get_bucket_lifecycle(ALICE, "one") and bucket.rules_loaded
        bucket.lifecycle_rules = expected_bucket.lifecycle_rules
        assert bucket == expected_bucket
    assert _joined(ops, "none", "k") == (None, None)
    assert get(ops, ALICE, "one", "k") == b"new"
    assert get(ops, ALICE, "one", "k", version_id=old.version_id) == b"old"


def test_a_puts_expiration_is_the_one_read_after_it(any_ops: Any) -> None:
    ops = any_ops
    ops.create_bucket(ALICE, "expiring")
    headers = {"content-length": "3"}
    body = ops.receive(headers)
    body.write(b"abc")
    version, expiry = ops.put_object_expiring(ALICE, "expiring", "k", body, headers)
    assert expiry == {} == ops.expiration_headers("expiring", version)
    ops.put_bucket_lifecycle(ALICE, "expiring", parse_lifecycle(doc(rule(DAYS1, "soon"))))
    body = ops.receive(headers)
    body.write(b"def")
    version, expiry = ops.put_object_expiring(ALICE, "expiring", "k", body, headers)
    assert expiry == ops.expiration_headers("expiring", version)
    assert 'rule-id="soon"' in expiry["x-amz-expiration"]
