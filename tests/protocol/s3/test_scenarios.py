"""One scenario, every S3 client (boto3 path and virtual-host, boto 2 at /awsapi/rest/AmazonS3, s3cmd with
SigV2 and SigV4): the seed's example, buckets, objects with metadata, listing, copy, errors, ACLs."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.protocol.conftest import ClientFailure
from tests.protocol.s3.conftest import S3Client


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def fails(fn, *args) -> ClientFailure:
    with pytest.raises(ClientFailure) as caught:
        fn(*args)
    return caught.value


def test_seed_example(s3: S3Client, tmp_path: Path) -> None:
    """The seed's boto example: bucket `cloudstack` with a file's key, bucket `teststring` with `foobar` from a
    string, both read back (the names are global, so each client cleans up after itself)."""
    data = b"a file's contents\n" * 100
    s3.make_bucket("cloudstack")
    try:
        s3.put("cloudstack", "notes/file.txt", data)
        s3.make_bucket("teststring")
        try:
            s3.put("teststring", "foobar", b"This is a test of S3")
            assert s3.get("teststring", "foobar") == b"This is a test of S3"
            assert s3.get("cloudstack", "notes/file.txt") == data
            assert {"cloudstack", "teststring"} <= set(s3.buckets())
        finally:
            for key in s3.keys_of("teststring"):
                s3.delete("teststring", key)
            s3.delete_bucket("teststring")
    finally:
        for key in s3.keys_of("cloudstack"):
            s3.delete("cloudstack", key)
        s3.delete_bucket("cloudstack")


def test_objects_metadata_listing_copy(s3: S3Client) -> None:
    bucket = name("objs")
    s3.make_bucket(bucket)
    s3.put(bucket, "dir/a.txt", b"alpha", content_type="text/plain", meta={"colour": "blue"})
    s3.put(bucket, "dir/b.bin", b"\x00\x01" * 1000)
    s3.put(bucket, "top", b"")
    info = s3.info(bucket, "dir/a.txt")
    assert info["type"] == "text/plain" and info["meta"] == {"colour": "blue"} and info["size"] == 5
    assert s3.keys_of(bucket) == ["dir/a.txt", "dir/b.bin", "top"]
    assert s3.keys_of(bucket, "dir/") == ["dir/a.txt", "dir/b.bin"]
    s3.copy(bucket, "dir/a.txt", bucket, "copied")
    assert s3.get(bucket, "copied") == b"alpha"
    assert s3.info(bucket, "copied")["meta"] == {"colour": "blue"}
    assert s3.get(bucket, "top") == b""


def test_errors(s3: S3Client) -> None:
    bucket = name("errs")
    missing = fails(s3.get, name("absent"), "k")
    # s3cmd asks with HEAD first, whose 404 carries no code.
    assert missing.code == "NoSuchBucket" or s3.kind.startswith("s3cmd") and missing.status == 404
    s3.make_bucket(bucket)
    s3.make_bucket(bucket)  # S3 in us-east-1, where this bucket is: re-creating your own is 200
    assert fails(s3.get, bucket, "missing").code == "NoSuchKey"
    s3.put(bucket, "k", b"v")
    assert fails(s3.delete_bucket, bucket).code == "BucketNotEmpty"
    s3.delete(bucket, "k")
    s3.delete_bucket(bucket)
    assert bucket not in s3.buckets()


def test_acls_between_users(s3: S3Client, s3_of, new_user) -> None:
    bucket = name("acl")
    s3.make_bucket(bucket)
    s3.put(bucket, "private", b"secret")
    s3.put(bucket, "public", b"for all")
    s3.set_public_read(bucket, "public")
    other = s3_of(s3.kind, new_user())
    assert fails(other.get, bucket, "private").code == "AccessDenied"
    assert other.get(bucket, "public") == b"for all"
    assert fails(other.put, bucket, "intruder", b"x").code == "AccessDenied"
    assert fails(other.delete_bucket, bucket).code == "AccessDenied"
