"""S3 Object Lock through real clients against the real server: boto3 (buckets created with Object Lock,
the configuration and its default retention, retention and legal hold per version, lock headers on PUT,
CopyObject and multipart uploads, what deletes are refused) and awscli s3api (put-object-lock-configuration,
put-object-retention, put-object-legal-hold and their get- calls); the x-amz-object-lock-* headers of GET/HEAD
shown only to callers allowed s3:GetObjectRetention / s3:GetObjectLegalHold (boto3, anonymous boto3, awscli
head-object and boto 2)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api


def _bucket() -> str:
    return "ol" + uuid.uuid4().hex[:12]


def _later(days: float) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def s3(gateway_server: GatewayServer, keys: Keys) -> Any:
    return boto3_client(gateway_server, keys)


def test_bucket_with_object_lock_and_its_default_retention(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == {"ObjectLockEnabled":
                                                                                           "Enabled"}
    failure = failure_of(lambda: s3.put_bucket_versioning(Bucket=bucket,
                                                      VersioningConfiguration={"Status": "Suspended"}))
    assert (failure.code, failure.status) == ("InvalidBucketState", 409)
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
                                                                             "Rule": rule})
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"] == rule
    failure = failure_of(lambda: s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {
            "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}))
    assert (failure.code, failure.status) == ("InvalidRetentionPeriod", 400)
    failure = failure_of(lambda: s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {
            "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}))
    assert (failure.code, failure.status) == ("MalformedXML", 400)
    # A new version takes the default; GET and HEAD show it.
    made = s3.put_object(Bucket=bucket, Key="k", Body=b"locked by default")
    retention = s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    assert timedelta(hours=23) < retention["RetainUntilDate"] - datetime.now(timezone.utc) < timedelta(hours=25)
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] == \
        retention["RetainUntilDate"]
    got = s3.get_object(Bucket=bucket, Key="k", VersionId=made["VersionId"])
    assert got["ObjectLockMode"] == "GOVERNANCE" and got["Body"].read() == b"locked by default"


def test_plain_bucket_has_no_object_lock(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    failure = failure_of(lambda: s3.get_object_lock_configuration(Bucket=bucket))
    assert (failure.code, failure.status) == ("ObjectLockConfigurationNotFoundError", 404)
    failure = failure_of(lambda: s3.put_object_lock_configuration(
        Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}))
    assert (failure.code, failure.status) == ("InvalidBucketState", 409)
    failure = failure_of(lambda: s3.put_object_retention(Bucket=bucket, Key="k", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": _later(1)}))
    assert (failure.code, failure.status) == ("InvalidRequest", 400)
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ObjectLockMode="GOVERNANCE",
                                           ObjectLockRetainUntilDate=_later(1)))
    assert (failure.code, failure.status) == ("InvalidRequest", 400)
    # The object was not written.
    assert failure_of(lambda: s3.head_object(Bucket=bucket, Key="k2")).status == 404


def test_retention_and_legal_hold_guard_versions(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    gov = s3.put_object(Bucket=bucket, Key="g", Body=b"g", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=_later(2))
    comp = s3.put_object(Bucket=bucket, Key="c", Body=b"c", ObjectLockMode="COMPLIANCE",
                         ObjectLockRetainUntilDate=_later(2))
    held = s3.put_object(Bucket=bucket, Key="h", Body=b"h", ObjectLockLegalHoldStatus="ON")
    assert s3.get_object_legal_hold(Bucket=bucket, Key="h")["LegalHold"]["Status"] == "ON"
    assert s3.head_object(Bucket=bucket, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    for key, made in (("g", gov), ("c", comp), ("h", held)):
        failure = failure_of(lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=made["VersionId"]))
        assert (failure.code, failure.status) == ("AccessDenied", 403)
    # A delete without a version id only adds a delete marker.
    marker = s3.delete_object(Bucket=bucket, Key="g")
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=bucket, Key="g", VersionId=gov["VersionId"])["Body"].read() == b"g"
    # DeleteObjects refuses per key; the bypass header frees GOVERNANCE only.
    answer = s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True, Delete={"Objects": [
        {"Key": "g", "VersionId": gov["VersionId"]}, {"Key": "c", "VersionId": comp["VersionId"]}]})
    assert [d["Key"] for d in answer.get("Deleted", [])] == ["g"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("c", "AccessDenied")]
    # COMPLIANCE cannot be shortened, even with the bypass; it can be extended.
    failure = failure_of(lambda: s3.put_object_retention(Bucket=bucket, Key="c", BypassGovernanceRetention=True,
                                                     Retention={"Mode": "COMPLIANCE",
                                                                "RetainUntilDate": _later(1)}))
    assert (failure.code, failure.status) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=bucket, Key="c", Retention={"Mode": "COMPLIANCE",
                                                               "RetainUntilDate": _later(3)})
    until = s3.get_object_retention(Bucket=bucket, Key="c")["Retention"]["RetainUntilDate"]
    assert abs((until - _later(3)).total_seconds()) < 60
    # The legal hold lifted, the version can go.
    s3.put_object_legal_hold(Bucket=bucket, Key="h", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=bucket, Key="h", VersionId=held["VersionId"])
    failure = failure_of(lambda: s3.delete_bucket(Bucket=bucket))
    assert (failure.code, failure.status) == ("BucketNotEmpty", 409)


def test_governance_retention_is_shortened_only_with_the_bypass(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    failure = failure_of(lambda: s3.get_object_retention(Bucket=bucket, Key="k"))
    assert (failure.code, failure.status) == ("NoSuchObjectLockConfiguration", 404)
    s3.put_object_retention(Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE",
                                                               "RetainUntilDate": _later(5)})
    failure = failure_of(lambda: s3.put_object_retention(Bucket=bucket, Key="k", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": _later(1)}))
    assert (failure.code, failure.status) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=bucket, Key="k", BypassGovernanceRetention=True,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _later(1)})
    until = s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]["RetainUntilDate"]
    assert abs((until - _later(1)).total_seconds()) < 60
    failure = failure_of(lambda: s3.put_object_retention(Bucket=bucket, Key="k", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": datetime(2001, 1, 1, tzinfo=timezone.utc)}))
    assert (failure.code, failure.status) == ("InvalidArgument", 400)


def test_copy_and_multipart_carry_lock_headers(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=_later(1),
                            ObjectLockLegalHoldStatus="ON")
    head = s3.head_object(Bucket=bucket, Key="dst", VersionId=copied["VersionId"])
    assert (head["ObjectLockMode"], head["ObjectLockLegalHoldStatus"]) == ("COMPLIANCE", "ON")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ObjectLockMode="GOVERNANCE",
                                        ObjectLockRetainUntilDate=_later(1))
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"m" * 64)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object_retention(Bucket=bucket, Key="mp")["Retention"]["Mode"] == "GOVERNANCE"
    failure = failure_of(lambda: s3.delete_object(Bucket=bucket, Key="mp", VersionId=done["VersionId"]))
    assert (failure.code, failure.status) == ("AccessDenied", 403)


def test_awscli_object_lock_calls(gateway_server: GatewayServer, keys: Keys, tmp_path: Path) -> None:
    bucket = _bucket()
    s3api(gateway_server, keys, "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
    config = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}}
    s3api(gateway_server, keys, "put-object-lock-configuration", "--bucket", bucket,
          "--object-lock-configuration", json.dumps(config))
    assert s3api(gateway_server, keys, "get-object-lock-configuration", "--bucket", bucket) == \
        {"ObjectLockConfiguration": config}
    body = tmp_path / "body"
    body.write_bytes(b"awscli")
    made = s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "k", "--body", str(body))
    retention = s3api(gateway_server, keys, "get-object-retention", "--bucket", bucket, "--key", "k")
    assert retention["Retention"]["Mode"] == "COMPLIANCE"
    until = _later(800).strftime("%Y-%m-%dT%H:%M:%SZ")
    s3api(gateway_server, keys, "put-object-retention", "--bucket", bucket, "--key", "k", "--retention",
          json.dumps({"Mode": "COMPLIANCE", "RetainUntilDate": until}))
    retention = s3api(gateway_server, keys, "get-object-retention", "--bucket", bucket, "--key", "k")
    assert retention["Retention"]["RetainUntilDate"].startswith(until[:19])
    s3api(gateway_server, keys, "put-object-legal-hold", "--bucket", bucket, "--key", "k", "--legal-hold",
          "Status=ON")
    assert s3api(gateway_server, keys, "get-object-legal-hold", "--bucket", bucket, "--key", "k") == \
        {"LegalHold": {"Status": "ON"}}
    failure = failure_of(lambda: s3api(gateway_server, keys, "delete-object", "--bucket", bucket, "--key", "k",
                                   "--version-id", made["VersionId"]))
    assert failure.code == "AccessDenied"
    failure = failure_of(lambda: s3api(gateway_server, keys, "put-object-retention", "--bucket", bucket, "--key", "k",
                                   "--retention", json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until})))
    assert failure.code == "AccessDenied"


_LOCK_FIELDS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")


def _lock_fields(answer: dict) -> dict:
    return {name: answer[name] for name in _LOCK_FIELDS if name in answer}


def _anonymous(gateway_server: GatewayServer) -> Any:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=gateway_server.url, region_name="us-east-1",
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1},
                                      s3={"addressing_style": "path"}))


def test_lock_headers_only_to_callers_who_may_read_them(gateway_server: GatewayServer, s3: Any,
                                                       new_user: Callable[[], Keys]) -> None:
    """GET and HEAD show the retention to a caller allowed s3:GetObjectRetention and the legal hold to one
    allowed s3:GetObjectLegalHold: the bucket owner implicitly, anyone else through the bucket policy."""
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="k", Body=b"locked", ObjectLockMode="GOVERNANCE",
                  ObjectLockRetainUntilDate=_later(2), ObjectLockLegalHoldStatus="ON")
    full = _lock_fields(s3.head_object(Bucket=bucket, Key="k"))
    assert set(full) == set(_LOCK_FIELDS) and full["ObjectLockMode"] == "GOVERNANCE"
    assert full["ObjectLockLegalHoldStatus"] == "ON"
    assert abs((full["ObjectLockRetainUntilDate"] - _later(2)).total_seconds()) < 60
    assert _lock_fields(s3.get_object(Bucket=bucket, Key="k")) == full
    other_keys = new_user()
    other = boto3_client(gateway_server, other_keys)
    other_id = other.list_buckets()["Owner"]["ID"]
    anonymous = _anonymous(gateway_server)
    # Nothing granted: the object is not theirs to read at all.
    assert failure_of(lambda: other.head_object(Bucket=bucket, Key="k")).status == 403
    resource = f"arn:aws:s3:::{bucket}/*"

    def allow(*statements: tuple[Any, list[str]], deny: list[str] | None = None) -> None:
        doc = [{"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource}
               for principal, actions in statements]
        if deny:
            doc.append({"Effect": "Deny", "Principal": "*", "Action": deny, "Resource": resource})
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": doc}))

    def cli_head() -> dict:
        return _lock_fields(s3api(gateway_server, other_keys, "head-object", "--bucket", bucket, "--key", "k"))

    # s3:GetObject alone: the object, without its lock.
    allow(("*", ["s3:GetObject"]))
    for reader in (other, anonymous):
        got = reader.get_object(Bucket=bucket, Key="k")
        assert got["Body"].read() == b"locked" and _lock_fields(got) == {}
        assert _lock_fields(reader.head_object(Bucket=bucket, Key="k")) == {}
    assert cli_head() == {}
    assert failure_of(lambda: other.get_object_retention(Bucket=bucket, Key="k")).code == "AccessDenied"
    # The other user may read the retention: mode and date appear for them (and only them), not the hold.
    allow(("*", ["s3:GetObject"]), ({"CanonicalUser": other_id}, ["s3:GetObjectRetention"]))
    assert other.get_object_retention(Bucket=bucket, Key="k")["Retention"]["Mode"] == "GOVERNANCE"
    assert failure_of(lambda: other.get_object_legal_hold(Bucket=bucket, Key="k")).code == "AccessDenied"
    retention = {name: full[name] for name in ("ObjectLockMode", "ObjectLockRetainUntilDate")}
    assert _lock_fields(other.head_object(Bucket=bucket, Key="k")) == retention
    assert _lock_fields(other.get_object(Bucket=bucket, Key="k")) == retention
    assert _lock_fields(anonymous.head_object(Bucket=bucket, Key="k")) == {}
    shown = cli_head()
    assert set(shown) == {"ObjectLockMode", "ObjectLockRetainUntilDate"} and shown["ObjectLockMode"] == "GOVERNANCE"
    assert shown["ObjectLockRetainUntilDate"].startswith(full["ObjectLockRetainUntilDate"].strftime("%Y-%m-%dT%H:%M"))
    # Both granted to everyone: everyone sees all three.
    allow(("*", ["s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold"]))
    for reader in (other, anonymous):
        assert _lock_fields(reader.head_object(Bucket=bucket, Key="k")) == full
        assert _lock_fields(reader.get_object(Bucket=bucket, Key="k")) == full
    assert cli_head()["ObjectLockLegalHoldStatus"] == "ON"
    # An explicit Deny hides the legal hold from the bucket owner too, as it refuses GetObjectLegalHold.
    allow(("*", ["s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold"]), deny=["s3:GetObjectLegalHold"])
    assert failure_of(lambda: s3.get_object_legal_hold(Bucket=bucket, Key="k")).code == "AccessDenied"
    assert _lock_fields(s3.head_object(Bucket=bucket, Key="k")) == retention
    assert _lock_fields(other.head_object(Bucket=bucket, Key="k")) == retention


def test_lock_headers_through_boto2_for_a_reader_allowed_by_policy(gateway_server: GatewayServer, s3: Any,
                                                                   new_user: Callable[[], Keys]) -> None:
    """boto 2 (SigV2): a reader allowed s3:GetObject alone gets no x-amz-object-lock-* headers; once the
    policy grants the two Get calls, it does."""
    from tests.protocol.s3.conftest import boto2_connection
    pytest.importorskip("boto", reason="boto 2 is not installed")
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    until = _later(1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"held", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                  ObjectLockLegalHoldStatus="ON")
    reader = boto2_connection(gateway_server, new_user())
    lock_names = ("x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold")

    def lock_headers() -> dict:
        # boto 2 keeps no attribute for these headers: they are read from the GET's response it hands back.
        key = reader.get_bucket(bucket, validate=False).get_key("k")
        assert key is not None
        key.open_read()
        try:
            shown = {name: key.resp.getheader(name) for name in lock_names if key.resp.getheader(name) is not None}
            assert key.read() == b"held"
        finally:
            key.close()
        return shown

    def policy(actions: list[str]) -> None:
        # boto 2 GETs the version its HEAD saw (versionId=...): s3:GetObjectVersion, as S3 wants.
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObjectVersion", *actions],
            "Resource": f"arn:aws:s3:::{bucket}/k"}]}))

    policy(["s3:GetObject"])
    assert lock_headers() == {}
    policy(["s3:GetObject", "s3:GetObjectLegalHold"])
    assert lock_headers() == {"x-amz-object-lock-legal-hold": "ON"}
    policy(["s3:GetObject", "s3:GetObjectLegalHold", "s3:GetObjectRetention"])
    shown = lock_headers()
    assert shown["x-amz-object-lock-mode"] == "COMPLIANCE" and shown["x-amz-object-lock-legal-hold"] == "ON"
    assert shown["x-amz-object-lock-retain-until-date"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))
