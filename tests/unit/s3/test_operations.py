"""S3 operations on a real store (SQLite) and blob store: buckets, objects, conditions, copy, versioning,
multipart, ACLs and policies."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from ec2soap.s3.errors import S3Error
from ec2soap.s3.operations import S3Operations
from ec2soap.s3.rules import Limits, http_date
from tests.unit.s3.conftest import ALICE, BOB, get, put, read, upload_part


def code_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(S3Error) as caught:
        fn(*args, **kwargs)
    return caught.value.code


def blob_files(ops: S3Operations) -> set[str]:
    return set(ops.objects.blob_ids())


# -- buckets --------------------------------------------------------------------------------------------------

def test_bucket_lifecycle(ops: S3Operations) -> None:
    bucket = ops.create_bucket(ALICE, "photos", location="eu-west-1")
    assert bucket.owner == ALICE
    assert code_of(ops.create_bucket, ALICE, "photos") == "BucketAlreadyOwnedByYou"
    assert code_of(ops.create_bucket, BOB, "photos") == "BucketAlreadyExists"
    assert code_of(ops.create_bucket, None, "anon") == "AccessDenied"
    assert ops.get_bucket_location(ALICE, "photos") == "eu-west-1"
    assert [b.name for b in ops.list_buckets(ALICE)] == ["photos"] and ops.list_buckets(BOB) == []
    put(ops, ALICE, "photos", "a", b"1")
    assert code_of(ops.delete_bucket, ALICE, "photos") == "BucketNotEmpty"
    assert code_of(ops.delete_bucket, BOB, "photos") == "AccessDenied"
    ops.delete_object(ALICE, "photos", "a")
    upload = ops.create_multipart_upload(ALICE, "photos", "big", {})
    upload_part(ops, ALICE, "photos", "big", upload.upload_id, 1, b"part")
    ops.delete_bucket(ALICE, "photos")
    assert code_of(ops.head_bucket, ALICE, "photos") == "NoSuchBucket"
    assert blob_files(ops) == set()


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper", "under_score", "-dash", "dash-", "a..b", "a.-b",
                                  "192.168.1.1", "xn--abc", "bucket-s3alias"])
def test_invalid_bucket_names(ops: S3Operations, name: str) -> None:
    assert code_of(ops.create_bucket, ALICE, name) == "InvalidBucketName"


def test_bucket_configuration(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "conf")
    assert ops.get_bucket_location(ALICE, "conf") is None
    assert ops.get_bucket_versioning(ALICE, "conf") is None
    ops.put_bucket_versioning(ALICE, "conf", "Enabled")
    assert ops.get_bucket_versioning(ALICE, "conf") == "Enabled"
    assert code_of(ops.put_bucket_versioning, ALICE, "conf", "Off") == "MalformedXML"
    assert code_of(ops.get_bucket_policy, ALICE, "conf") == "NoSuchBucketPolicy"
    assert code_of(ops.put_bucket_policy, ALICE, "conf", "{not json") == "MalformedPolicy"
    assert code_of(ops.get_bucket_cors, ALICE, "conf") == "NoSuchCORSConfiguration"
    rules = [{"allowed_origins": ["https://*.example.com"], "allowed_methods": ["GET", "PUT"],
              "allowed_headers": ["*"], "max_age_seconds": 300}]
    ops.put_bucket_cors(ALICE, "conf", rules)
    assert ops.get_bucket_cors(ALICE, "conf") == rules
    assert ops.cors_rule("conf", "https://www.example.com", "PUT", ["content-type"]) == rules[0]
    assert ops.cors_rule("conf", "https://evil.test", "GET") is None
    assert code_of(ops.put_bucket_cors, ALICE, "conf", [{"allowed_origins": ["*"], "allowed_methods": ["PATCH"]}]) \
        == "InvalidRequest"
    ops.delete_bucket_cors(ALICE, "conf")
    assert code_of(ops.get_bucket_cors, ALICE, "conf") == "NoSuchCORSConfiguration"
    assert code_of(ops.get_bucket_versioning, BOB, "conf") == "AccessDenied"


# -- objects --------------------------------------------------------------------------------------------------

def test_put_get_head_keep_headers_and_metadata(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "bkt")
    data = b"some bytes " * 100
    headers = {"content-type": "text/plain", "content-disposition": "attachment; filename=x.txt",
               "cache-control": "max-age=60", "x-amz-meta-color": "blue", "x-amz-meta-Shape": "round",
               "content-md5": base64.b64encode(hashlib.md5(data).digest()).decode()}
    version = put(ops, ALICE, "bkt", "dir/file.txt", data, headers)
    assert version.etag == hashlib.md5(data).hexdigest() and version.version_id == "null"
    result = ops.get_object(ALICE, "bkt", "dir/file.txt")
    assert read(result) == data and result.status == 200
    assert result.headers["Content-Type"] == "text/plain"
    assert result.headers["Content-Disposition"] == "attachment; filename=x.txt"
    assert result.headers["Cache-Control"] == "max-age=60"
    assert result.headers["x-amz-meta-color"] == "blue" and result.headers["x-amz-meta-Shape"] == "round"
    assert result.headers["ETag"] == f'"{version.etag}"' and "x-amz-version-id" not in result.headers
    head = ops.get_object(ALICE, "bkt", "dir/file.txt", head=True)
    assert head.body is None and head.length == len(data)
    assert code_of(ops.get_object, ALICE, "bkt", "missing") == "NoSuchKey"
    assert code_of(ops.get_object, BOB, "bkt", "missing") == "AccessDenied"  # no ListBucket: no 404 leak
    assert code_of(ops.get_object, BOB, "bkt", "dir/file.txt") == "AccessDenied"
    assert code_of(ops.get_object, ALICE, "nobucket", "x") == "NoSuchBucket"


def test_put_without_content_type_gets_s3s_default(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "bkt")
    put(ops, ALICE, "bkt", "k", b"x")
    assert ops.get_object(ALICE, "bkt", "k", head=True).headers["Content-Type"] == "binary/octet-stream"


@pytest.mark.parametrize("headers,code", [
    ({"content-md5": base64.b64encode(hashlib.md5(b"other").digest()).decode()}, "BadDigest"),
    ({"content-md5": "not-base64!"}, "InvalidDigest"),
    ({"content-md5": base64.b64encode(b"short").decode()}, "InvalidDigest"),
    ({"content-length": "100"}, "IncompleteBody"),
    ({"x-amz-content-sha256": "0" * 64}, "XAmzContentSHA256Mismatch"),
    ({"x-amz-checksum-crc32": "AAAAAA=="}, "BadDigest"),
    ({"x-amz-meta-big": "v" * 2048}, "MetadataTooLarge"),
])
def test_rejected_puts_leave_the_old_object_and_no_files(ops: S3Operations, headers: dict, code: str) -> None:
    ops.create_bucket(ALICE, "bkt")
    put(ops, ALICE, "bkt", "k", b"old")
    before = blob_files(ops)
    assert code_of(put, ops, ALICE, "bkt", "k", b"new data", headers) == code
    assert get(ops, ALICE, "bkt", "k") == b"old"
    assert blob_files(ops) == before
    assert list(ops.objects.tmp_dir.iterdir()) == []


def test_abort_mid_write_leaves_the_old_object(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "bkt")
    put(ops, ALICE, "bkt", "k", b"old")
    body = ops.receive({"content-length": "1000"})
    body.write(b"half of it")
    body.abort()  # the client went away
    assert get(ops, ALICE, "bkt", "k") == b"old"
    assert list(ops.objects.tmp_dir.iterdir()) == [] and len(blob_files(ops)) == 1


def test_limits(ops: S3Operations, store: Any) -> None:
    ops.create_bucket(ALICE, "bkt")
    assert code_of(put, ops, ALICE, "bkt", "k" * 1025, b"x") == "KeyTooLongError"
    assert code_of(put, ops, ALICE, "bkt", "é" * 513, b"x") == "KeyTooLongError"  # bytes, not characters
    put(ops, ALICE, "bkt", "k" * 1024, b"x")
    assert code_of(ops.receive, {"content-length": str(5 * 1024 ** 3 + 1)}) == "EntityTooLarge"
    tiny = S3Operations(store, ops.objects, limits=Limits(max_object_size=10))
    body = tiny.receive({})
    assert code_of(body.write, b"x" * 11) == "EntityTooLarge"
    assert code_of(ops.check_put, ALICE, "bkt", "k", {}) == "MissingContentLength"
    assert code_of(ops.check_put, BOB, "bkt", "k", {"content-length": "1"}) == "AccessDenied"
    assert blob_files(ops) == {v.blob_id for v in ops.list_objects(ALICE, "bkt").contents}


def test_keys_are_exact_bytes_never_paths(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "bkt")
    keys = ["../../etc/passwd", "A", "a", "a ", "dir/", "emoji 😀", "x\ty"]
    for i, key in enumerate(keys):
        put(ops, ALICE, "bkt", key, str(i).encode())
    for i, key in enumerate(keys):
        assert get(ops, ALICE, "bkt", key) == str(i).encode()
    listed = [v.key for v in ops.list_objects(ALICE, "bkt").contents]
    assert listed == sorted(keys, key=lambda k: k.encode())
    for path in ops.objects.root.rglob("*"):
        assert "passwd" not in str(path) and "emoji" not in str(path)


# -- ranges and conditions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header,expected", [
    ("bytes=0-3", (0, 3)), ("bytes=5-", (5, 9)), ("bytes=-3", (7, 9)), ("bytes=8-100", (8, 9)),
    ("bytes=-100", (0, 9)), ("bytes=3-1", None), ("bytes=0-1,4-5", None), ("items=0-1", None), ("bytes=-", None),
])
def test_ranges(ops: S3Operations, header: str, expected: Any) -> None:
    ops.create_bucket(ALICE, "bkt")
    put(ops, ALICE, "bkt", "k", b"0123456789")
    result = ops.get_object(ALICE, "bkt", "k", headers={"range": header})
    assert result.range == expected
    start, end = expected or (0, 9)
    assert read(result) == b"0123456789"[start:end + 1]
    assert result.status == (206 if expected else 200)


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0"])
def test_unsatisfiable_ranges(ops: S3Operations, header: str) -> None:
    ops.create_bucket(ALICE, "bkt")
    put(ops, ALICE, "bkt", "k", b"0123456789")
    with pytest.raises(S3Error) as caught:
        ops.get_object(ALICE, "bkt", "k", headers={"range": header})
    assert caught.value.code == "InvalidRange" and caught.value.status == 416


def test_conditional_get_precedence(ops: S3Operations) -> None:
    clock = [1_700_000_000.0]
    ops.clock = lambda: clock[0]
    ops.create_bucket(ALICE, "bkt")
    etag = put(ops, ALICE, "bkt", "k", b"data").etag
    clock[0] += 1000
    before, at, after = http_date(1_700_000_000 - 60), http_date(1_700_000_000), http_date(1_700_000_500)

    def status(**headers: str) -> int:
        try:
            result = ops.get_object(ALICE, "bkt", "k", headers={k.replace("_", "-"): v for k, v in headers.items()},
                                    head=True)
            return result.status
        except S3Error as error:
            assert error.code in ("NotModified", "PreconditionFailed")
            return error.status

    assert status(if_match=f'"{etag}"') == 200
    assert status(if_match='"other"') == 412
    assert status(if_match="*") == 200
    assert status(if_none_match=f'"{etag}"') == 304
    assert status(if_none_match='"other", "more"') == 200
    assert status(if_modified_since=at) == 304
    assert status(if_modified_since=before) == 200
    assert status(if_modified_since=http_date(clock[0] + 3600)) == 200  # future dates are ignored
    assert status(if_modified_since="not a date") == 200
    assert status(if_unmodified_since=before) == 412
    assert status(if_unmodified_since=after) == 200
    # If-Match true hides a failing If-Unmodified-Since; If-None-Match false (matching) → 304 regardless.
    assert status(if_match=f'"{etag}"', if_unmodified_since=before) == 200
    assert status(if_none_match=f'"{etag}"', if_modified_since=before) == 304
    assert status(if_none_match='"other"', if_modified_since=at) == 200
    assert status(if_match='"other"', if_none_match=f'"{etag}"') == 412
    with pytest.raises(S3Error) as caught:
        ops.get_object(ALICE, "bkt", "k", headers={"if-none-match": f'"{etag}"'})
    assert caught.value.headers["ETag"] == f'"{etag}"' and not caught.value.has_body


# -- copy -----------------------------------------------------------------------------------------------------

def test_copy_with_metadata_directive_and_conditions(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "src")
    ops.create_bucket(ALICE, "dst")
    source = put(ops, ALICE, "src", "k", b"payload", {"content-type": "text/a", "x-amz-meta-a": "1"})
    copied, _ = ops.copy_object(ALICE, "dst", "copy", "src", "k", None, {})
    assert copied.etag == source.etag and copied.content_type == "text/a" and copied.user_meta == {"a": "1"}
    assert get(ops, ALICE, "dst", "copy") == b"payload"
    replaced, _ = ops.copy_object(ALICE, "dst", "copy2", "src", "k", None,
                                  {"x-amz-metadata-directive": "REPLACE", "content-type": "text/b",
                                   "x-amz-meta-b": "2"})
    assert replaced.content_type == "text/b" and replaced.user_meta == {"b": "2"}
    assert code_of(ops.copy_object, ALICE, "src", "k", "src", "k", None, {}) == "InvalidRequest"
    ops.copy_object(ALICE, "src", "k", "src", "k", None, {"x-amz-metadata-directive": "REPLACE"})
    assert code_of(ops.copy_object, ALICE, "dst", "c", "src", "k", None,
                   {"x-amz-metadata-directive": "MOVE"}) == "InvalidArgument"
    assert code_of(ops.copy_object, ALICE, "dst", "c", "src", "k", None,
                   {"x-amz-copy-source-if-match": '"nope"'}) == "PreconditionFailed"
    assert code_of(ops.copy_object, ALICE, "dst", "c", "src", "k", None,
                   {"x-amz-copy-source-if-none-match": f'"{source.etag}"'}) == "PreconditionFailed"
    assert code_of(ops.copy_object, ALICE, "dst", "c", "src", "missing", None, {}) == "NoSuchKey"
    assert code_of(ops.copy_object, BOB, "dst", "c", "src", "k", None, {}) == "AccessDenied"
    referenced = {v.blob_id for b in ("src", "dst") for v in ops.list_objects(ALICE, b).contents}
    assert blob_files(ops) == referenced


# -- versioning -----------------------------------------------------------------------------------------------

def test_versioning_delete_markers_and_versions(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "ver")
    put(ops, ALICE, "ver", "k", b"null version")
    ops.put_bucket_versioning(ALICE, "ver", "Enabled")
    v1 = put(ops, ALICE, "ver", "k", b"one")
    v2 = put(ops, ALICE, "ver", "k", b"two")
    assert v1.version_id != v2.version_id != "null"
    assert get(ops, ALICE, "ver", "k") == b"two"
    assert get(ops, ALICE, "ver", "k", version_id=v1.version_id) == b"one"
    assert get(ops, ALICE, "ver", "k", version_id="null") == b"null version"
    deleted = ops.delete_object(ALICE, "ver", "k")
    assert deleted.delete_marker and deleted.version_id
    with pytest.raises(S3Error) as caught:
        ops.get_object(ALICE, "ver", "k")
    assert caught.value.code == "NoSuchKey" and caught.value.headers["x-amz-delete-marker"] == "true"
    assert code_of(ops.get_object, ALICE, "ver", "k", version_id=deleted.version_id) == "MethodNotAllowed"
    assert ops.list_objects(ALICE, "ver").contents == []
    listed = ops.list_object_versions(ALICE, "ver")
    assert [(x.version_id, x.delete_marker, x.is_latest) for x in listed.versions] == [
        (deleted.version_id, True, True), (v2.version_id, False, False), (v1.version_id, False, False),
        ("null", False, False)]
    ops.delete_object(ALICE, "ver", "k", deleted.version_id)  # removing the marker brings v2 back
    assert get(ops, ALICE, "ver", "k") == b"two"
    ops.delete_object(ALICE, "ver", "k", v2.version_id)
    assert get(ops, ALICE, "ver", "k") == b"one"
    ops.put_bucket_versioning(ALICE, "ver", "Suspended")
    put(ops, ALICE, "ver", "k", b"replaces the null version")
    versions = ops.list_object_versions(ALICE, "ver").versions
    assert [x.version_id for x in versions] == ["null", v1.version_id]
    assert get(ops, ALICE, "ver", "k", version_id="null") == b"replaces the null version"
    assert code_of(ops.get_object, ALICE, "ver", "k", version_id="nope") == "NoSuchVersion"
    assert len(blob_files(ops)) == 2


def test_list_object_versions_pages(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "ver")
    ops.put_bucket_versioning(ALICE, "ver", "Enabled")
    expected = []
    for key in ("a", "b", "c"):
        ids = [put(ops, ALICE, "ver", key, b"x").version_id for _ in range(3)]
        expected += [(key, vid) for vid in reversed(ids)]
    seen, key_marker, vid_marker = [], None, None
    while True:
        page = ops.list_object_versions(ALICE, "ver", key_marker=key_marker, version_id_marker=vid_marker,
                                        max_keys="2")
        seen += [(x.key, x.version_id) for x in page.versions]
        if not page.is_truncated:
            break
        key_marker, vid_marker = page.next_key_marker, page.next_version_id_marker
    assert seen == expected
    assert code_of(ops.list_object_versions, ALICE, "ver", version_id_marker="x") == "InvalidArgument"


# -- listing --------------------------------------------------------------------------------------------------

KEYS = ["a", "photos/2023/jan.jpg", "photos/2023/feb.jpg", "photos/2024/mar.jpg", "photos/top.jpg",
        "photos/", "videos/x.mp4", "z/a", "z/b"]


@pytest.fixture
def listing(ops: S3Operations) -> S3Operations:
    ops.create_bucket(ALICE, "lst")
    for key in KEYS:
        put(ops, ALICE, "lst", key, b"x")
    return ops


def pages_v1(ops: S3Operations, **kwargs: Any) -> list[tuple[list[str], list[str]]]:
    pages, marker = [], None
    while True:
        result = ops.list_objects(ALICE, "lst", marker=marker, **kwargs)
        pages.append(([v.key for v in result.contents], result.common_prefixes))
        if not result.is_truncated:
            return pages
        marker = result.next_marker


def pages_v2(ops: S3Operations, **kwargs: Any) -> list[tuple[list[str], list[str]]]:
    pages, token = [], None
    while True:
        result = ops.list_objects_v2(ALICE, "lst", continuation_token=token, **kwargs)
        assert result.key_count == len(result.contents) + len(result.common_prefixes)
        pages.append(([v.key for v in result.contents], result.common_prefixes))
        if not result.is_truncated:
            return pages
        token = result.next_continuation_token


def test_list_with_delimiter_and_prefix(listing: S3Operations) -> None:
    result = listing.list_objects(ALICE, "lst", delimiter="/")
    assert [v.key for v in result.contents] == ["a"]
    assert result.common_prefixes == ["photos/", "videos/", "z/"]
    result = listing.list_objects_v2(ALICE, "lst", prefix="photos/", delimiter="/")
    assert [v.key for v in result.contents] == ["photos/", "photos/top.jpg"]
    assert result.common_prefixes == ["photos/2023/", "photos/2024/"]
    result = listing.list_objects(ALICE, "lst", prefix="photos/2023/")
    assert [v.key for v in result.contents] == ["photos/2023/feb.jpg", "photos/2023/jan.jpg"]
    assert listing.list_objects(ALICE, "lst", prefix="nothing").contents == []


@pytest.mark.parametrize("pager", [pages_v1, pages_v2])
@pytest.mark.parametrize("max_keys", ["1", "2", "3", "1000"])
def test_pagination_visits_everything_once(listing: S3Operations, pager: Any, max_keys: str) -> None:
    pages = pager(listing, delimiter="/", max_keys=max_keys)
    assert all(len(keys) + len(prefixes) <= int(max_keys) for keys, prefixes in pages)
    assert [k for keys, _ in pages for k in keys] == ["a"]
    assert [p for _, prefixes in pages for p in prefixes] == ["photos/", "videos/", "z/"]
    flat = pager(listing, max_keys=max_keys)
    assert [k for keys, _ in flat for k in keys] == sorted(KEYS)


def test_start_after_marker_and_max_keys_edge_cases(listing: S3Operations) -> None:
    result = listing.list_objects_v2(ALICE, "lst", start_after="photos/2024/mar.jpg")
    assert [v.key for v in result.contents][0] == "photos/top.jpg"
    result = listing.list_objects(ALICE, "lst", marker="photos/", delimiter="/")
    assert result.common_prefixes == ["videos/", "z/"]  # a marker that is a prefix skips it whole
    result = listing.list_objects(ALICE, "lst", max_keys="0")
    assert result.contents == [] and not result.is_truncated
    assert code_of(listing.list_objects, ALICE, "lst", max_keys="-1") == "InvalidArgument"
    assert code_of(listing.list_objects, ALICE, "lst", max_keys="many") == "InvalidArgument"
    assert listing.list_objects(ALICE, "lst", max_keys="5000").max_keys == 1000
    assert code_of(listing.list_objects, ALICE, "lst", encoding_type="base64") == "InvalidArgument"
    assert code_of(listing.list_objects_v2, ALICE, "lst", continuation_token="!!!") == "InvalidArgument"
    assert code_of(listing.list_objects, BOB, "lst") == "AccessDenied"
    assert code_of(listing.list_objects, ALICE, "nope") == "NoSuchBucket"


def test_multi_byte_delimiter_and_prefix_with_high_bytes(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "mbt")
    for key in ["é/1", "é/2", "éa", "f", "\U0010ffff/x", "\U0010ffff"]:
        put(ops, ALICE, "mbt", key, b"x")
    result = ops.list_objects(ALICE, "mbt", delimiter="/")
    assert result.common_prefixes == ["é/", "\U0010ffff/"]
    assert [v.key for v in result.contents] == ["f", "éa", "\U0010ffff"]
    assert [v.key for v in ops.list_objects(ALICE, "mbt", prefix="é").contents] == ["é/1", "é/2", "éa"]
    assert [v.key for v in ops.list_objects(ALICE, "mbt", prefix="\U0010ffff").contents] == [
        "\U0010ffff", "\U0010ffff/x"]


# -- multi-delete ---------------------------------------------------------------------------------------------

def test_delete_objects_reports_each_key(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "del")
    put(ops, ALICE, "del", "a", b"1")
    put(ops, ALICE, "del", "b", b"2")
    outcomes = ops.delete_objects(ALICE, "del", [("a", None), ("b", None), ("never-existed", None),
                                               ("k" * 1025, None)])
    assert [o.error.code if o.error else "ok" for o in outcomes] == ["ok", "ok", "ok", "KeyTooLongError"]
    assert ops.list_objects(ALICE, "del").contents == [] and blob_files(ops) == set()
    denied = ops.delete_objects(BOB, "del", [("a", None)])
    assert denied[0].error.code == "AccessDenied"
    assert code_of(ops.delete_objects, ALICE, "del", [("x", None)] * 1001) == "MalformedXML"


# -- multipart ------------------------------------------------------------------------------------------------

def test_multipart_upload_etag_and_ranged_read(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "mpu")
    upload = ops.create_multipart_upload(ALICE, "mpu", "big", {"content-type": "video/mp4", "x-amz-meta-m": "1"})
    pieces = [bytes([65 + i]) * 2000 for i in range(3)] + [b"tail"]
    parts = [upload_part(ops, ALICE, "mpu", "big", upload.upload_id, i + 1, p) for i, p in enumerate(pieces)]
    replaced = upload_part(ops, ALICE, "mpu", "big", upload.upload_id, 2, b"B" * 1500)  # a part sent again
    pieces[1] = b"B" * 1500
    listed = ops.list_parts(ALICE, "mpu", "big", upload.upload_id, max_parts="2")
    assert [p.part_number for p in listed.parts] == [1, 2] and listed.is_truncated
    assert listed.next_part_number_marker == 2
    assert [u.key for u in ops.list_multipart_uploads(ALICE, "mpu").uploads] == ["big"]
    etags = [parts[0].etag, replaced.etag, parts[2].etag, parts[3].etag]
    version = ops.complete_multipart_upload(ALICE, "mpu", "big", upload.upload_id,
                                            [(i + 1, f'"{e}"') for i, e in enumerate(etags)])
    expected = hashlib.md5(b"".join(bytes.fromhex(e) for e in etags)).hexdigest() + "-4"
    assert version.etag == expected and version.size == sum(map(len, pieces))
    whole = b"".join(pieces)
    assert get(ops, ALICE, "mpu", "big") == whole
    assert get(ops, ALICE, "mpu", "big", headers={"range": "bytes=1990-3600"}) == whole[1990:3601]
    head = ops.get_object(ALICE, "mpu", "big", head=True)
    assert head.headers["Content-Type"] == "video/mp4" and head.headers["x-amz-meta-m"] == "1"
    assert ops.list_multipart_uploads(ALICE, "mpu").uploads == []
    assert code_of(ops.list_parts, ALICE, "mpu", "big", upload.upload_id) == "NoSuchUpload"
    assert blob_files(ops) == set(version.blob_ids)  # the replaced part 2 is gone
    ops.delete_object(ALICE, "mpu", "big")
    assert blob_files(ops) == set()


def test_multipart_validation(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "mpu")
    upload = ops.create_multipart_upload(ALICE, "mpu", "k", {})
    uid = upload.upload_id
    small = upload_part(ops, ALICE, "mpu", "k", uid, 1, b"s" * 10)
    big = upload_part(ops, ALICE, "mpu", "k", uid, 2, b"b" * 2000)
    last = upload_part(ops, ALICE, "mpu", "k", uid, 3, b"t")
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(2, big.etag), (1, small.etag)]) \
        == "InvalidPartOrder"
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(2, big.etag), (2, big.etag)]) \
        == "InvalidPartOrder"
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(2, '"0000"')]) == "InvalidPart"
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(4, big.etag)]) == "InvalidPart"
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(1, small.etag), (3, last.etag)]) \
        == "EntityTooSmall"
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, []) == "MalformedXML"
    for number in (0, 10001, "x"):
        assert code_of(upload_part, ops, ALICE, "mpu", "k", uid, number, b"x") == "InvalidArgument"
    assert code_of(upload_part, ops, ALICE, "mpu", "k", "no-such-upload", 1, b"x") == "NoSuchUpload"
    assert code_of(upload_part, ops, ALICE, "mpu", "other-key", uid, 1, b"x") == "NoSuchUpload"
    assert code_of(upload_part, ops, BOB, "mpu", "k", uid, 1, b"x") == "AccessDenied"
    version = ops.complete_multipart_upload(ALICE, "mpu", "k", uid, [(2, big.etag), (3, last.etag)])
    assert version.size == 2001 and version.etag.endswith("-2")
    assert blob_files(ops) == set(version.blob_ids)  # part 1, left out, is deleted


def test_real_minimum_part_size(store: Any, objects: Any) -> None:
    ops = S3Operations(store, objects)  # S3's own 5 MiB
    ops.create_bucket(ALICE, "mpu")
    uid = ops.create_multipart_upload(ALICE, "mpu", "k", {}).upload_id
    first = upload_part(ops, ALICE, "mpu", "k", uid, 1, b"a" * (5 * 1024 * 1024 - 1))
    second = upload_part(ops, ALICE, "mpu", "k", uid, 2, b"b")
    assert code_of(ops.complete_multipart_upload, ALICE, "mpu", "k", uid, [(1, first.etag), (2, second.etag)]) \
        == "EntityTooSmall"
    first = upload_part(ops, ALICE, "mpu", "k", uid, 1, b"a" * (5 * 1024 * 1024))
    assert ops.complete_multipart_upload(ALICE, "mpu", "k", uid, [(1, first.etag), (2, second.etag)]).size \
        == 5 * 1024 * 1024 + 1


def test_abort_and_upload_part_copy(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "mpu")
    put(ops, ALICE, "mpu", "src", b"0123456789" * 300)
    uid = ops.create_multipart_upload(ALICE, "mpu", "dst", {}).upload_id
    part, _ = ops.upload_part_copy(ALICE, "mpu", "dst", uid, 1, "mpu", "src", None,
                                   {"x-amz-copy-source-range": "bytes=0-1999"})
    tail, _ = ops.upload_part_copy(ALICE, "mpu", "dst", uid, 2, "mpu", "src", None,
                                   {"x-amz-copy-source-range": "bytes=2995-2999"})
    assert part.size == 2000 and tail.size == 5
    for bad in ("bytes=0-3000", "bytes=5-1", "bytes=1-", "0-10"):
        assert code_of(ops.upload_part_copy, ALICE, "mpu", "dst", uid, 3, "mpu", "src", None,
                       {"x-amz-copy-source-range": bad}) == "InvalidArgument"
    ops.complete_multipart_upload(ALICE, "mpu", "dst", uid, [(1, part.etag), (2, tail.etag)])
    assert get(ops, ALICE, "mpu", "dst") == (b"0123456789" * 300)[:2000] + b"56789"
    uid2 = ops.create_multipart_upload(ALICE, "mpu", "gone", {}).upload_id
    upload_part(ops, ALICE, "mpu", "gone", uid2, 1, b"x" * 100)
    ops.abort_multipart_upload(ALICE, "mpu", "gone", uid2)
    assert code_of(ops.abort_multipart_upload, ALICE, "mpu", "gone", uid2) == "NoSuchUpload"
    referenced = {b for v in ops.list_objects(ALICE, "mpu").contents for b in v.blob_ids}
    assert blob_files(ops) == referenced


def test_list_multipart_uploads_pages_and_prefixes(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "mpu")
    made = [(key, ops.create_multipart_upload(ALICE, "mpu", key, {}).upload_id)
            for key in ("a/1", "a/2", "b", "b", "c")]
    seen, km, um = [], None, None
    while True:
        page = ops.list_multipart_uploads(ALICE, "mpu", key_marker=km, upload_id_marker=um, max_uploads="2")
        seen += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        km, um = page.next_key_marker, page.next_upload_id_marker
    assert seen == made
    grouped = ops.list_multipart_uploads(ALICE, "mpu", delimiter="/")
    assert grouped.common_prefixes == ["a/"] and [u.key for u in grouped.uploads] == ["b", "b", "c"]


# -- ACLs and policies ----------------------------------------------------------------------------------------

def test_canned_acls(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "pub", headers={"x-amz-acl": "public-read"})
    put(ops, ALICE, "pub", "open", b"o", {"x-amz-acl": "public-read"})
    put(ops, ALICE, "pub", "closed", b"c")
    put(ops, ALICE, "pub", "authed", b"a", {"x-amz-acl": "authenticated-read"})
    assert [v.key for v in ops.list_objects(None, "pub").contents] == ["authed", "closed", "open"]
    assert get(ops, None, "pub", "open") == b"o"
    assert code_of(ops.get_object, None, "pub", "closed") == "AccessDenied"
    assert code_of(ops.get_object, None, "pub", "authed") == "AccessDenied"
    assert get(ops, BOB, "pub", "authed") == b"a"
    assert code_of(put, ops, BOB, "pub", "x", b"x") == "AccessDenied"
    ops.put_bucket_acl(ALICE, "pub", headers={"x-amz-acl": "public-read-write"})
    put(ops, BOB, "pub", "from-bob", b"b", {"x-amz-acl": "bucket-owner-read"})
    assert get(ops, ALICE, "pub", "from-bob") == b"b"  # bucket-owner-read grants the bucket owner
    assert code_of(ops.put_bucket_acl, BOB, "pub", headers={"x-amz-acl": "private"}) == "AccessDenied"
    assert code_of(ops.put_bucket_acl, ALICE, "pub", headers={"x-amz-acl": "bogus"}) == "InvalidArgument"
    assert code_of(ops.put_bucket_acl, ALICE, "pub", headers={"x-amz-acl": "private",
                                                              "x-amz-grant-read": 'id="x"'}) == "InvalidRequest"


def test_grants_by_header_and_body(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "grt")
    put(ops, ALICE, "grt", "k", b"x", {"x-amz-grant-read": f'id="{BOB}"'})
    assert get(ops, BOB, "grt", "k") == b"x"
    assert code_of(ops.get_object_acl, BOB, "grt", "k") == "AccessDenied"
    acl = ops.get_object_acl(ALICE, "grt", "k")
    assert {"type": "CanonicalUser", "grantee": BOB, "permission": "READ"} in acl["grants"]
    ops.put_object_acl(ALICE, "grt", "k", acl={"owner": ALICE, "grants": [
        {"type": "CanonicalUser", "grantee": BOB, "permission": "FULL_CONTROL"}]})
    assert ops.get_object_acl(BOB, "grt", "k")["grants"][0]["permission"] == "FULL_CONTROL"
    ops.put_bucket_acl(ALICE, "grt", acl={"owner": ALICE, "grants": [
        {"type": "Group", "grantee": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
         "permission": "WRITE"}]})
    put(ops, BOB, "grt", "bob", b"y")
    assert ops.get_bucket_acl(ALICE, "grt")["grants"][0]["permission"] == "WRITE"
    assert code_of(ops.put_bucket_acl, ALICE, "grt", acl={"owner": BOB, "grants": []}) == "AccessDenied"
    mail = S3Operations(ops.store, ops.objects, email_of=lambda key: "bob@example.com" if key == BOB else None)
    put(mail, ALICE, "grt", "m", b"z", {"x-amz-grant-read": 'emailAddress="Bob@Example.com"'})
    assert get(mail, BOB, "grt", "m") == b"z"
    assert code_of(put, ops, ALICE, "grt", "n", b"z", {"x-amz-grant-read": 'uri="http://bad/group"'}) \
        == "InvalidArgument"


def test_bucket_policy_allow_deny_and_conditions(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "pol")
    put(ops, ALICE, "pol", "public/a", b"a")
    put(ops, ALICE, "pol", "private/b", b"b")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{BOB}:root"]}, "Action": "s3:ListBucket",
         "Resource": "arn:aws:s3:::pol", "Condition": {"StringLike": {"s3:prefix": ["public/*", ""]}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::pol/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"]}}},
    ]}
    ops.put_bucket_policy(ALICE, "pol", json.dumps(policy))
    inside, outside = {"aws:SourceIp": "10.1.2.3"}, {"aws:SourceIp": "192.0.2.1"}
    assert get(ops, None, "pol", "public/a", context=inside) == b"a"
    assert code_of(ops.get_object, None, "pol", "public/a", context=outside) == "AccessDenied"
    assert code_of(ops.get_object, ALICE, "pol", "private/b", context=outside) == "AccessDenied"  # Deny wins
    assert get(ops, ALICE, "pol", "private/b", context=inside) == b"b"
    assert code_of(ops.get_object, None, "pol", "private/b", context=inside) == "AccessDenied"
    assert ops.list_objects(BOB, "pol", prefix="public/").contents[0].key == "public/a"
    assert code_of(ops.list_objects, BOB, "pol", prefix="private/") == "AccessDenied"
    assert ops.allowed(None, "s3:GetObject", "pol", "public/a", context=inside)
    assert not ops.allowed(None, "s3:PutObject", "pol", "public/x", context=inside)
    assert not ops.allowed(ALICE, "s3:GetObject", "nope", "x")
    assert json.loads(ops.get_bucket_policy(ALICE, "pol")) == policy
    assert code_of(ops.get_bucket_policy, BOB, "pol") == "AccessDenied"
    ops.delete_bucket_policy(ALICE, "pol")
    assert code_of(ops.get_object, None, "pol", "public/a") == "AccessDenied"


@pytest.mark.parametrize("statement", [
    {"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol/*"},
    {"Effect": "Allow", "Principal": "*", "Action": "ec2:RunInstances", "Resource": "arn:aws:s3:::pol/*"},
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"},
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol/*",
     "Condition": {"StringSounds": {"s3:prefix": "x"}}},
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pol/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "not-an-ip"}}},
])
def test_malformed_policies(ops: S3Operations, statement: dict) -> None:
    ops.create_bucket(ALICE, "pol")
    assert code_of(ops.put_bucket_policy, ALICE, "pol", json.dumps({"Statement": [statement]})) == "MalformedPolicy"


def test_cleanup_after_crash_between_rename_and_commit(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "cln")
    put(ops, ALICE, "cln", "k", b"committed")
    crashed = ops.objects.open_writer()
    crashed.write(b"renamed but never recorded")
    orphan = crashed.commit().blob_id
    leftover = ops.objects.open_writer()
    leftover.write(b"never renamed")
    assert ops.cleanup(min_age=3600) == {"tmp": 0, "orphans": 0}  # too young: maybe another node's
    assert ops.cleanup(min_age=0) == {"tmp": 1, "orphans": 1}
    assert not ops.objects.exists(orphan) and get(ops, ALICE, "cln", "k") == b"committed"
