"""S3 server-side encryption, which this gateway does not offer, is refused on every call (NotImplemented,
naming the header) rather than dropped: SSE-S3 and SSE-KMS on PutObject, CopyObject and CreateMultipartUpload,
SSE-C on PutObject, GetObject and a copy source; nothing is written by a refused call. boto3 for each,
awscli s3api as the second client."""
from __future__ import annotations

import base64
import os
import uuid
from typing import Any, Callable

import pytest

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api


@pytest.fixture
def owner(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> tuple[Keys, Any, str]:
    keys = new_user()
    s3 = boto3_client(gateway_server, keys)
    bucket = "sse" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain bytes")
    return keys, s3, bucket


def _refused(failure: ClientFailure) -> None:
    assert (failure.code, failure.status) == ("NotImplemented", 501), failure
    assert "encryption" in failure.message.lower(), failure


def _keys_in(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize("sse", [{"ServerSideEncryption": "AES256"},
                                 {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/anything"}])
def test_sse_s3_and_kms_are_refused_on_every_write(owner: tuple[Keys, Any, str], sse: dict) -> None:
    _, s3, bucket = owner
    _refused(failure_of(lambda: s3.put_object(Bucket=bucket, Key="put", Body=b"x" * 1000, **sse)))
    _refused(failure_of(lambda: s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"},
                                           **sse)))
    _refused(failure_of(lambda: s3.create_multipart_upload(Bucket=bucket, Key="mpu", **sse)))
    assert _keys_in(s3, bucket) == ["plain"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # on a read S3 itself refuses them (they belong to writes): 400 InvalidArgument
    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-amz-server-side-encryption"] = sse["ServerSideEncryption"]
    s3.meta.events.register("before-sign.s3.GetObject", add_header)
    read = failure_of(lambda: s3.get_object(Bucket=bucket, Key="plain"))
    s3.meta.events.unregister("before-sign.s3.GetObject", add_header)
    assert (read.code, read.status) == ("InvalidArgument", 400), read
    assert "not supported for this operation" in read.message, read
    # a plain write still works, and says nothing of encryption
    answer = s3.put_object(Bucket=bucket, Key="after", Body=b"y")
    assert "ServerSideEncryption" not in answer


def test_sse_c_is_refused_on_writes_reads_and_copy_sources(owner: tuple[Keys, Any, str]) -> None:
    _, s3, bucket = owner
    key = base64.b64encode(os.urandom(32)).decode()  # botocore base64s and MD5s it itself when given raw bytes
    customer = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64decode(key)}
    _refused(failure_of(lambda: s3.put_object(Bucket=bucket, Key="sse-c", Body=b"secret", **customer)))
    _refused(failure_of(lambda: s3.get_object(Bucket=bucket, Key="plain", **customer)))
    _refused(failure_of(lambda: s3.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "plain"},
        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=base64.b64decode(key))))
    assert _keys_in(s3, bucket) == ["plain"]
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain bytes"


def test_awscli_sse_is_refused(gateway_server: GatewayServer, owner: tuple[Keys, Any, str], tmp_path: Any) -> None:
    keys, s3, bucket = owner
    body = tmp_path / "body.txt"
    body.write_bytes(b"from awscli")
    failure = failure_of(lambda: s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "cli",
                                   "--body", str(body), "--server-side-encryption", "AES256"))
    # awscli prints the code and message, not the status
    assert failure.code == "NotImplemented" and "Server-side encryption is not implemented" in failure.message, \
        failure
    assert _keys_in(s3, bucket) == ["plain"]
    s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "cli", "--body", str(body))
    assert sorted(_keys_in(s3, bucket)) == ["cli", "plain"]
