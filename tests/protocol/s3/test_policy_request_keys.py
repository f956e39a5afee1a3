"""Bucket-policy condition keys a request's own headers and query give (S3's s3:x-amz-copy-source,
s3:x-amz-metadata-directive, s3:x-amz-acl, s3:x-amz-grant-*, s3:signatureversion, s3:authType, ...), judged
on CopyObject, UploadPartCopy, PutObject (streamed) and PutObjectAcl; and the principals S3 accepts beside AWS
and CanonicalUser ({"Service": ...}, {"Federated": ...}), stored and returned, never matching a caller of this
gateway. Through boto3, awscli's `s3api` and boto 2, against the real server."""
from __future__ import annotations

import json
import uuid
import warnings
from typing import Any, Callable

import pytest
import requests
from botocore.exceptions import ClientError

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client
from tests.protocol.s3.s3api_cli import s3api


class Account:
    def __init__(self, server: GatewayServer, keys: Keys):
        self.server, self.keys = server, keys
        self.s3 = boto3_client(server, keys)
        self.id = self.s3.list_buckets()["Owner"]["ID"]

    def bucket(self, policy: list[dict] | None = None, **kwargs: Any) -> str:
        name = "keys-" + uuid.uuid4().hex[:12]
        self.s3.create_bucket(Bucket=name, **kwargs)
        if policy is not None:
            self.s3.put_bucket_policy(Bucket=name, Policy=document(policy))
        return name

    def cli(self, *args: str) -> Any:
        return s3api(self.server, self.keys, *args)


