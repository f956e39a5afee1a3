"""The owner's account-level public access block (s3_account) loaded with a bucket by MetadataStore.get_bucket and
list_buckets, on every database: present with or without the row lock, only for the owner's buckets, and a
locking read of a bucket locks the bucket's row alone (S3 Control's PutPublicAccessBlock does not wait on it,
while a write of the same bucket does)."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from ec2soap.s3 import account_store
from tests.unit.s3.conftest import ALICE, BOB

BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
         "RestrictPublicBuckets": True}


def test_buckets_carry_their_owners_account_block(any_ops: Any) -> None:
    ops = any_ops
    ops.create_bucket(ALICE, "alices")
    ops.create_bucket(BOB, "bobs")
    assert ops.store.run_sync(ops.meta.get_bucket, "alices").account_public_access_block is None
    ops.store.run_sync(account_store.set_block, ALICE, BLOCK)
    for lock in (False, True):
        assert ops.store.run_sync(ops.meta.get_bucket, "alices", lock).account_public_access_block == BLOCK
        assert ops.store.run_sync(ops.meta.get_bucket, "bobs", lock).account_public_access_block is None
    assert [b.account_public_access_block for b in ops.store.run_sync(ops.meta.list_buckets, ALICE)] == [BLOCK]
    assert ops.store.run_sync(ops.meta.get_bucket, "alices").public_access_block is None  # the bucket's own: apart
    ops.store.run_sync(account_store.delete_block, ALICE)
    assert ops.store.run_sync(ops.meta.get_bucket, "alices", True).account_public_access_block is None


def _finishes(fn: Callable[[], Any], seconds: float) -> tuple[threading.Thread, bool]:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread, not thread.is_alive()


def test_a_locked_bucket_read_does_not_lock_the_account_row(any_ops: Any) -> None:
    ops = any_ops
    ops.create_bucket(ALICE, "locked")
    if ops.store.is_sqlite:
        pytest.skip("SQLite runs one writer at a time: it has no row locks to look at")
    ops.store.run_sync(account_store.set_block, ALICE, BLOCK)
    with ops.store.engine.connect() as conn:
        with conn.begin():
            assert ops.meta.get_bucket(conn, "locked", lock=True).account_public_access_block == BLOCK
            _, done = _finishes(lambda: ops.store.run_sync(account_store.set_block, ALICE, {}), 10)
            assert done, "PutPublicAccessBlock waited on a locked bucket read"
            # The control: the bucket's own row is locked (a write of it waits until this transaction ends).
            bucket_id = ops.meta.get_bucket(conn, "locked").id
            writer, done = _finishes(lambda: ops.store.run_sync(ops.meta.update_bucket, bucket_id, policy="{}"), 1)
            assert not done, "the bucket's row was not locked"
        writer.join(10)
        assert not writer.is_alive()
    assert ops.store.run_sync(ops.meta.get_bucket, "locked").account_public_access_block == {}
