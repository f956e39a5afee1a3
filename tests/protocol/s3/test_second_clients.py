"""Issue 13's features and edge cases through a second client, where the other modules drive them through boto3
only: awscli's `s3api` (in-process, its own parsing) and boto 2 (SigV2) against the real server. Tagging per
version, on copies and uploads, its limits and policy conditions; lifecycle refusals, x-amz-expiration and the
server's sweep as awscli then lists it; conditional CompleteMultipartUpload; multipart checksums, checksum mode
and GetObjectAttributes pages; partNumber and UploadPartCopy ranges; ownership enforcement; governance bypass;
listing refusals and encoding; ACL grantees and the bucket-owner canned ACLs; unversioned deletes; anonymous
calls; a boto 2 POST form's redirect. Every engine's races through the real server are in
test_second_clients_db.py."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
import zlib
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto2_post_connection, boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api

MiB = 1024 * 1024
DAY = 86400


def _bucket(tag: str = "sc") -> str:
    return tag + uuid.uuid4().hex[:12]


def _tags(pairs: dict) -> str:
    return json.dumps({"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]})


def _as_dict(tag_set: list) -> dict:
    return {tag["Key"]: tag["Value"] for tag in tag_set}


class Cli:
    """awscli's s3api as one user, with a scratch directory for bodies and downloads."""

    def __init__(self, server: GatewayServer, keys: Keys, tmp: Path):
        self.server, self.keys, self.tmp = server, keys, tmp
        self.id = boto3_client(server, keys).list_buckets()["Owner"]["ID"]

    def __call__(self, *args: str) -> Any:
        return s3api(self.server, self.keys, *args)

    def fails(self, *args: str) -> ClientFailure:
        """The failure awscli reported (its code and message: awscli prints no HTTP status)."""
        return failure_of(lambda: s3api(self.server, self.keys, *args))

    def file(self, data: bytes) -> str:
        path = self.tmp / f"body-{uuid.uuid4().hex[:8]}"
        path.write_bytes(data)
        return str(path)

    def put(self, bucket: str, key: str, data: bytes, *args: str) -> Any:
        return self("put-object", "--bucket", bucket, "--key", key, "--body", self.file(data), *args)

    def get(self, bucket: str, key: str, *args: str) -> tuple[Any, bytes]:
        out = self.tmp / f"got-{uuid.uuid4().hex[:8]}"
        answer = self("get-object", "--bucket", bucket, "--key", key, *args, str(out))
        return answer, out.read_bytes()

    def bucket(self, *args: str) -> str:
        name = _bucket()
        self("create-bucket", "--bucket", name, *args)
        return name

    def keys_in(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self("list-objects-v2", "--bucket", bucket).get("Contents", [])]


@pytest.fixture
def cli(gateway_server: GatewayServer, new_user: Callable[[], Keys], tmp_path: Path) -> Cli:
    return Cli(gateway_server, new_user(), tmp_path)


@pytest.fixture
def other(gateway_server: GatewayServer, new_user: Callable[[], Keys], tmp_path: Path) -> Cli:
    return Cli(gateway_server, new_user(), tmp_path)


# -- tagging -----------------------------------------------------------------------------------------------------

def test_awscli_tags_per_version(cli: Cli) -> None:
    bucket = cli.bucket()
    cli("put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
    v1 = cli.put(bucket, "k", b"one", "--tagging", "v=1")["VersionId"]
    v2 = cli.put(bucket, "k", b"two", "--tagging", "v=2&extra=x")["VersionId"]
    old = cli("get-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", v1)
    assert (_as_dict(old["TagSet"]), old["VersionId"]) == ({"v": "1"}, v1)
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "k")["TagSet"]) == {"v": "2", "extra": "x"}
    put = cli("put-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", v1,
              "--tagging", _tags({"v": "one"}))
    assert put["VersionId"] == v1
    assert cli("head-object", "--bucket", bucket, "--key", "k", "--version-id", v1)["TagCount"] == 1
    assert cli("head-object", "--bucket", bucket, "--key", "k")["TagCount"] == 2
    assert cli("delete-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", v1)["VersionId"] == v1
    assert cli("get-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", v1)["TagSet"] == []
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", v2)["TagSet"]) == \
        {"v": "2", "extra": "x"}
    marker = cli("delete-object", "--bucket", bucket, "--key", "k")["VersionId"]
    failure = cli.fails("put-object-tagging", "--bucket", bucket, "--key", "k", "--version-id", marker,
                        "--tagging", _tags({"a": "b"}))
    assert failure.code == "MethodNotAllowed"
    assert cli.fails("get-object-tagging", "--bucket", bucket, "--key", "k").code == "NoSuchKey"