def document(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def allow(action: str, resource: str, condition: dict | None = None, effect: str = "Allow",
          principal: Any = "*") -> dict:
    statement = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


@pytest.fixture
def owner(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Account:
    return Account(gateway_server, new_user())


@pytest.fixture
def other(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Account:
    return Account(gateway_server, new_user())


def code_of(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def _source(owner: Account) -> str:
    """A bucket of owner's with public/foo, public/bar and private/foo, readable by anyone through its policy."""
    src = owner.bucket()
    for key in ("public/foo", "public/bar", "private/foo"):
        owner.s3.put_object(Bucket=src, Key=key, Body=key.encode())
    owner.s3.put_bucket_policy(Bucket=src, Policy=document([allow("s3:GetObject", f"arn:aws:s3:::{src}/*")]))
    return src


def test_copy_source_condition_on_copy_object(owner: Account, other: Account) -> None:
    src = _source(owner)
    dst = owner.bucket()
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([allow(
        "s3:PutObject", f"arn:aws:s3:::{dst}/*", {"StringLike": {"s3:x-amz-copy-source": f"{src}/public/*"}})]))
    other.s3.copy_object(Bucket=dst, Key="n1", CopySource={"Bucket": src, "Key": "public/foo"})
    assert other.s3.get_object(Bucket=dst, Key="n1")["Body"].read() == b"public/foo"  # other owns its copy
    assert code_of(lambda: other.s3.copy_object(Bucket=dst, Key="n2",
                                                CopySource={"Bucket": src, "Key": "private/foo"})) == "AccessDenied"
    # awscli sends the source as given; a leading slash and a versionId are not part of the key's value
    other.cli("copy-object", "--bucket", dst, "--key", "n3", "--copy-source", f"/{src}/public/bar")
    assert other.s3.get_object(Bucket=dst, Key="n3")["Body"].read() == b"public/bar"
    with pytest.raises(ClientFailure) as caught:
        other.cli("copy-object", "--bucket", dst, "--key", "n4", "--copy-source", f"{src}/private/foo")
    assert caught.value.code == "AccessDenied"
    # a plain PutObject carries no copy source: the Allow's condition fails, and no ACL lets `other` write
    assert code_of(lambda: other.s3.put_object(Bucket=dst, Key="n5", Body=b"x")) == "AccessDenied"
    keys = sorted(o["Key"] for o in owner.s3.list_objects_v2(Bucket=dst).get("Contents", []))
    assert keys == ["n1", "n3"]


def test_copy_source_condition_on_upload_part_copy(owner: Account, other: Account) -> None:
    src = _source(owner)
    arn = "arn:aws:s3:::{}/*"
    dst = owner.bucket()
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([
        allow("s3:PutObject", arn.format(dst)),
        allow("s3:PutObject", arn.format(dst), {"Null": {"s3:x-amz-copy-source": "false"},
                                                "StringNotLike": {"s3:x-amz-copy-source": f"{src}/public/*"}},
              effect="Deny")]))
    # the owner's upload, parts copied into it by `other` (the upload's initiator is not asked: s3.multipart)
    upload = owner.s3.create_multipart_upload(Bucket=dst, Key="mp")["UploadId"]
    part = other.s3.upload_part_copy(Bucket=dst, Key="mp", UploadId=upload, PartNumber=1,
                                     CopySource={"Bucket": src, "Key": "public/foo"})
    assert code_of(lambda: other.s3.upload_part_copy(Bucket=dst, Key="mp", UploadId=upload, PartNumber=2,
                                                     CopySource={"Bucket": src, "Key": "private/foo"})) \
        == "AccessDenied"
    owner.s3.complete_multipart_upload(Bucket=dst, Key="mp", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert owner.s3.get_object(Bucket=dst, Key="mp")["Body"].read() == b"public/foo"
    assert code_of(lambda: other.s3.copy_object(Bucket=dst, Key="c", CopySource={"Bucket": src,
                                                                                   "Key": "private/foo"})) \
        == "AccessDenied"
    other.s3.put_object(Bucket=dst, Key="plain", Body=b"x")  # no copy source: the Deny's Null fails


def test_metadata_directive_condition(owner: Account, other: Account) -> None:
    src = _source(owner)
    dst = owner.bucket()
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([allow(
        "s3:PutObject", f"arn:aws:s3:::{dst}/*", {"StringEquals": {"s3:x-amz-metadata-directive": "COPY"}})]))
    other.s3.copy_object(Bucket=dst, Key="m1", CopySource={"Bucket": src, "Key": "public/foo"},
                         MetadataDirective="COPY")
    # without the header the key is absent (S3's default COPY is not the header): StringEquals fails
    assert code_of(lambda: other.s3.copy_object(Bucket=dst, Key="m2", CopySource={"Bucket": src,
                                                                                    "Key": "public/bar"})) \
        == "AccessDenied"
    with pytest.raises(ClientFailure) as caught:
        other.cli("copy-object", "--bucket", dst, "--key", "m3", "--copy-source", f"{src}/public/bar",
                  "--metadata-directive", "REPLACE", "--metadata", "a=b")
    assert caught.value.code == "AccessDenied"
    other.cli("copy-object", "--bucket", dst, "--key", "m4", "--copy-source", f"{src}/public/bar",
              "--metadata-directive", "COPY")
    assert other.s3.head_object(Bucket=dst, Key="m4")["ContentLength"] == len(b"public/bar")


def test_canned_acl_condition_denies_public_writes(owner: Account, other: Account) -> None:
    arn = "arn:aws:s3:::{}/*"
    dst = owner.bucket()
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([
        allow("s3:PutObject", arn.format(dst)),
        allow("s3:PutObject", arn.format(dst), {"StringLike": {"s3:x-amz-acl": "public*"}}, effect="Deny")]))
    other.s3.put_object(Bucket=dst, Key="private-key", Body=b"a")
    other.s3.put_object(Bucket=dst, Key="private-acl", Body=b"a", ACL="private")
    assert code_of(lambda: other.s3.put_object(Bucket=dst, Key="public-key", Body=b"b",
                                               ACL="public-read")) == "AccessDenied"
    with pytest.raises(ClientFailure) as caught:
        other.cli("put-object", "--bucket", dst, "--key", "cli-public", "--acl", "public-read-write")
    assert caught.value.code == "AccessDenied"
    assert code_of(lambda: other.s3.create_multipart_upload(Bucket=dst, Key="mp", ACL="public-read")) \
        == "AccessDenied"
    keys = sorted(o["Key"] for o in owner.s3.list_objects_v2(Bucket=dst).get("Contents", []))
    assert keys == ["private-acl", "private-key"]


def test_grant_condition_on_put_object_acl_and_create_multipart(owner: Account, other: Account) -> None:
    dst = owner.bucket()
    grant = f"id={owner.id}"
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([
        allow("s3:PutObject", f"arn:aws:s3:::{dst}/*", {"StringEquals": {"s3:x-amz-grant-full-control": grant}}),
        allow("s3:PutObjectAcl", f"arn:aws:s3:::{dst}/*", {"StringEquals": {"s3:x-amz-grant-read": grant}})]))
    assert code_of(lambda: other.s3.create_multipart_upload(Bucket=dst, Key="mp")) == "AccessDenied"
    upload = other.s3.create_multipart_upload(Bucket=dst, Key="mp", GrantFullControl=grant)["UploadId"]
    other.s3.abort_multipart_upload(Bucket=dst, Key="mp", UploadId=upload)
    owner.s3.put_object(Bucket=dst, Key="mine", Body=b"x")
    assert code_of(lambda: other.s3.put_object_acl(Bucket=dst, Key="mine", GrantRead=f"id={other.id}")) \
        == "AccessDenied"
    other.s3.put_object_acl(Bucket=dst, Key="mine", GrantRead=grant)
    grants = owner.s3.get_object_acl(Bucket=dst, Key="mine")["Grants"]
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in grants] == [(owner.id, "READ")]


