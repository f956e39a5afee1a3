"""S3 listings name each object's checksum (issue 13): ListObjects, ListObjectsV2 and ListObjectVersions write
one ChecksumAlgorithm per algorithm an object or version was stored with and its ChecksumType (FULL_OBJECT or
COMPOSITE), as botocore's Object and ObjectVersion shapes have them; delete markers carry none. Through boto3
and awscli's s3api, asserting on what each parsed; and the listing costs no query per listed key."""
from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from sqlalchemy import event

from tests.protocol.conftest import make_user
from tests.protocol.s3.conftest import boto3_client
from tests.protocol.s3.s3api_cli import s3api


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def keys(gateway_server):
    return make_user(gateway_server)


@pytest.fixture(scope="module")
def s3(gateway_server, keys):
    return boto3_client(gateway_server, keys)


def _single_part(s3, bucket: str, key: str, algorithm: str, kind: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm, ChecksumType=kind)
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"one part",
                          ChecksumAlgorithm=algorithm)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["ETag"], f"Checksum{algorithm}": part[f"Checksum{algorithm}"]}]})


# key → (the algorithms S3 lists, the type), for the objects `objects` writes.
EXPECTED = {
    "a/crc32": (["CRC32"], "FULL_OBJECT"),
    "a/sha256-sent": (["SHA256"], "FULL_OBJECT"),
    "b/default": (["CRC64NVME"], "FULL_OBJECT"),
    "c/composite": (["SHA1"], "COMPOSITE"),
    "c/full-object": (["CRC32"], "FULL_OBJECT"),
}


@pytest.fixture(scope="module")
def objects(gateway_server, keys, s3):
    """A bucket holding one object of each kind in EXPECTED: a CRC32 boto3 computes, a SHA256 value sent as
    it is, S3's default CRC64NVME (a client told to send no checksum), a COMPOSITE SHA1 and a FULL_OBJECT
    CRC32 multipart object."""
    bucket = name("listck")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/crc32", Body=b"crc32 body", ChecksumAlgorithm="CRC32")
    sent = base64.b64encode(hashlib.sha256(b"sha body").digest()).decode()
    s3.put_object(Bucket=bucket, Key="a/sha256-sent", Body=b"sha body", ChecksumSHA256=sent)
    plain = boto3_client(gateway_server, keys, request_checksum_calculation="when_required")
    plain.put_object(Bucket=bucket, Key="b/default", Body=b"no checksum sent")
    _single_part(s3, bucket, "c/composite", "SHA1", "COMPOSITE")
    _single_part(s3, bucket, "c/full-object", "CRC32", "FULL_OBJECT")
    return bucket


def _listed(entries) -> dict:
    return {e["Key"]: (e.get("ChecksumAlgorithm"), e.get("ChecksumType")) for e in entries}


def test_list_objects_v1_and_v2_name_each_objects_checksum_through_boto3(s3, objects) -> None:
    assert _listed(s3.list_objects(Bucket=objects)["Contents"]) == EXPECTED
    assert _listed(s3.list_objects_v2(Bucket=objects)["Contents"]) == EXPECTED
    # With the owner (v1, v2 FetchOwner), url-encoded keys, pages of one, and under a prefix and delimiter.
    fetched = s3.list_objects_v2(Bucket=objects, FetchOwner=True, EncodingType="url")["Contents"]
    assert _listed(fetched) == EXPECTED and all("Owner" in e for e in fetched)
    paged = [e for page in s3.get_paginator("list_objects_v2").paginate(Bucket=objects, PaginationConfig={
        "PageSize": 1}) for e in page["Contents"]]
    assert _listed(paged) == EXPECTED
    under = s3.list_objects(Bucket=objects, Prefix="c/", Delimiter="/")
    assert _listed(under["Contents"]) == {k: v for k, v in EXPECTED.items() if k.startswith("c/")}
    top = s3.list_objects_v2(Bucket=objects, Delimiter="/")
    assert "Contents" not in top and [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/", "c/"]


def test_list_objects_v1_and_v2_name_each_objects_checksum_through_awscli(gateway_server, keys, objects) -> None:
    v1 = s3api(gateway_server, keys, "list-objects", "--bucket", objects)
    assert _listed(v1["Contents"]) == EXPECTED
    v2 = s3api(gateway_server, keys, "list-objects-v2", "--bucket", objects, "--prefix", "a/")
    assert _listed(v2["Contents"]) == {k: v for k, v in EXPECTED.items() if k.startswith("a/")}


def test_list_object_versions_names_each_versions_checksum_and_none_for_delete_markers(
        gateway_server, keys, s3) -> None:
    bucket = name("verck")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="doc", Body=b"v1", ChecksumAlgorithm="CRC32")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="doc", Body=b"v2", ChecksumAlgorithm="SHA256")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="doc", ChecksumAlgorithm="SHA256")
    part = s3.upload_part(Bucket=bucket, Key="doc", UploadId=upload["UploadId"], PartNumber=1, Body=b"v3",
                          ChecksumAlgorithm="SHA256")
    third = s3.complete_multipart_upload(Bucket=bucket, Key="doc", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}]})["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="doc")["VersionId"]
    wanted = {third: (["SHA256"], "COMPOSITE"), second: (["SHA256"], "FULL_OBJECT"),
              first: (["CRC32"], "FULL_OBJECT")}

    listed = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v.get("ChecksumAlgorithm"), v.get("ChecksumType")) for v in listed["Versions"]] == \
        [(version, *wanted[version]) for version in (third, second, first)]
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [marker]
    assert not {"ChecksumAlgorithm", "ChecksumType"} & set(listed["DeleteMarkers"][0])

    cli = s3api(gateway_server, keys, "list-object-versions", "--bucket", bucket)
    assert {v["VersionId"]: (v.get("ChecksumAlgorithm"), v.get("ChecksumType")) for v in cli["Versions"]} == wanted
    assert not {"ChecksumAlgorithm", "ChecksumType"} & set(cli["DeleteMarkers"][0])
    # The current version of a listing (v2) and of GetObjectAttributes agree once the marker is gone.
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
    current = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    attributes = s3.get_object_attributes(Bucket=bucket, Key="doc", ObjectAttributes=["Checksum"])["Checksum"]
    assert (current["ChecksumAlgorithm"], current["ChecksumType"]) == (["SHA256"], attributes["ChecksumType"])


def test_a_listing_costs_no_query_per_listed_key(gateway_server, s3) -> None:
    """The checksums come with the listed rows: listing 40 keys runs as many SQL statements as listing 2."""
    bucket = name("qck")
    s3.create_bucket(Bucket=bucket)
    for index in range(40):
        s3.put_object(Bucket=bucket, Key=f"k{index:02d}", Body=b"x", ChecksumAlgorithm="CRC32")
    engine = gateway_server.running.store.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "s3_object" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        few = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)["Contents"]
        for_few = len(statements)
        statements.clear()
        many = s3.list_objects_v2(Bucket=bucket)["Contents"]
        for_many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [e["ChecksumAlgorithm"] for e in few] == [["CRC32"]] * 2
    assert [e["ChecksumAlgorithm"] for e in many] == [["CRC32"]] * 40
    assert 1 <= for_many == for_few, (for_few, for_many)
