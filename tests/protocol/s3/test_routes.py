"""The route table through boto3 on the real server: sub-resources the gateway does not serve answer S3's
NotImplemented (501) on every method and target, and none is ever taken for a plain GET, PUT or DELETE of
the bucket or object it names (the object and bucket are unchanged afterwards)."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

_UNSERVED = [
    ("get_bucket_website", {}), ("delete_bucket_website", {}), ("get_bucket_encryption", {}),
    ("get_bucket_logging", {}), ("get_bucket_notification_configuration", {}), ("get_bucket_replication", {}),
    ("get_bucket_request_payment", {}),
]


@pytest.fixture
def bucket_with_object(boto3_s3):
    name = "routes-" + uuid.uuid4().hex[:12]
    boto3_s3.create_bucket(Bucket=name)
    boto3_s3.put_object(Bucket=name, Key="obj", Body=b"the original bytes")
    return name


@pytest.mark.parametrize("operation,params", _UNSERVED, ids=[op for op, _ in _UNSERVED])
def test_unserved_subresources_are_not_implemented(boto3_s3, bucket_with_object, operation, params) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(boto3_s3, operation)(Bucket=bucket_with_object, **params)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("NotImplemented", 501)
    # Nothing was done as a plain request: the object keeps its bytes, the bucket exists and keeps it.
    got = boto3_s3.get_object(Bucket=bucket_with_object, Key="obj")
    assert got["Body"].read() == b"the original bytes"
    listed = boto3_s3.list_objects_v2(Bucket=bucket_with_object)
    assert [item["Key"] for item in listed["Contents"]] == ["obj"]


def test_a_bucket_has_no_lifecycle_configuration(boto3_s3, bucket_with_object) -> None:
    with pytest.raises(ClientError) as caught:
        boto3_s3.get_bucket_lifecycle_configuration(Bucket=bucket_with_object)
    assert caught.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
