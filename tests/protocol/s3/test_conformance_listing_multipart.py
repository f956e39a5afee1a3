"""Differences from S3 that ceph's s3-tests found (issue 13's groups B, J and G1), through boto3 and awscli's s3api
against the real server:

- ListObjectVersions takes KeyMarker + VersionIdMarker as a position: a version that no longer exists (`null`
  included) or a key marker past every key pages on (200), so a client deleting each page while it pages (the
  suite's nuke_bucket) empties the bucket; a version-id marker without a key marker, or one that cannot be a
  version id, is still InvalidArgument.
- A retried CompleteMultipartUpload of an upload that completed answers as the first did (ETag, checksums,
  version id, Location) while the version it made is there, also when several race (on every database); with
  another parts list it is InvalidPart, and once the version is gone NoSuchUpload.
- Under BucketOwnerEnforced a write's canned ACL may only be bucket-owner-full-control: `private` too is 400
  AccessControlListNotSupported on PutObject, CopyObject, CreateMultipartUpload, PutObjectAcl and PutBucketAcl
  (CreateBucket with ObjectOwnership=BucketOwnerEnforced still takes `private`).
- ListParts' Owner is who will own the completed object (the bucket owner under BucketOwnerEnforced, and under
  BucketOwnerPreferred for a bucket-owner-full-control upload); Initiator stays the uploader."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys, make_user
from tests.protocol.s3.conftest import boto3_client, translate
from tests.protocol.s3.s3api_cli import s3api
from tests.racing import race

MiB = 1024 * 1024


def _code(exc: Any) -> tuple[int, str]:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"], exc.value.response["Error"]["Code"]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def s3(gateway_server: GatewayServer, keys: Keys) -> Any:
    return boto3_client(gateway_server, keys)


@pytest.fixture
def cli(gateway_server: GatewayServer, keys: Keys) -> Callable[..., Any]:
    return lambda *args: s3api(gateway_server, keys, *args)


def _fails(call: Callable[[], Any]) -> ClientFailure:
    with pytest.raises(ClientFailure) as caught:
        call()
    return caught.value


# -- B: ListObjectVersions markers --------------------------------------------------------------------------------

def _nuke(list_page: Callable[[dict], dict], delete: Callable[[list[dict]], None]) -> int:
    """The suite's nuke_bucket: list a page of versions, delete it, list on from the page's markers → pages."""
    markers: dict = {}
    pages = 0
    while True:
        page = list_page(markers)
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if entries:
            delete(entries)
        pages += 1
        if not page["IsTruncated"]:
            return pages
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page.get("NextVersionIdMarker")}
        assert pages < 100


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_boto3_deletes_each_page_of_versions_while_paging(s3: Any, versioned: bool) -> None:
    bucket = _name("nuke")
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(9):
        for body in (b"1", b"2", b"3") if versioned else (b"1",):
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body)
        if versioned and i % 3 == 0:
            s3.delete_object(Bucket=bucket, Key=f"k{i}")  # a delete marker on top
    expected = 9 * 3 + 3 if versioned else 9
    assert len(_all_versions(s3, bucket)) == expected

    def page(markers: dict) -> dict:
        args = {k: v for k, v in markers.items() if v}
        return s3.list_object_versions(Bucket=bucket, MaxKeys=4, **args)

    def delete(entries: list[dict]) -> None:
        done = s3.delete_objects(Bucket=bucket, Delete={"Objects": entries, "Quiet": True})
        assert not done.get("Errors")
    pages = _nuke(page, delete)
    assert pages == -(-expected // 4)  # every page full: nothing listed twice, nothing skipped
    assert _all_versions(s3, bucket) == []
    s3.delete_bucket(Bucket=bucket)


def _all_versions(s3: Any, bucket: str) -> list[tuple[str, str]]:
    got = s3.list_object_versions(Bucket=bucket)
    return [(v["Key"], v["VersionId"]) for v in got.get("Versions", []) + got.get("DeleteMarkers", [])]


def test_boto3_version_markers_that_name_no_version_are_positions(s3: Any) -> None:
    bucket = _name("vmark")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="a")
    got = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")  # the conformance repro
    assert got["KeyMarker"] == "a" and got["VersionIdMarker"] == "null"
    assert "Versions" not in got and got["IsTruncated"] is False
    s3.put_object(Bucket=bucket, Key="b", Body=b"y")
    got = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")
    assert [(v["Key"], v["VersionId"]) for v in got["Versions"]] == [("b", "null")]
    got = s3.list_object_versions(Bucket=bucket, KeyMarker="zzz", VersionIdMarker="null")  # past every key
    assert "Versions" not in got and got["IsTruncated"] is False
    # a marker naming a version still there is exclusive, as before
    got = s3.list_object_versions(Bucket=bucket, KeyMarker="b", VersionIdMarker="null")
    assert "Versions" not in got
    # refused as S3 refuses them
    with pytest.raises(ClientError) as e:
        s3.list_object_versions(Bucket=bucket, VersionIdMarker="null")
    assert _code(e) == (400, "InvalidArgument")
    assert "without a key marker" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="not-a-version")
    assert _code(e) == (400, "InvalidArgument")
    assert e.value.response["Error"]["Message"] == "Invalid version id specified"


def test_boto3_deleted_version_marker_in_a_versioned_bucket(s3: Any) -> None:
    bucket = _name("vdel")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = [s3.put_object(Bucket=bucket, Key="k", Body=bytes([n]))["VersionId"] for n in range(3)]
    s3.put_object(Bucket=bucket, Key="m", Body=b"m")
    first = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert [v["VersionId"] for v in first["Versions"]] == [made[2], made[1]]
    assert first["NextVersionIdMarker"] == made[1]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=made[2])
    s3.delete_object(Bucket=bucket, Key="k", VersionId=made[1])  # the page, marker included, is gone
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker=first["NextKeyMarker"],
                                   VersionIdMarker=first["NextVersionIdMarker"])
    assert [(v["Key"], v["VersionId"]) for v in rest["Versions"]][0] == ("k", made[0])
    assert [v["Key"] for v in rest["Versions"]] == ["k", "m"]
    assert rest["Versions"][0]["IsLatest"] is True  # k's one left is its current version now


def test_awscli_pages_from_a_deleted_null_version_marker(cli: Callable[..., Any]) -> None:
    bucket = _name("vcli")
    cli("create-bucket", "--bucket", bucket)
    for key in ("a", "b", "c"):
        cli("put-object", "--bucket", bucket, "--key", key)
    page = cli("list-object-versions", "--bucket", bucket, "--max-keys", "2", "--no-paginate")
    assert [v["Key"] for v in page["Versions"]] == ["a", "b"]
    assert page["NextKeyMarker"] == "b" and page["NextVersionIdMarker"] == "null"
    cli("delete-objects", "--bucket", bucket, "--delete",
        json.dumps({"Objects": [{"Key": "a", "VersionId": "null"}, {"Key": "b", "VersionId": "null"}]}))
    rest = cli("list-object-versions", "--bucket", bucket, "--key-marker", "b", "--version-id-marker", "null",
               "--no-paginate")
    assert [(v["Key"], v["VersionId"]) for v in rest["Versions"]] == [("c", "null")]
    past = cli("list-object-versions", "--bucket", bucket, "--key-marker", "zzz", "--version-id-marker", "null",
               "--no-paginate")
    assert "Versions" not in past and past["KeyMarker"] == "zzz"
    alone = _fails(lambda: cli("list-object-versions", "--bucket", bucket, "--version-id-marker", "null"))
    assert alone.code == "InvalidArgument"


# -- J: a retried CompleteMultipartUpload --------------------------------------------------------------------------

def _upload(s3: Any, bucket: str, key: str, sizes: tuple[int, ...] = (5 * MiB, 3)) -> tuple[str, list[dict]]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, size in enumerate(sizes, 1):
        done = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number,
                              Body=bytes([number]) * size, ChecksumAlgorithm="SHA256")
        parts.append({"PartNumber": number, "ETag": done["ETag"], "ChecksumSHA256": done["ChecksumSHA256"]})
    return upload, parts


def _result(done: dict) -> tuple:
    return (done["Location"], done["Bucket"], done["Key"], done["ETag"], done.get("ChecksumSHA256"),
            done.get("VersionId"))


def test_boto3_retried_complete_answers_as_the_first(s3: Any) -> None:
    bucket = _name("mpu")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    upload, parts = _upload(s3, bucket, "mp")
    first = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    assert first["ETag"].endswith('-2"') and first["ChecksumSHA256"].endswith("-2") and first["VersionId"]
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    assert _result(again) == _result(first)
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]] == [first["VersionId"]]
    # another parts list than the one that completed
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                     MultipartUpload={"Parts": parts[:1]})
    assert _code(e) == (400, "InvalidPart")
    # the upload itself is gone for everything else
    for call in (lambda: s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload),
                 lambda: s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)):
        with pytest.raises(ClientError) as e:
            call()
        assert _code(e) == (404, "NoSuchUpload")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    # another key, or once its version is deleted: NoSuchUpload
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="other", UploadId=upload, MultipartUpload={"Parts": parts})
    assert _code(e) == (404, "NoSuchUpload")
    s3.delete_object(Bucket=bucket, Key="mp", VersionId=first["VersionId"])
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts})
    assert _code(e) == (404, "NoSuchUpload")


def test_retried_complete_after_the_object_is_replaced_is_no_such_upload(s3: Any, cli: Callable[..., Any],
                                                                          gateway_server: GatewayServer,
                                                                          new_user: Callable[[], Keys]) -> None:
    bucket = _name("mpr")
    s3.create_bucket(Bucket=bucket)
    upload, parts = _upload(s3, bucket, "mp", (7,))
    spec = json.dumps({"Parts": parts})
    first = cli("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", upload,
                "--multipart-upload", spec)
    again = cli("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", upload,
                "--multipart-upload", spec)
    assert (again["ETag"], again["ChecksumSHA256"], again["Location"]) == \
        (first["ETag"], first["ChecksumSHA256"], first["Location"])
    assert "VersionId" not in again  # the null version
    # another account may not learn anything from a retry
    stranger = boto3_client(gateway_server, new_user())
    with pytest.raises(ClientError) as e:
        stranger.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                           MultipartUpload={"Parts": parts})
    assert _code(e) == (403, "AccessDenied")
    s3.put_object(Bucket=bucket, Key="mp", Body=b"new")  # replaces the null version the upload made
    gone = _fails(lambda: cli("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", upload,
                              "--multipart-upload", spec))
    assert gone.code == "NoSuchUpload"


def test_racing_completes_of_one_upload_all_answer_the_same(db_server: GatewayServer) -> None:
    keys = make_user(db_server)
    s3 = boto3_client(db_server, keys)
    bucket = _name("mprace")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    upload, parts = _upload(s3, bucket, "mp")
    clients = [boto3_client(db_server, keys) for _ in range(3)]
    calls: list[Callable[[], Any]] = [
        (lambda c=c: c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                                 MultipartUpload={"Parts": parts})) for c in clients]
    calls.append(lambda: s3api(db_server, keys, "complete-multipart-upload", "--bucket", bucket, "--key", "mp",
                               "--upload-id", upload, "--multipart-upload", json.dumps({"Parts": parts})))
    results = [translate(r) if isinstance(r, Exception) and not isinstance(r, ClientFailure) else r
               for r in race(calls, timeout=120)]
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({(r["ETag"], r["ChecksumSHA256"], r["VersionId"]) for r in results}) == 1, results
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == [results[0]["VersionId"]]
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"\x01" * (5 * MiB) + b"\x02" * 3


# -- G1: BucketOwnerEnforced refuses every canned ACL but bucket-owner-full-control --------------------------------

def _public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]})


def test_bucket_owner_enforced_refuses_canned_acls_but_the_owners(s3: Any, gateway_server: GatewayServer,
                                                                  new_user: Callable[[], Keys]) -> None:
    bucket = _name("enf")
    s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced", ACL="private")  # private is allowed here
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    alt_keys = new_user()
    alt = boto3_client(gateway_server, alt_keys)
    alt.put_object(Bucket=bucket, Key="plain", Body=b"x")
    alt.put_object(Bucket=bucket, Key="bofc", Body=b"x", ACL="bucket-owner-full-control")
    alt.put_object(Bucket=bucket, Key="grant", Body=b"x", GrantFullControl=f"id={owner}")  # the XML-free equivalent
    for key in ("plain", "bofc", "grant"):
        assert alt.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"] == owner
    refused = [
        lambda: alt.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="private"),
        lambda: s3.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="private"),  # the owner too
        lambda: alt.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="public-read"),
        lambda: alt.put_object(Bucket=bucket, Key="p", Body=b"x", GrantRead=f"id={owner}"),
        lambda: alt.create_multipart_upload(Bucket=bucket, Key="p", ACL="private"),
        lambda: alt.copy_object(Bucket=bucket, Key="p", CopySource={"Bucket": bucket, "Key": "plain"},
                                ACL="private"),
        lambda: alt.put_object_acl(Bucket=bucket, Key="plain", ACL="private"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="plain", ACL="private"),
        lambda: alt.put_bucket_acl(Bucket=bucket, ACL="private"),
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="private"),
    ]
    for call in refused:
        with pytest.raises(ClientError) as e:
            call()
        assert _code(e) == (400, "AccessControlListNotSupported")
    assert "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix="plain")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="p/")
    alt.create_multipart_upload(Bucket=bucket, Key="m", ACL="bucket-owner-full-control")
    alt.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "plain"},
                    ACL="bucket-owner-full-control")
    # a caller with no right to write the ACL is refused for that first
    stranger = boto3_client(gateway_server, new_user())
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        stranger.put_bucket_acl(Bucket=bucket, ACL="private")
    assert _code(e) == (403, "AccessDenied")
    # awscli's s3api
    failed = _fails(lambda: s3api(gateway_server, alt_keys, "put-object", "--bucket", bucket, "--key", "cli",
                                  "--acl", "private"))
    assert failed.code == "AccessDenied"  # the policy is gone: alt may not write at all
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    failed = _fails(lambda: s3api(gateway_server, alt_keys, "put-object", "--bucket", bucket, "--key", "cli",
                                  "--acl", "private"))
    assert failed.code == "AccessControlListNotSupported" and "does not allow ACLs" in failed.message
    assert s3api(gateway_server, alt_keys, "put-object", "--bucket", bucket, "--key", "cli",
                 "--acl", "bucket-owner-full-control")["ETag"]


def test_object_writer_bucket_still_takes_private(s3: Any) -> None:
    bucket = _name("ow")
    s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket=bucket, Key="p", Body=b"x", ACL="private")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="p", ACL="public-read")


# -- G2: ListParts' Owner is the owner the completed object will have ---------------------------------------------

@pytest.mark.parametrize("ownership", ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"])
def test_list_parts_owner_is_the_objects_owner_to_be(s3: Any, gateway_server: GatewayServer,
                                                     new_user: Callable[[], Keys], ownership: str) -> None:
    bucket = _name("lpo")
    s3.create_bucket(Bucket=bucket, ObjectOwnership=ownership)
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    alt_keys = new_user()
    alt = boto3_client(gateway_server, alt_keys)
    plain = alt.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    given = alt.create_multipart_upload(Bucket=bucket, Key="given", ACL="bucket-owner-full-control")["UploadId"]
    listed = alt.list_parts(Bucket=bucket, Key="plain", UploadId=plain)
    writer = listed["Initiator"]["ID"]
    assert writer != owner
    expected = {"BucketOwnerEnforced": (owner, owner), "BucketOwnerPreferred": (writer, owner),
                "ObjectWriter": (writer, writer)}[ownership]
    assert listed["Owner"]["ID"] == expected[0]
    cli = s3api(gateway_server, alt_keys, "list-parts", "--bucket", bucket, "--key", "given", "--upload-id", given)
    assert (cli["Initiator"]["ID"], cli["Owner"]["ID"]) == (writer, expected[1])
    # the completed objects are owned as ListParts said
    for key, upload, want in (("plain", plain, expected[0]), ("given", given, expected[1])):
        part = alt.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x")
        alt.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                      MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        assert s3.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"] == want
