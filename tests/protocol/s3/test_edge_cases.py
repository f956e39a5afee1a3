"""Issue 13's edge cases where the gateway used to answer differently from S3, through real clients against the
real server: listing parameters and pages (ListObjectVersions markers with the null version, encoding-type=url
on v1, v2 and versions, an empty continuation token, ListBuckets pages), re-creating a bucket in the region
the gateway reports, ACL grants and canned ACLs, x-amz-expected-bucket-owner, authorization edge cases and CORS
on actual requests. boto3 for all, awscli s3api and boto 2 as the second clients. One server per module; each
test has its own users and buckets."""
from __future__ import annotations

import uuid
import warnings
from typing import Any, Callable
from urllib.parse import unquote_plus

import pytest
from lxml import etree

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client, translate
from tests.protocol.s3.s3api_cli import s3api

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _bucket() -> str:
    return "ec" + uuid.uuid4().hex[:12]


def _fails(fn: Callable[[], Any]) -> ClientFailure:
    try:
        fn()
    except ClientFailure as exc:
        return exc
    except Exception as exc:
        return translate(exc)
    raise AssertionError("the call did not fail")


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def s3(gateway_server: GatewayServer, keys: Keys) -> Any:
    return boto3_client(gateway_server, keys)


def _raw(client: Any, operation: str) -> list[Any]:
    """Every answer document of OPERATION the client receives, as parsed XML (before botocore's url-decoding
    of the fields it knows), so what the server encoded is seen as sent."""
    seen: list[Any] = []

    def keep(response_dict: Any, **_: Any) -> None:
        seen.append(etree.fromstring(response_dict["body"]))
    client.meta.events.register(f"before-parse.s3.{operation}", keep)
    return seen


def _text(doc: Any, path: str) -> list[str]:
    return [el.text or "" for el in doc.iterfind("/".join(NS + part for part in path.split("/")))]


# -- 1. listings ------------------------------------------------------------------------------------------------

def test_list_object_versions_pages_through_versions_and_the_null_version(s3: Any, gateway_server: GatewayServer,
                                                                          keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"null-a")           # the null version, before versioning
    s3.put_object(Bucket=bucket, Key="dir/x", Body=b"null-x")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = [s3.put_object(Bucket=bucket, Key="a", Body=b"a%d" % i)["VersionId"] for i in range(2)]
    s3.delete_object(Bucket=bucket, Key="b")                        # a delete marker alone
    s3.put_object(Bucket=bucket, Key="c", Body=b"c")

    everything = s3.list_object_versions(Bucket=bucket)
    expected = [(v["Key"], v["VersionId"]) for v in
                sorted(everything.get("Versions", []) + everything.get("DeleteMarkers", []),
                       key=lambda v: (v["Key"], not v["IsLatest"], -v["LastModified"].timestamp()))]
    assert [vid for key, vid in expected if key == "a"] == [made[1], made[0], "null"]
    assert len(expected) == 6

    # One entry per page, each page continuing from the last one's NextKeyMarker and NextVersionIdMarker,
    # through the null version ("null" is a version-id marker S3 accepts).
    seen, params = [], {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=1, **params)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) == 1 and page["MaxKeys"] == 1
        seen.append((entries[0]["Key"], entries[0]["VersionId"]))
        if not page["IsTruncated"]:
            break
        params = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected)

    after_null = s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="null")
    assert sorted(v["Key"] for v in after_null.get("Versions", []) + after_null.get("DeleteMarkers", [])) \
        == ["b", "c", "dir/x"]
    assert after_null["VersionIdMarker"] == "null" and after_null["KeyMarker"] == "a"

    # Every parameter S3 takes, at once: prefix, delimiter, key-marker, max-keys, encoding-type.
    both = s3.list_object_versions(Bucket=bucket, Prefix="", Delimiter="/", KeyMarker="a", MaxKeys=10,
                                   EncodingType="url")
    assert [p["Prefix"] for p in both["CommonPrefixes"]] == ["dir/"]
    assert sorted(v["Key"] for v in both.get("Versions", []) + both.get("DeleteMarkers", [])) == ["b", "c"]

    # awscli s3api, one page at a time by the same markers.
    cli = s3api(gateway_server, keys, "list-object-versions", "--bucket", bucket, "--key-marker", "a",
                "--version-id-marker", made[1], "--max-keys", "1", "--no-paginate")
    assert [v["VersionId"] for v in cli["Versions"]] == [made[0]]
    assert cli["NextKeyMarker"] == "a" and cli["NextVersionIdMarker"] == made[0] and cli["IsTruncated"] is True