def test_awscli_copy_directive_and_multipart_tagging(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "src", b"data", "--tagging", "from=source")
    source = f"{bucket}/src"
    cli("copy-object", "--bucket", bucket, "--key", "kept", "--copy-source", source, "--tagging", "ignored=1")
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "kept")["TagSet"]) == {"from": "source"}
    cli("copy-object", "--bucket", bucket, "--key", "new", "--copy-source", source,
        "--tagging-directive", "REPLACE", "--tagging", "new=tag&n=2")
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "new")["TagSet"]) == {"new": "tag", "n": "2"}
    failure = cli.fails("copy-object", "--bucket", bucket, "--key", "bad", "--copy-source", source,
                        "--tagging-directive", "MERGE")
    assert failure.code == "InvalidArgument"

    upload = cli("create-multipart-upload", "--bucket", bucket, "--key", "mp", "--tagging", "mp=yes")["UploadId"]
    part = cli("upload-part", "--bucket", bucket, "--key", "mp", "--upload-id", upload, "--part-number", "1",
               "--body", cli.file(b"x" * 100))
    cli("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", upload,
        "--multipart-upload", json.dumps({"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "mp")["TagSet"]) == {"mp": "yes"}
    assert cli.get(bucket, "mp")[0]["TagCount"] == 1
    failure = cli.fails("create-multipart-upload", "--bucket", bucket, "--key", "mp2", "--tagging", "aws:x=1")
    assert failure.code == "InvalidTag"
    assert sorted(cli.keys_in(bucket)) == ["kept", "mp", "new", "src"]


def test_awscli_tag_limits(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "k", b"data", "--tagging", "keep=me")
    for tags, code, words in (({"k" * 129: "v"}, "InvalidTag", "TagKey you have provided is too long, max 128"),
                              ({"k": "v" * 257}, "InvalidTag", "TagValue you have provided is too long, max 256"),
                              ({"aws:reserved": "v"}, "InvalidTag", "cannot be prefixed with aws:")):
        failure = cli.fails("put-object-tagging", "--bucket", bucket, "--key", "k", "--tagging", _tags(tags))
        assert failure.code == code and words in failure.message, failure.message
    failure = cli.fails("put-object", "--bucket", bucket, "--key", "refused", "--body", cli.file(b"x"),
                        "--tagging", "a=1&a=2")
    assert failure.code == "InvalidArgument"
    failure = cli.fails("put-bucket-tagging", "--bucket", bucket, "--tagging",
                        _tags({f"k{i}": "v" for i in range(51)}))
    assert failure.code == "InvalidTag"
    cli("put-bucket-tagging", "--bucket", bucket, "--tagging", _tags({f"k{i}": "v" for i in range(50)}))
    assert len(cli("get-bucket-tagging", "--bucket", bucket)["TagSet"]) == 50
    assert _as_dict(cli("get-object-tagging", "--bucket", bucket, "--key", "k")["TagSet"]) == {"keep": "me"}
    assert cli.keys_in(bucket) == ["k"]


def test_awscli_tags_in_policy_conditions(cli: Cli, other: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "public", b"open", "--tagging", "public=yes")
    cli.put(bucket, "private", b"closed", "--tagging", "public=no")
    cli("put-bucket-policy", "--bucket", bucket, "--policy", json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/public": "yes"}}},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/in/*",
         "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"}}}]}))
    assert other.get(bucket, "public")[1] == b"open"
    assert other.fails("get-object", "--bucket", bucket, "--key", "private", os.devnull).code == "AccessDenied"
    cli("put-object-tagging", "--bucket", bucket, "--key", "private", "--tagging", _tags({"public": "yes"}))
    assert other.get(bucket, "private")[1] == b"closed"
    other.put(bucket, "in/ok", b"x", "--tagging", "team=blue")
    for tagging in ("team=red", "other=blue"):
        failure = other.fails("put-object", "--bucket", bucket, "--key", "in/no", "--body", other.file(b"x"),
                              "--tagging", tagging)
        assert failure.code == "AccessDenied", tagging
    assert sorted(cli.keys_in(bucket)) == ["in/ok", "private", "public"]


