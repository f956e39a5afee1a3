"""S3 public access block, bucket policy status and object ownership controls against the real server, through
boto3 and awscli's `s3api` (run in-process through its own driver): stored, read back, and enforced on ACLs,
policies, anonymous reads and the owner of objects others write."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest
import requests
from botocore.exceptions import ClientError

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client
from tests.protocol.s3.s3api_cli import s3api

ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}


def code_of(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


class Owner:
    def __init__(self, server: GatewayServer, keys: Keys):
        self.server, self.keys = server, keys
        self.s3 = boto3_client(server, keys)
        self.id = self.s3.list_buckets()["Owner"]["ID"]
        self.bucket = "acc-" + uuid.uuid4().hex[:12]

    def make(self, **kwargs: Any) -> str:
        self.s3.create_bucket(Bucket=self.bucket, **kwargs)
        return self.bucket

    def cli(self, *args: str) -> Any:
        return s3api(self.server, self.keys, *args)


@pytest.fixture
def owner(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Owner:
    return Owner(gateway_server, new_user())


@pytest.fixture
def other(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Owner:
    return Owner(gateway_server, new_user())


def public_read_policy(bucket: str, condition: dict | None = None) -> str:
    statement: dict = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_public_access_block_stored_through_both_clients(owner: Owner) -> None:
    bucket = owner.make()
    assert code_of(lambda: owner.s3.get_public_access_block(Bucket=bucket)) == "NoSuchPublicAccessBlockConfiguration"
    owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    got = owner.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
                   "RestrictPublicBuckets": False}
    owner.cli("put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
              "BlockPublicAcls=false,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=false")
    assert owner.cli("get-public-access-block", "--bucket", bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    owner.cli("delete-public-access-block", "--bucket", bucket)
    with pytest.raises(ClientFailure) as caught:
        owner.cli("get-public-access-block", "--bucket", bucket)
    assert caught.value.code == "NoSuchPublicAccessBlockConfiguration"


def test_only_the_owner_reads_or_sets_them(owner: Owner, other: Owner) -> None:
    bucket = owner.make()
    owner.s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    for call in (lambda: other.s3.get_public_access_block(Bucket=bucket),
                 lambda: other.s3.put_public_access_block(Bucket=bucket,
                                                          PublicAccessBlockConfiguration=ALL_BLOCKED),
                 lambda: other.s3.get_bucket_ownership_controls(Bucket=bucket),
                 lambda: other.s3.put_bucket_ownership_controls(
                     Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})):
        assert code_of(call) == "AccessDenied"


def test_block_public_acls_refuses_public_grants(owner: Owner) -> None:
    bucket = owner.make()
    owner.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert code_of(lambda: owner.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")) == "AccessDenied"
    assert code_of(lambda: owner.s3.put_bucket_acl(
        Bucket=bucket, GrantRead='uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"')) == "AccessDenied"
    assert code_of(lambda: owner.s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")) == "AccessDenied"
    assert code_of(lambda: owner.s3.put_object(Bucket=bucket, Key="new", Body=b"x", ACL="public-read")) == \
        "AccessDenied"
    assert code_of(lambda: owner.s3.create_multipart_upload(Bucket=bucket, Key="mp", ACL="public-read-write")) == \
        "AccessDenied"
    assert [o["Key"] for o in owner.s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    owner.s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    owner.s3.put_bucket_acl(Bucket=bucket, ACL="private")
    grants = owner.s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Grantee"].get("URI") for g in grants] == [None]


def test_ignore_public_acls_hides_public_grants(owner: Owner) -> None:
    bucket = owner.make()
    owner.s3.put_object(Bucket=bucket, Key="open", Body=b"public bytes", ACL="public-read")
    url = f"{owner.server.url}/{bucket}/open"
    assert requests.get(url).content == b"public bytes"
    owner.cli("put-public-access-block", "--bucket", bucket, "--public-access-block-configuration",
              "IgnorePublicAcls=true")
    assert requests.get(url).status_code == 403
    assert owner.s3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"public bytes"
    owner.s3.put_object_acl(Bucket=bucket, Key="open", ACL="public-read")  # stored, still ignored
    assert requests.get(url).status_code == 403
    owner.s3.delete_public_access_block(Bucket=bucket)
    assert requests.get(url).content == b"public bytes"


def test_block_public_policy_and_policy_status(owner: Owner) -> None:
    bucket = owner.make()
    assert code_of(lambda: owner.s3.get_bucket_policy_status(Bucket=bucket)) == "NoSuchBucketPolicy"
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert owner.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"] == {"IsPublic": True}
    restricted = public_read_policy(bucket, {"IpAddress": {"aws:SourceIp": "10.1.2.0/24"}})
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=restricted)
    assert owner.cli("get-bucket-policy-status", "--bucket", bucket) == {"PolicyStatus": {"IsPublic": False}}
    owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert code_of(lambda: owner.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))) == \
        "AccessDenied"
    wide = public_read_policy(bucket, {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})
    assert code_of(lambda: owner.s3.put_bucket_policy(Bucket=bucket, Policy=wide)) == "AccessDenied"
    assert json.loads(owner.s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(restricted)


def test_restrict_public_buckets_limits_a_public_policy_to_the_owner(owner: Owner, other: Owner) -> None:
    bucket = owner.make()
    owner.s3.put_object(Bucket=bucket, Key="doc", Body=b"via policy")
    owner.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    url = f"{owner.server.url}/{bucket}/doc"
    assert requests.get(url).content == b"via policy"
    assert other.s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"via policy"
    owner.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert requests.get(url).status_code == 403
    assert code_of(lambda: other.s3.get_object(Bucket=bucket, Key="doc")) == "AccessDenied"
    assert owner.s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"via policy"


def _let_write(owner: Owner, other: Owner) -> None:
    owner.s3.put_bucket_policy(Bucket=owner.bucket, Policy=json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"CanonicalUser": other.id}, "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{owner.bucket}/*"}]}))


def test_ownership_controls_through_both_clients(owner: Owner) -> None:
    bucket = owner.make()
    assert code_of(lambda: owner.s3.get_bucket_ownership_controls(Bucket=bucket)) == "OwnershipControlsNotFoundError"
    owner.s3.put_bucket_ownership_controls(Bucket=bucket,
                                           OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    assert owner.cli("get-bucket-ownership-controls", "--bucket", bucket)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    owner.cli("put-bucket-ownership-controls", "--bucket", bucket, "--ownership-controls",
              "Rules=[{ObjectOwnership=ObjectWriter}]")
    got = owner.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert got == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    with pytest.raises(ClientFailure) as caught:
        owner.cli("put-bucket-ownership-controls", "--bucket", bucket, "--ownership-controls",
                  "Rules=[{ObjectOwnership=Nobody}]")
    assert caught.value.code == "MalformedXML"
    owner.cli("delete-bucket-ownership-controls", "--bucket", bucket)
    assert code_of(lambda: owner.s3.get_bucket_ownership_controls(Bucket=bucket)) == "OwnershipControlsNotFoundError"


def test_bucket_owner_enforced_disables_acls(owner: Owner, other: Owner) -> None:
    bucket = owner.make(ObjectOwnership="BucketOwnerEnforced")
    assert owner.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    _let_write(owner, other)
    other.s3.put_object(Bucket=bucket, Key="theirs", Body=b"written by other")
    owned = owner.s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert [o["Owner"]["ID"] for o in owned] == [owner.id]
    assert owner.s3.get_object_acl(Bucket=bucket, Key="theirs")["Owner"]["ID"] == owner.id
    assert code_of(lambda: owner.s3.put_object_acl(Bucket=bucket, Key="theirs", ACL="public-read")) == \
        "AccessControlListNotSupported"
    assert code_of(lambda: other.s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read")) == \
        "AccessControlListNotSupported"
    assert code_of(lambda: owner.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")) == \
        "AccessControlListNotSupported"
    other.s3.put_object(Bucket=bucket, Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
    # Any other canned ACL, `private` included, is refused (S3: "Requests to set ACLs or update ACLs fail").
    assert code_of(lambda: owner.s3.put_bucket_acl(Bucket=bucket, ACL="private")) == "AccessControlListNotSupported"
    # The writer reads through the policy, never as an ACL-granted owner.
    assert other.s3.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"written by other"
    assert code_of(lambda: other.s3.get_object_acl(Bucket=bucket, Key="theirs")) == "AccessDenied"


def test_bucket_owner_enforced_refused_while_acls_grant_others(owner: Owner) -> None:
    bucket = owner.bucket
    assert code_of(lambda: owner.s3.create_bucket(Bucket=bucket, ACL="public-read",
                                                  ObjectOwnership="BucketOwnerEnforced")) == \
        "InvalidBucketAclWithObjectOwnership"
    owner.make(ACL="public-read")
    assert code_of(lambda: owner.s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})) == \
        "InvalidBucketAclWithObjectOwnership"
    owner.s3.put_bucket_acl(Bucket=bucket, ACL="private")
    owner.s3.put_bucket_ownership_controls(Bucket=bucket,
                                           OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})


def test_bucket_owner_preferred_takes_bucket_owner_full_control_objects(owner: Owner, other: Owner) -> None:
    bucket = owner.make(ObjectOwnership="BucketOwnerPreferred")
    _let_write(owner, other)
    other.s3.put_object(Bucket=bucket, Key="given", Body=b"x", ACL="bucket-owner-full-control")
    other.s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    upload = other.s3.create_multipart_upload(Bucket=bucket, Key="multi", ACL="bucket-owner-full-control")
    part = other.s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=b"m")
    other.s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    owners = {o["Key"]: o["Owner"]["ID"] for o in owner.s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]}
    assert owners == {"given": owner.id, "kept": other.id, "multi": owner.id}


def test_objects_written_before_enforcement_belong_to_the_bucket_owner(owner: Owner, other: Owner) -> None:
    bucket = owner.make()
    _let_write(owner, other)
    other.s3.put_object(Bucket=bucket, Key="earlier", Body=b"x", ACL="bucket-owner-full-control")
    assert owner.s3.get_object_acl(Bucket=bucket, Key="earlier")["Owner"]["ID"] == other.id
    owner.s3.put_bucket_ownership_controls(Bucket=bucket,
                                           OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    acl = owner.s3.get_object_acl(Bucket=bucket, Key="earlier")
    assert acl["Owner"]["ID"] == owner.id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [(owner.id, "FULL_CONTROL")]
