"""A completed multipart upload is remembered for a retried Complete (s3.multipart, s3_completed_upload) for
COMPLETED_KEPT_SECONDS, on every engine; a deleted bucket takes its records along; version-id markers that can
not be version ids are refused (s3.listing)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ec2soap.s3.errors import S3Error
from ec2soap.s3.multipart import COMPLETED_KEPT_SECONDS
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.store import Store
from ec2soap.store.tables import s3_completed_upload
from tests.unit.s3.conftest import ALICE, SMALL, upload_part


@pytest.fixture
def timed(any_store_url: str, tmp_path: Any) -> Any:
    store = Store(any_store_url, threads=2)
    store.migrate()
    now = [1_000_000.0]
    yield S3Operations(store, ObjectStore(tmp_path / "objects"), limits=SMALL, clock=lambda: now[0]), now
    store.close()


def _complete(ops: S3Operations, bucket: str, key: str) -> tuple[str, list]:
    uid = ops.create_multipart_upload(ALICE, bucket, key, {}).upload_id
    part = upload_part(ops, ALICE, bucket, key, uid, 1, b"p")
    parts = [(1, f'"{part.etag}"')]
    ops.complete_multipart_upload(ALICE, bucket, key, uid, parts)
    return uid, parts


def _records(ops: S3Operations) -> int:
    return ops.store.run_sync(lambda conn: conn.execute(select(func.count()).select_from(s3_completed_upload))
                              .scalar())


def test_records_age_out_and_go_with_the_bucket(timed: Any) -> None:
    ops, now = timed
    ops.create_bucket(ALICE, "bkt")
    first, parts = _complete(ops, "bkt", "k1")
    assert ops.complete_multipart_upload(ALICE, "bkt", "k1", first, parts).key == "k1"
    now[0] += COMPLETED_KEPT_SECONDS + 1
    _complete(ops, "bkt", "k2")  # drops the record older than the period
    assert _records(ops) == 1
    with pytest.raises(S3Error) as caught:
        ops.complete_multipart_upload(ALICE, "bkt", "k1", first, parts)
    assert caught.value.code == "NoSuchUpload"
    for key in ("k1", "k2"):
        ops.delete_object(ALICE, "bkt", key)
    ops.delete_bucket(ALICE, "bkt")
    assert _records(ops) == 0


def test_version_id_markers_that_cannot_be_version_ids(timed: Any) -> None:
    ops, _ = timed
    ops.create_bucket(ALICE, "vbk")
    for marker in ("nosuchid", "x" * 33, "a b" + "c" * 29):
        with pytest.raises(S3Error) as caught:
            ops.list_object_versions(ALICE, "vbk", key_marker="k", version_id_marker=marker)
        assert caught.value.code == "InvalidArgument" and caught.value.message == "Invalid version id specified"
    for marker in ("null", "A" * 32):
        assert ops.list_object_versions(ALICE, "vbk", key_marker="k", version_id_marker=marker).versions == []