# -- lifecycle ---------------------------------------------------------------------------------------------------

def _lifecycle(cli: Cli, bucket: str, rules: list) -> Any:
    return cli("put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
               json.dumps({"Rules": rules}))


def test_awscli_lifecycle_refusals_change_nothing(cli: Cli) -> None:
    bucket = cli.bucket()
    kept = [{"ID": "keep", "Filter": {"Prefix": "a/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]
    _lifecycle(cli, bucket, kept)
    one = {"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    for rules, code, words in (
            ([{**one, "ID": "x" * 256}], "InvalidArgument", "ID length"),
            ([one, one], "InvalidArgument", "unique"),
            ([{**one, "Expiration": {"Days": 0}}], "InvalidArgument", "'Days'"),
            ([{**one, "Expiration": {"Date": "2031-01-01T12:00:00Z"}}], "InvalidArgument", "midnight"),
            ([{"ID": "a", "Filter": {}, "Status": "Enabled"}], "InvalidRequest", "At least one action"),
            ([{"ID": "a", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
               "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}], "InvalidRequest", "Tags")):
        failure = failure_of(lambda: _lifecycle(cli, bucket, rules))
        assert failure.code == code and words in failure.message, failure.message
    assert cli("get-bucket-lifecycle-configuration", "--bucket", bucket)["Rules"] == kept


def _expiry_rule(header: str) -> str:
    assert header.startswith('expiry-date="') and ', rule-id="' in header, header
    return header.split('rule-id="', 1)[1].rstrip('"')


def test_awscli_sees_x_amz_expiration_and_what_the_servers_sweep_did(gateway_server: GatewayServer,
                                                                     cli: Cli) -> None:
    plain, versioned = cli.bucket(), cli.bucket()
    cli("put-bucket-versioning", "--bucket", versioned, "--versioning-configuration", "Status=Enabled")
    for bucket in (plain, versioned):
        _lifecycle(cli, bucket, [
            {"ID": "old", "Filter": {"Prefix": "old/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "tidy", "Filter": {}, "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}])
        put = cli.put(bucket, "old/a", b"expires")
        assert _expiry_rule(put["Expiration"]) == "old"
        assert _expiry_rule(cli("head-object", "--bucket", bucket, "--key", "old/a")["Expiration"]) == "old"
        assert _expiry_rule(cli.get(bucket, "old/a")[0]["Expiration"]) == "old"
        assert "Expiration" not in cli.put(bucket, "new/b", b"stays")
        cli("create-multipart-upload", "--bucket", bucket, "--key", "old/unfinished")
    gateway_server.running.sweeper.ops.sweep_lifecycle(now=time.time() + 3 * DAY)
    for bucket in (plain, versioned):
        assert cli.keys_in(bucket) == ["new/b"]
        assert cli("list-multipart-uploads", "--bucket", bucket).get("Uploads", []) == []
    listed = cli("list-object-versions", "--bucket", versioned)
    assert [m["Key"] for m in listed["DeleteMarkers"]] == ["old/a"]
    assert sorted(v["Key"] for v in listed["Versions"]) == ["new/b", "old/a"]
    gateway_server.running.sweeper.ops.sweep_lifecycle(now=time.time() + 5 * DAY)
    listed = cli("list-object-versions", "--bucket", versioned)
    assert [v["Key"] for v in listed["Versions"]] == ["new/b"]
    assert cli.get(versioned, "new/b")[1] == b"stays"


# -- conditional writes ------------------------------------------------------------------------------------------

def test_awscli_complete_multipart_upload_conditions(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "k", b"exists")

    def upload(key: str) -> tuple[str, str]:
        uid = cli("create-multipart-upload", "--bucket", bucket, "--key", key)["UploadId"]
        part = cli("upload-part", "--bucket", bucket, "--key", key, "--upload-id", uid, "--part-number", "1",
                   "--body", cli.file(b"p" * 100))
        return uid, json.dumps({"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})

    uid, parts = upload("k")
    complete = ["complete-multipart-upload", "--bucket", bucket, "--key", "k", "--upload-id", uid,
                "--multipart-upload", parts]
    failure = cli.fails(*complete, "--if-none-match", "*")
    assert failure.code == "PreconditionFailed"
    failure = cli.fails(*complete, "--if-match", '"0123456789abcdef0123456789abcdef"')
    assert failure.code == "PreconditionFailed"
    assert cli.get(bucket, "k")[1] == b"exists"
    current = cli("head-object", "--bucket", bucket, "--key", "k")["ETag"]
    done = cli(*complete, "--if-match", current)
    assert done["ETag"].endswith('-1"') and cli.get(bucket, "k")[1] == b"p" * 100
    uid, parts = upload("absent")
    failure = cli.fails("complete-multipart-upload", "--bucket", bucket, "--key", "absent", "--upload-id", uid,
                        "--multipart-upload", parts, "--if-match", current)
    assert failure.code == "NoSuchKey"
    assert cli("list-multipart-uploads", "--bucket", bucket)["Uploads"][0]["UploadId"] == uid  # kept


# -- checksums and parts -----------------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _crc32(data: bytes) -> str:
    return _b64(zlib.crc32(data).to_bytes(4, "big"))


def _multipart(cli: Cli, bucket: str, key: str, pieces: list[bytes], algorithm: str, *create: str) -> tuple[str, list]:
    uid = cli("create-multipart-upload", "--bucket", bucket, "--key", key, "--checksum-algorithm", algorithm,
              *create)["UploadId"]
    parts = []
    for number, data in enumerate(pieces, start=1):
        part = cli("upload-part", "--bucket", bucket, "--key", key, "--upload-id", uid, "--part-number", str(number),
                   "--body", cli.file(data), "--checksum-algorithm", algorithm)
        parts.append({"PartNumber": number, "ETag": part["ETag"], f"Checksum{algorithm}": part[f"Checksum{algorithm}"]})
    return uid, parts


def test_awscli_composite_multipart_checksum_mode_and_attribute_pages(cli: Cli) -> None:
    bucket = cli.bucket()
    one, two = bytes(range(256)) * (5 * MiB // 256), b"the tail" * 500
    uid, parts = _multipart(cli, bucket, "mp", [one, two], "SHA256")
    assert [p["ChecksumSHA256"] for p in parts] == [_b64(_sha256(one)), _b64(_sha256(two))]
    listed = cli("list-parts", "--bucket", bucket, "--key", "mp", "--upload-id", uid)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA256", "COMPOSITE")
    done = cli("complete-multipart-upload", "--bucket", bucket, "--key", "mp", "--upload-id", uid,
               "--multipart-upload", json.dumps({"Parts": parts}))
    composite = _b64(_sha256(_sha256(one) + _sha256(two))) + "-2"
    assert (done["ChecksumSHA256"], done["ChecksumType"]) == (composite, "COMPOSITE")
    head = cli("head-object", "--bucket", bucket, "--key", "mp", "--checksum-mode", "ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (composite, "COMPOSITE")
    assert "ChecksumSHA256" not in cli("head-object", "--bucket", bucket, "--key", "mp")

    first = cli("get-object-attributes", "--bucket", bucket, "--key", "mp", "--max-parts", "1", "--object-attributes",
                "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
    assert first["ETag"] == done["ETag"].strip('"') and first["ObjectSize"] == len(one) + len(two)
    assert first["StorageClass"] == "STANDARD"
    assert first["Checksum"] == {"ChecksumSHA256": composite, "ChecksumType": "COMPOSITE"}
    page = first["ObjectParts"]
    assert (page["TotalPartsCount"], page["MaxParts"], page["IsTruncated"]) == (2, 1, True)
    assert page["Parts"] == [{"PartNumber": 1, "Size": len(one), "ChecksumSHA256": parts[0]["ChecksumSHA256"]}]
    rest = cli("get-object-attributes", "--bucket", bucket, "--key", "mp", "--object-attributes", "ObjectParts",
               "--part-number-marker", str(page["NextPartNumberMarker"]))
    assert rest["ObjectParts"]["IsTruncated"] is False and "ObjectSize" not in rest
    assert rest["ObjectParts"]["Parts"] == [{"PartNumber": 2, "Size": len(two),
                                             "ChecksumSHA256": parts[1]["ChecksumSHA256"]}]

    # partNumber on GET and HEAD: the part's bytes, range and own checksum; S3's refusals.
    second, data = cli.get(bucket, "mp", "--part-number", "2", "--checksum-mode", "ENABLED")
    assert data == two and second["PartsCount"] == 2 and second["ChecksumSHA256"] == _b64(_sha256(two))
    assert second["ContentRange"] == f"bytes {len(one)}-{len(one) + len(two) - 1}/{len(one) + len(two)}"
    assert cli("head-object", "--bucket", bucket, "--key", "mp", "--part-number", "1")["ContentLength"] == len(one)
    assert "(416)" in cli.fails("head-object", "--bucket", bucket, "--key", "mp", "--part-number", "3").message
    assert cli.fails("get-object", "--bucket", bucket, "--key", "mp", "--part-number", "3",
                     os.devnull).code == "InvalidPartNumber"
    assert cli.fails("get-object", "--bucket", bucket, "--key", "mp", "--part-number", "1", "--range", "bytes=0-1",
                     os.devnull).code == "InvalidRequest"


def test_awscli_full_object_crc32_and_its_refusals(cli: Cli) -> None:
    bucket = cli.bucket()
    pieces = [b"\x01" * (5 * MiB), b"second part" * 1000]
    whole = _crc32(b"".join(pieces))
    uid, parts = _multipart(cli, bucket, "full", pieces, "CRC32", "--checksum-type", "FULL_OBJECT")
    complete = ["complete-multipart-upload", "--bucket", bucket, "--key", "full", "--upload-id", uid,
                "--multipart-upload", json.dumps({"Parts": parts}), "--checksum-type", "FULL_OBJECT"]
    assert cli.fails(*complete, "--checksum-crc32", _crc32(b"other")).code == "BadDigest"
    done = cli(*complete, "--checksum-crc32", whole)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got, data = cli.get(bucket, "full", "--checksum-mode", "ENABLED")
    assert data == b"".join(pieces) and (got["ChecksumCRC32"], got["ChecksumType"]) == (whole, "FULL_OBJECT")
    failure = cli.fails("create-multipart-upload", "--bucket", bucket, "--key", "no", "--checksum-algorithm", "SHA1",
                        "--checksum-type", "FULL_OBJECT")
    assert failure.code == "InvalidRequest"
    uid = cli("create-multipart-upload", "--bucket", bucket, "--key", "held", "--checksum-algorithm",
              "SHA1")["UploadId"]
    failure = cli.fails("upload-part", "--bucket", bucket, "--key", "held", "--upload-id", uid, "--part-number", "1",
                        "--body", cli.file(b"x"), "--checksum-algorithm", "CRC32")
    assert failure.code == "InvalidRequest" and "mismatch" in failure.message


def test_awscli_upload_part_copy_ranges(cli: Cli) -> None:
    bucket = cli.bucket()
    source = bytes(range(256)) * (5 * MiB // 256 + 1)
    cli.put(bucket, "src", source)
    uid = cli("create-multipart-upload", "--bucket", bucket, "--key", "ranged")["UploadId"]
    copy = ["upload-part-copy", "--bucket", bucket, "--key", "ranged", "--upload-id", uid,
            "--copy-source", f"{bucket}/src"]
    first = cli(*copy, "--part-number", "1", "--copy-source-range", f"bytes=0-{5 * MiB - 1}")["CopyPartResult"]
    assert first["ETag"] == '"%s"' % hashlib.md5(source[:5 * MiB]).hexdigest()
    last = cli(*copy, "--part-number", "2", "--copy-source-range", "bytes=10-19")["CopyPartResult"]
    for bad in ("bytes=0-", "0-10", "bytes=5-2", f"bytes=0-{len(source)}"):
        assert cli.fails(*copy, "--part-number", "3", "--copy-source-range", bad).code == "InvalidArgument", bad
    cli("complete-multipart-upload", "--bucket", bucket, "--key", "ranged", "--upload-id", uid,
        "--multipart-upload", json.dumps({"Parts": [{"PartNumber": 1, "ETag": first["ETag"]},
                                                    {"PartNumber": 2, "ETag": last["ETag"]}]}))
    assert cli.get(bucket, "ranged")[1] == source[:5 * MiB] + source[10:20]


# -- object ownership and object lock ----------------------------------------------------------------------------

def _let_write(cli: Cli, bucket: str, other: Cli) -> None:
    cli("put-bucket-policy", "--bucket", bucket, "--policy", json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"CanonicalUser": other.id}, "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}))


def test_awscli_bucket_owner_enforced_at_create_disables_acls(cli: Cli, other: Cli) -> None:
    bucket = cli.bucket("--object-ownership", "BucketOwnerEnforced")
    assert cli("get-bucket-ownership-controls", "--bucket", bucket)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    _let_write(cli, bucket, other)
    other.put(bucket, "theirs", b"x")
    listed = cli("list-objects-v2", "--bucket", bucket, "--fetch-owner")["Contents"]
    assert [o["Owner"]["ID"] for o in listed] == [cli.id]
    for args in (("put-object-acl", "--bucket", bucket, "--key", "theirs", "--acl", "public-read"),
                 ("put-bucket-acl", "--bucket", bucket, "--acl", "public-read"),
                 ("put-object", "--bucket", bucket, "--key", "pub", "--body", cli.file(b"x"), "--acl", "public-read")):
        assert cli.fails(*args).code == "AccessControlListNotSupported", args
    failure = cli.fails("create-bucket", "--bucket", _bucket(), "--acl", "public-read",
                        "--object-ownership", "BucketOwnerEnforced")
    assert failure.code == "InvalidBucketAclWithObjectOwnership"
    # boto 2 (SigV2) setting a canned ACL on an object of that bucket.
    conn = boto2_connection(cli.server, cli.keys)
    refused = failure_of(lambda: conn.get_bucket(bucket, validate=False).get_key("theirs", validate=False)
                         .set_acl("public-read"))
    assert (refused.code, refused.status) == ("AccessControlListNotSupported", 400)


def test_awscli_bucket_owner_preferred_takes_full_control_objects(cli: Cli, other: Cli) -> None:
    bucket = cli.bucket("--object-ownership", "BucketOwnerPreferred")
    _let_write(cli, bucket, other)
    other.put(bucket, "given", b"x", "--acl", "bucket-owner-full-control")
    other.put(bucket, "kept", b"x")
    owners = {o["Key"]: o["Owner"]["ID"] for o in cli("list-objects-v2", "--bucket", bucket,
                                                     "--fetch-owner")["Contents"]}
    assert owners == {"given": cli.id, "kept": other.id}


def test_awscli_governance_retention_moves_only_with_the_bypass(cli: Cli) -> None:
    bucket = cli.bucket("--object-lock-enabled-for-bucket")
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * DAY))
    sooner = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2 * DAY))
    made = cli.put(bucket, "k", b"locked", "--object-lock-mode", "GOVERNANCE",
                   "--object-lock-retain-until-date", later)
    retention = cli("get-object-retention", "--bucket", bucket, "--key", "k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE" and retention["RetainUntilDate"].startswith(later[:19])
    shorter = ["put-object-retention", "--bucket", bucket, "--key", "k", "--retention",
               json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": sooner})]
    assert cli.fails(*shorter).code == "AccessDenied"
    cli(*shorter, "--bypass-governance-retention")
    assert cli("get-object-retention", "--bucket", bucket, "--key", "k")["Retention"]["RetainUntilDate"] \
        .startswith(sooner[:19])
    delete = ["delete-object", "--bucket", bucket, "--key", "k", "--version-id", made["VersionId"]]
    assert cli.fails(*delete).code == "AccessDenied"
    assert cli(*delete, "--bypass-governance-retention")["VersionId"] == made["VersionId"]
    assert "Versions" not in cli("list-object-versions", "--bucket", bucket)


# -- listings ----------------------------------------------------------------------------------------------------

ODD = "sp ace+plusé&<x>"
QUOTED = "sp+ace%2Bplus%C3%A9%26%3Cx%3E"


def test_awscli_list_object_versions_refusals(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "k", b"x")
    alone = cli.fails("list-object-versions", "--bucket", bucket, "--version-id-marker", "null")
    assert alone.code == "InvalidArgument" and "without a key marker" in alone.message
    assert cli.fails("list-object-versions", "--bucket", bucket, "--key-marker", "k",
                     "--version-id-marker", "nosuchid").code == "InvalidArgument"
    assert cli.fails("list-object-versions", "--bucket", bucket, "--encoding-type", "base64").code == \
        "InvalidArgument"


def test_encoding_type_url_through_awscli_and_boto2(cli: Cli) -> None:
    bucket = cli.bucket()
    for key in (ODD + "/1", ODD + "/2", "z z"):
        cli.put(bucket, key, b"x")
    # awscli asks for url itself on v2 and versions (botocore decodes what it asked for).
    v2 = cli("list-objects-v2", "--bucket", bucket, "--start-after", ODD + "/1")
    assert [o["Key"] for o in v2["Contents"]] == [ODD + "/2", "z z"]
    versions = cli("list-object-versions", "--bucket", bucket, "--key-marker", ODD + "/1")
    assert [v["Key"] for v in versions["Versions"]] == [ODD + "/2", "z z"]
    # Asked for by the caller, the encoding is the caller's to undo: awscli shows what the server sent.
    v1 = cli("list-objects", "--bucket", bucket, "--encoding-type", "url", "--delimiter", "/", "--no-paginate")
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == [QUOTED + "/"]
    assert [o["Key"] for o in v1["Contents"]] == ["z+z"]
    conn = boto2_connection(cli.server, cli.keys)
    listed = conn.get_bucket(bucket, validate=False).list(encoding_type="url")
    assert [k.name for k in listed] == [QUOTED + "/1", QUOTED + "/2", "z+z"]
    listed = conn.get_bucket(bucket, validate=False).list_versions(key_marker=ODD + "/1", encoding_type="url")
    assert [k.name for k in listed][:1] == [QUOTED + "/2"]


# -- ACL grantees, canned ACLs for the bucket owner, deletes, anonymous calls ------------------------------------

def test_awscli_grants_to_unknown_emails_and_ids(cli: Cli, other: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "k", b"x")
    failure = cli.fails("put-bucket-acl", "--bucket", bucket, "--grant-read", 'emailAddress="nobody@nowhere.invalid"')
    assert failure.code == "UnresolvableGrantByEmailAddress"
    failure = cli.fails("put-object-acl", "--bucket", bucket, "--key", "k", "--grant-read", f'id="{"0" * 64}"')
    assert failure.code == "InvalidArgument" and "Invalid id" in failure.message
    failure = cli.fails("put-object", "--bucket", bucket, "--key", "new", "--body", cli.file(b"x"),
                        "--grant-read", 'emailAddress="nobody@nowhere.invalid"')
    assert failure.code == "UnresolvableGrantByEmailAddress" and cli.keys_in(bucket) == ["k"]
    assert [g["Grantee"]["ID"] for g in cli("get-object-acl", "--bucket", bucket, "--key", "k")["Grants"]] == [cli.id]
    cli("put-object-acl", "--bucket", bucket, "--key", "k", "--grant-read",
        f'emailAddress="{other.keys.account}@example.com"')
    assert other.get(bucket, "k")[1] == b"x"
    cli("put-object-acl", "--bucket", bucket, "--key", "k", "--grant-full-control", f'id="{cli.id}"',
        "--grant-read", f'id="{other.id}"')
    assert {(g["Grantee"]["ID"], g["Permission"]) for g in cli("get-object-acl", "--bucket", bucket,
                                                               "--key", "k")["Grants"]} == \
        {(cli.id, "FULL_CONTROL"), (other.id, "READ")}


def test_awscli_grants_in_the_unquoted_form_of_its_examples(cli: Cli, other: Cli) -> None:
    """`--grant-read id=...` / `uri=...` / `emailaddress=...` as awscli's own examples write them."""
    bucket = cli.bucket()
    cli.put(bucket, "k", b"x")
    cli("put-object-acl", "--bucket", bucket, "--key", "k", "--grant-full-control", f"id={cli.id}",
        "--grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers")
    assert {(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"]) for g in cli(
        "get-object-acl", "--bucket", bucket, "--key", "k")["Grants"]} == {
        (cli.id, "FULL_CONTROL"), ("http://acs.amazonaws.com/groups/global/AllUsers", "READ")}
    cli("put-bucket-acl", "--bucket", bucket, "--grant-full-control", f"id={cli.id}",
        "--grant-read", f"emailaddress={other.keys.account}@example.com")
    assert {(g["Grantee"]["Type"], g["Grantee"].get("ID"), g["Permission"]) for g in cli(
        "get-bucket-acl", "--bucket", bucket)["Grants"]} == {
        ("CanonicalUser", cli.id, "FULL_CONTROL"), ("CanonicalUser", other.id, "READ")}  # the email's account
    assert [o["Key"] for o in other("list-objects-v2", "--bucket", bucket)["Contents"]] == ["k"]  # READ: list
    assert cli.fails("put-bucket-acl", "--bucket", bucket, "--grant-read",
                     "emailaddress=nobody@nowhere.invalid").code == "UnresolvableGrantByEmailAddress"


def test_awscli_bucket_owner_canned_acls_on_objects(cli: Cli, other: Cli) -> None:
    bucket = cli.bucket()
    cli("put-bucket-acl", "--bucket", bucket, "--grant-write", f'id="{other.id}"',
        "--grant-full-control", f'id="{cli.id}"')
    other.put(bucket, "full", b"f", "--acl", "bucket-owner-full-control")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in other("get-object-acl", "--bucket", bucket,
                                                                   "--key", "full")["Grants"]}
    assert grants == {(other.id, "FULL_CONTROL"), (cli.id, "FULL_CONTROL")}
    assert cli("get-object-acl", "--bucket", bucket, "--key", "full")["Owner"]["ID"] == other.id
    other.put(bucket, "read", b"r", "--acl", "bucket-owner-read")
    grants = {(g["Grantee"]["ID"], g["Permission"]) for g in other("get-object-acl", "--bucket", bucket,
                                                                   "--key", "read")["Grants"]}
    assert grants == {(other.id, "FULL_CONTROL"), (cli.id, "READ")}
    assert cli.get(bucket, "read")[1] == b"r"
    assert cli.fails("get-object-acl", "--bucket", bucket, "--key", "read").code == "AccessDenied"
    other.put(bucket, "private", b"p")
    assert cli.fails("get-object", "--bucket", bucket, "--key", "private", os.devnull).code == "AccessDenied"


def test_awscli_delete_on_an_unversioned_bucket_makes_no_marker(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "k", b"x")
    for key in ("k", "never-there"):
        assert cli("delete-object", "--bucket", bucket, "--key", key) == {}  # no DeleteMarker, no VersionId
    many = cli("delete-objects", "--bucket", bucket, "--delete", json.dumps({"Objects": [{"Key": "a"}, {"Key": "b"}]}))
    assert many["Deleted"] == [{"Key": "a"}, {"Key": "b"}]
    assert cli("list-object-versions", "--bucket", bucket).get("DeleteMarkers") is None
    assert cli.keys_in(bucket) == []


def test_awscli_unsigned_requests_are_anonymous(cli: Cli) -> None:
    bucket = cli.bucket()
    cli.put(bucket, "private", b"p")
    cli.put(bucket, "public", b"open", "--acl", "public-read")
    assert cli.fails("get-object", "--no-sign-request", "--bucket", bucket, "--key", "private",
                     os.devnull).code == "AccessDenied"
    assert cli.fails("list-objects-v2", "--no-sign-request", "--bucket", bucket).code == "AccessDenied"
    assert cli.get(bucket, "public", "--no-sign-request")[1] == b"open"


# -- browser uploads: a boto 2 form --------------------------------------------------------------------------

def _boto2_form(cli: Cli, bucket: str, key: str, **kwargs: Any) -> tuple[str, dict]:
    conn = boto2_post_connection(cli.server, cli.keys)
    args = conn.build_post_form_args(bucket, key, expires_in=600, **kwargs)
    return args["action"] + bucket, {f["name"]: f["value"] for f in args["fields"]}


def test_boto2_form_redirect_starts_with_and_length_range(cli: Cli) -> None:
    bucket = cli.bucket()
    target = "https://example.com/done"
    action, fields = _boto2_form(cli, bucket, "up/${filename}", success_action_redirect=target,
                                 max_content_length=64)
    posted = requests.post(action, data=fields, files={"file": ("a.txt", b"redirected")}, allow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = urlsplit(posted.headers["Location"])
    etag = cli("head-object", "--bucket", bucket, "--key", "up/a.txt")["ETag"]
    assert (location.netloc, location.path) == ("example.com", "/done")
    assert parse_qs(location.query) == {"bucket": [bucket], "key": ["up/a.txt"], "etag": [etag]}
    too_big = requests.post(action, data=fields, files={"file": ("b.txt", b"B" * 65)}, allow_redirects=False)
    assert too_big.status_code == 400 and b"<Code>EntityTooLarge</Code>" in too_big.content
    elsewhere = dict(fields, key="other/c.txt")  # the policy's starts-with "up/" refuses it
    refused = requests.post(action, data=elsewhere, files={"file": ("c.txt", b"c")}, allow_redirects=False)
    assert refused.status_code == 403 and b"<Code>AccessDenied</Code>" in refused.content
    assert cli.keys_in(bucket) == ["up/a.txt"]