def test_list_object_versions_refusals(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    alone = _fails(lambda: s3.list_object_versions(Bucket=bucket, VersionIdMarker="null"))
    assert (alone.code, alone.status) == ("InvalidArgument", 400)
    assert "without a key marker" in alone.message
    unknown = _fails(lambda: s3.list_object_versions(Bucket=bucket, KeyMarker="k", VersionIdMarker="nosuchid"))
    assert (unknown.code, unknown.status) == ("InvalidArgument", 400)
    bad = _fails(lambda: s3.list_object_versions(Bucket=bucket, EncodingType="base64"))
    assert (bad.code, bad.status) == ("InvalidArgument", 400)


def test_boto2_list_versions_with_markers(gateway_server: GatewayServer, keys: Keys, s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=b"%d" % i)["VersionId"] for i in range(3)]
    conn = boto2_connection(gateway_server, keys)
    page = conn.get_bucket(bucket).get_all_versions(key_marker="k", version_id_marker=ids[2], max_keys=1)
    assert [v.version_id for v in page] == [ids[1]]
    assert page.is_truncated and page.next_key_marker == "k" and page.next_version_id_marker == ids[1]


ODD = "sp ace+plusé&<x>"


def test_encoding_type_url_on_v1_v2_and_versions(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    for key in (ODD + "/1", ODD + "/2", "z z"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    quoted = "sp+ace%2Bplus%C3%A9%26%3Cx%3E"

    v1 = _raw(s3, "ListObjects")
    page = s3.list_objects(Bucket=bucket, Prefix="sp ace", Delimiter="/", Marker="sp a", MaxKeys=1,
                           EncodingType="url")
    # Asked for by the caller, the encoding is the caller's to undo (botocore decodes only what it asked).
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == [quoted + "/"]
    doc = v1[-1]
    assert _text(doc, "Prefix") == ["sp+ace"] and _text(doc, "Marker") == ["sp+a"]
    assert _text(doc, "Delimiter") == ["/"] and _text(doc, "EncodingType") == ["url"]
    assert _text(doc, "CommonPrefixes/Prefix") == [quoted + "/"]

    v2 = _raw(s3, "ListObjectsV2")
    page = s3.list_objects_v2(Bucket=bucket, StartAfter=ODD + "/1")  # botocore asks for url, and decodes
    assert [o["Key"] for o in page["Contents"]] == [ODD + "/2", "z z"] and page["StartAfter"] == ODD + "/1"
    doc = v2[-1]
    assert _text(doc, "StartAfter") == [quoted + "/1"]
    assert _text(doc, "Contents/Key") == [quoted + "/2", "z+z"]

    versions = _raw(s3, "ListObjectVersions")
    page = s3.list_object_versions(Bucket=bucket, KeyMarker=ODD + "/1", MaxKeys=1)
    assert [v["Key"] for v in page["Versions"]] == [ODD + "/2"] and page["NextKeyMarker"] == ODD + "/2"
    doc = versions[-1]
    assert _text(doc, "KeyMarker") == [quoted + "/1"] and _text(doc, "NextKeyMarker") == [quoted + "/2"]
    assert _text(doc, "Version/Key") == [quoted + "/2"]
    assert [unquote_plus(t) for t in _text(doc, "Version/Key")] == [ODD + "/2"]

    for call in (lambda: s3.list_objects(Bucket=bucket, EncodingType="URL"),
                 lambda: s3.list_objects_v2(Bucket=bucket, EncodingType="gzip")):
        bad = _fails(call)
        assert (bad.code, bad.status) == ("InvalidArgument", 400)


def test_empty_continuation_token_is_incorrect(s3: Any, gateway_server: GatewayServer, keys: Keys) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    bad = _fails(lambda: s3.list_objects_v2(Bucket=bucket, ContinuationToken=""))
    assert (bad.code, bad.status) == ("InvalidArgument", 400)
    assert bad.message == "The continuation token provided is incorrect"
    cli = _fails(lambda: s3api(gateway_server, keys, "list-objects-v2", "--bucket", bucket,
                                "--continuation-token", "", "--no-paginate"))
    assert cli.code == "InvalidArgument"


def test_list_buckets_pages_with_max_buckets_prefix_and_region(s3: Any, gateway_server: GatewayServer,
                                                               keys: Keys) -> None:
    stem = _bucket()
    names = [stem + "-%d" % i for i in range(3)]
    for name in names:
        s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket="other" + stem, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    seen, token = [], None
    for _ in range(5):
        page = s3.list_buckets(MaxBuckets=2, **({"ContinuationToken": token} if token else {}))
        assert len(page["Buckets"]) <= 2
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == sorted(names + ["other" + stem])

    only = s3.list_buckets(Prefix=stem)
    assert [b["Name"] for b in only["Buckets"]] == names and only["Prefix"] == stem
    assert {b["BucketRegion"] for b in only["Buckets"]} == {"us-east-1"}
    assert [b["Name"] for b in s3.list_buckets(BucketRegion="eu-west-1")["Buckets"]] == ["other" + stem]
    assert s3.list_buckets(Prefix=stem, MaxBuckets=3).get("ContinuationToken") is None

    # awscli s3api pages by --max-buckets and hands the token back.
    first = s3api(gateway_server, keys, "list-buckets", "--max-buckets", "1", "--prefix", stem, "--no-paginate")
    assert [b["Name"] for b in first["Buckets"]] == names[:1]
    second = s3api(gateway_server, keys, "list-buckets", "--max-buckets", "1", "--prefix", stem,
                   "--continuation-token", first["ContinuationToken"], "--no-paginate")
    assert [b["Name"] for b in second["Buckets"]] == names[1:2]

    unchecked = boto3_client(gateway_server, keys, parameter_validation=False)  # botocore refuses 0 itself
    for bad in (0, 10001, -1):
        failure = _fails(lambda: unchecked.list_buckets(MaxBuckets=bad))
        assert (failure.code, failure.status) == ("InvalidArgument", 400)
    garbled = _fails(lambda: s3.list_buckets(MaxBuckets=1, ContinuationToken="!!!"))
    assert (garbled.code, garbled.status) == ("InvalidArgument", 400)


# -- 5. re-creating a bucket -------------------------------------------------------------------------------------

def test_recreating_your_bucket_in_us_east_1_is_200_and_resets_its_acl(s3: Any, gateway_server: GatewayServer,
                                                                        keys: Keys,
                                                                        new_user: Callable[[], Keys]) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket, ACL="public-read")
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    again = s3.create_bucket(Bucket=bucket)
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # public-read is gone: private again

    # boto 2 (SigV2) sees the same 200.
    conn = boto2_connection(gateway_server, keys)
    assert conn.create_bucket(bucket).name == bucket

    # A bucket outside us-east-1: BucketAlreadyOwnedByYou, 409.
    elsewhere = _bucket()
    s3.create_bucket(Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    owned = _fails(lambda: s3.create_bucket(Bucket=elsewhere,
                                            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}))
    assert (owned.code, owned.status) == ("BucketAlreadyOwnedByYou", 409)

    # Someone else's name: BucketAlreadyExists, 409, in every region.
    other = boto3_client(gateway_server, new_user())
    taken = _fails(lambda: other.create_bucket(Bucket=bucket))
    assert (taken.code, taken.status) == ("BucketAlreadyExists", 409)
    cli = _fails(lambda: s3api(gateway_server, keys, "create-bucket", "--bucket", elsewhere,
                               "--create-bucket-configuration", "LocationConstraint=eu-west-1"))
    assert cli.code == "BucketAlreadyOwnedByYou"
