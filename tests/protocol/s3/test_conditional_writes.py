"""Conditional writes through real clients: If-None-Match: * and If-Match on PutObject and
CompleteMultipartUpload (boto3), put-object --if-none-match / --if-match (awscli s3api), and concurrent
creators of one key through boto3 (exactly one wins). Every engine's atomicity is tests/unit/s3/
test_conditional_writes.py's."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client, failure_of, translate
from tests.protocol.s3.s3api_cli import s3api
from tests.racing import race


def _bucket() -> str:
    return "cw" + uuid.uuid4().hex[:12]


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


def test_boto3_put_if_none_match_and_if_match(gateway_server: GatewayServer, keys: Keys) -> None:
    s3 = boto3_client(gateway_server, keys)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*"))
    assert (failure.code, failure.status) == ("PreconditionFailed", 412)
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfMatch='"0000"'))
    assert (failure.code, failure.status) == ("PreconditionFailed", 412)
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch=first["ETag"]))
    assert (failure.code, failure.status) == ("NoSuchKey", 404)
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=first["ETag"]))
    assert (failure.code, failure.status) == ("NotImplemented", 501)
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"
    assert second["ETag"] != first["ETag"]


def test_boto3_complete_multipart_upload_conditions(gateway_server: GatewayServer, keys: Keys) -> None:
    s3 = boto3_client(gateway_server, keys)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"p" * 100)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    failure = failure_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                                          MultipartUpload=parts, IfMatch='"abc"'))
    assert (failure.code, failure.status) == ("NoSuchKey", 404)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload=parts, IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"p" * 100
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"q" * 100)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    failure = failure_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                                          MultipartUpload=parts, IfNoneMatch="*"))
    assert (failure.code, failure.status) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"p" * 100
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [uid]


def test_boto3_concurrent_creators_one_winner(gateway_server: GatewayServer, keys: Keys) -> None:
    bucket = _bucket()
    clients = [boto3_client(gateway_server, keys) for _ in range(6)]
    clients[0].create_bucket(Bucket=bucket)

    def put(client: Any) -> Any:
        client.put_object(Bucket=bucket, Key="contested", Body=b"writer %d" % clients.index(client),
                          IfNoneMatch="*")
        return "ok"
    outcomes = [o if o == "ok" else translate(o) for o in race([lambda c=c: put(c) for c in clients])]
    winners = [i for i, outcome in enumerate(outcomes) if outcome == "ok"]
    assert len(winners) == 1, outcomes
    assert {(o.code, o.status) for o in outcomes if o != "ok"} <= {("PreconditionFailed", 412),
                                                                  ("ConditionalRequestConflict", 409)}
    body = clients[0].get_object(Bucket=bucket, Key="contested")["Body"].read()
    assert body == b"writer %d" % winners[0]


def test_awscli_put_object_if_none_match_and_if_match(gateway_server: GatewayServer, keys: Keys,
                                                      tmp_path: Path) -> None:
    bucket = _bucket()
    s3api(gateway_server, keys, "create-bucket", "--bucket", bucket)
    body = tmp_path / "body"
    body.write_bytes(b"from awscli")
    made = s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "k", "--body", str(body),
                 "--if-none-match", "*")
    failure = failure_of(lambda: s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "k",
                                   "--body", str(body), "--if-none-match", "*"))
    assert failure.code == "PreconditionFailed"
    failure = failure_of(lambda: s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "k",
                                   "--body", str(body), "--if-match", '"ffff"'))
    assert failure.code == "PreconditionFailed"
    body.write_bytes(b"swapped")
    s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "k", "--body", str(body),
          "--if-match", made["ETag"])
    head = s3api(gateway_server, keys, "head-object", "--bucket", bucket, "--key", "k")
    assert head["ContentLength"] == len(b"swapped") and head["ETag"] != made["ETag"]
