"""S3 fixtures: an ObjectStore in tmp_path and S3Operations over a migrated store (SQLite, or every engine)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pytest

from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.s3.rules import Limits
from ec2soap.store import Store

ALICE, BOB = "AKALICE", "AKBOB"
# Small parts keep multipart tests quick; one test uses S3's real 5 MiB minimum.
SMALL = Limits(min_part_size=1024)


@pytest.fixture
def objects(tmp_path: Any) -> ObjectStore:
    return ObjectStore(tmp_path / "objects")


@pytest.fixture
def ops(store: Store, objects: ObjectStore) -> S3Operations:
    return S3Operations(store, objects, limits=SMALL)


@pytest.fixture
def any_ops(any_store_url: str, tmp_path: Any) -> Any:
    store = Store(any_store_url, threads=4)
    store.migrate()
    yield S3Operations(store, ObjectStore(tmp_path / "shared-objects"), limits=SMALL)
    store.close()


def put(ops: S3Operations, caller: Optional[str], bucket: str, key: str, data: bytes,
        headers: Mapping[str, str] | None = None, chunk: int = 7) -> Any:
    """A PUT as the resource will drive it: receive, write in chunks, put_object."""
    headers = {"content-length": str(len(data)), **(headers or {})}
    body = ops.receive(headers)
    for i in range(0, len(data), chunk):
        body.write(data[i:i + chunk])
    return ops.put_object(caller, bucket, key, body, headers)


def read(result: Any) -> bytes:
    return b"".join(result.body)


def get(ops: S3Operations, caller: Optional[str], bucket: str, key: str, **kwargs: Any) -> bytes:
    return read(ops.get_object(caller, bucket, key, **kwargs))


def upload_part(ops: S3Operations, caller: str, bucket: str, key: str, upload_id: str, number: int,
                data: bytes) -> Any:
    headers = {"content-length": str(len(data))}
    body = ops.receive(headers, part=True)
    body.write(data)
    return ops.upload_part(caller, bucket, key, upload_id, number, body, headers)