def test_grant_condition_on_streamed_put_object(owner: Account, other: Account) -> None:
    dst = owner.bucket()
    grant = f"id={owner.id}"
    owner.s3.put_bucket_policy(Bucket=dst, Policy=document([allow(
        "s3:PutObject", f"arn:aws:s3:::{dst}/*", {"StringEquals": {"s3:x-amz-grant-full-control": grant}})]))
    assert code_of(lambda: other.s3.put_object(Bucket=dst, Key="k0", Body=b"x")) == "AccessDenied"
    other.s3.put_object(Bucket=dst, Key="k1", Body=b"k1", GrantFullControl=grant)
    acl = owner.s3.get_object_acl(Bucket=dst, Key="k1")
    assert (owner.id, "FULL_CONTROL") in [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]]


@pytest.mark.parametrize("size", [1, 3 * 1024 * 1024], ids=["small", "3MiB"])
def test_source_ip_allow_on_streamed_put_object(owner: Account, other: Account, size: int) -> None:
    """The check made from the headers, before a streamed body is read, sees the same aws:* keys as the one
    after it: an Allow on the client's address lets the upload in, one on another network keeps it out."""
    here, elsewhere = owner.bucket(), owner.bucket()
    for bucket, network in ((here, "127.0.0.0/8"), (elsewhere, "10.0.0.0/8")):
        owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([allow(
            "s3:PutObject", f"arn:aws:s3:::{bucket}/*", {"IpAddress": {"aws:SourceIp": network}})]))
    body = b"i" * size
    other.s3.put_object(Bucket=here, Key="in", Body=body)
    assert other.s3.get_object(Bucket=here, Key="in")["Body"].read() == body  # the writer owns it
    assert code_of(lambda: other.s3.put_object(Bucket=elsewhere, Key="out", Body=body)) == "AccessDenied"
    assert owner.s3.list_objects_v2(Bucket=elsewhere)["KeyCount"] == 0


def test_signature_version_and_auth_type(gateway_server: GatewayServer, owner: Account) -> None:
    bucket = owner.bucket()
    owner.s3.put_object(Bucket=bucket, Key="k", Body=b"v4 only")
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*",
              {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}}, effect="Deny",
              principal={"CanonicalUser": owner.id}),
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}},
              effect="Deny", principal={"CanonicalUser": owner.id})]))
    assert owner.s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v4 only"  # SigV4 header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conn = boto2_connection(gateway_server, owner.keys, path="/")  # boto 2 signs with SigV2 headers
        from boto.exception import S3ResponseError
        with pytest.raises(S3ResponseError) as caught:
            conn.get_bucket(bucket, validate=False).get_key("k", validate=True)
        assert caught.value.status == 403
    url = owner.s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert requests.get(url).status_code == 403  # SigV4, but in the query
    assert owner.cli("get-object-tagging", "--bucket", bucket, "--key", "k")["TagSet"] == []  # other actions


def test_service_and_federated_principals_are_kept_and_match_no_caller(gateway_server: GatewayServer,
                                                                       owner: Account, other: Account) -> None:
    bucket = owner.bucket()
    owner.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    statements = [
        allow("s3:PutObject", f"arn:aws:s3:::{bucket}/log/*", principal={"Service": "logging.s3.amazonaws.com"},
              condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::src-*"},
                         "StringEquals": {"aws:SourceAccount": owner.keys.account}}),  # S3's logging policy
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*",
              principal={"Federated": "cognito-identity.amazonaws.com"}),
        allow("s3:ListBucket", f"arn:aws:s3:::{bucket}", principal={"CanonicalUser": other.id})]
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document(statements))
    stored = json.loads(owner.cli("get-bucket-policy", "--bucket", bucket)["Policy"])
    assert [s["Principal"] for s in stored["Statement"]] == [s["Principal"] for s in statements]
    assert owner.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    # even a Service principal "*" names no caller of ours, so it is not public either (nor refused by
    # BlockPublicPolicy); an AWS "*" beside it is
    statements.append(allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", principal={"Service": ["*"]}))
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document(statements))
    assert owner.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    public = allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", principal={"Service": "*", "AWS": "*"})
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([public]))
    assert owner.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document(statements))
    assert code_of(lambda: other.s3.put_object(Bucket=bucket, Key="log/a", Body=b"x")) == "AccessDenied"
    assert code_of(lambda: other.s3.get_object(Bucket=bucket, Key="k")) == "AccessDenied"
    assert requests.get(f"{gateway_server.url}/{bucket}/k").status_code == 403  # anonymous
    assert [o["Key"] for o in other.s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]  # CanonicalUser
    for bad in ({"Robot": "x"}, {"Service": ""}, {"Service": [1]}):
        assert code_of(lambda: owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([
            allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*", principal=bad)]))) == "MalformedPolicy"


def test_a_deny_holds_for_the_parts_of_an_upload_the_caller_began(owner: Account, other: Account) -> None:
    """The initiator acts on its own upload without a grant, but an explicit Deny added since still stops its
    UploadPart and CompleteMultipartUpload (each is s3:PutObject); AbortMultipartUpload, not denied, works."""
    bucket = owner.bucket()
    allowed = allow("s3:PutObject", f"arn:aws:s3:::{bucket}/*", principal={"CanonicalUser": other.id})
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([allowed]))
    upload = other.s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    first = other.s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"one")
    done = other.s3.create_multipart_upload(Bucket=bucket, Key="done")["UploadId"]
    only = other.s3.upload_part(Bucket=bucket, Key="done", UploadId=done, PartNumber=1, Body=b"all of it")
    finished = {"Parts": [{"PartNumber": 1, "ETag": only["ETag"]}]}
    other.s3.complete_multipart_upload(Bucket=bucket, Key="done", UploadId=done, MultipartUpload=finished)
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=document([allowed, allow(
        "s3:PutObject", f"arn:aws:s3:::{bucket}/*", effect="Deny", principal={"CanonicalUser": other.id})]))
    assert code_of(lambda: other.s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2,
                                                Body=b"two")) == "AccessDenied"
    assert code_of(lambda: other.s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first["ETag"]}]})) == "AccessDenied"
    assert code_of(lambda: other.s3.complete_multipart_upload(  # a retry of the finished one, too
        Bucket=bucket, Key="done", UploadId=done, MultipartUpload=finished)) == "AccessDenied"
    assert [p["PartNumber"] for p in other.s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]] == [1]
    other.s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
    assert owner.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
