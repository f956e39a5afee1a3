"""S3 object and bucket tagging through real clients: Put/Get/DeleteObjectTagging (per version), x-amz-tagging
on PutObject, CreateMultipartUpload and CopyObject (x-amz-tagging-directive), x-amz-tagging-count on GET/HEAD,
Put/Get/DeleteBucketTagging, S3's limits and error codes, and tags in bucket-policy conditions. boto3 for all,
awscli s3api (put-object-tagging, get-object-tagging, put-bucket-tagging, ...) and boto 2 (set_tags/get_tags)
as the second clients. One server per module; each test has its own users and buckets."""
from __future__ import annotations

import json
import os
import uuid
import warnings
from typing import Any, Callable

import pytest

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client, failure_of, translate
from tests.protocol.s3.s3api_cli import s3api


def _bucket() -> str:
    return "tg" + uuid.uuid4().hex[:12]


def _tags(pairs: dict) -> dict:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def _as_dict(tag_set: list) -> dict:
    return {tag["Key"]: tag["Value"] for tag in tag_set}


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def s3(gateway_server: GatewayServer, keys: Keys) -> Any:
    return boto3_client(gateway_server, keys)


# -- object tagging (boto3) ------------------------------------------------------------------------------------

def test_put_object_with_tagging_header_then_get_put_delete_tagging(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", Tagging="team=blue&note=two%20words&empty=")
    got = s3.get_object_tagging(Bucket=bucket, Key="k")
    assert _as_dict(got["TagSet"]) == {"team": "blue", "note": "two words", "empty": ""}
    assert "VersionId" not in got  # an unversioned bucket's null version goes unnamed
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 3
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "3"

    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"only": "one", "sym": "a+-=._:/@ b"}))
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"only": "one",
                                                                                 "sym": "a+-=._:/@ b"}
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2

    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")
    assert "x-amz-tagging-count" not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    # A new PUT of the key starts with the tags it sends (none here), not the old version's.
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"a": "1"}))
    s3.put_object(Bucket=bucket, Key="k", Body=b"again")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_tags_are_per_version_and_go_with_the_version(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one", Tagging="v=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two", Tagging="v=2&extra=x")["VersionId"]
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"v": "2", "extra": "x"}
    old = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert (_as_dict(old["TagSet"]), old["VersionId"]) == ({"v": "1"}, v1)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["TagCount"] == 1

    put = s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1, Tagging=_tags({"v": "one"}))
    assert put["VersionId"] == v1
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"]) == {"v": "one"}
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"v": "2", "extra": "x"}
    current = s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"now": "current"}))
    assert current["VersionId"] == v2
    assert s3.delete_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == []
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v2)["TagSet"]) == {"now": "current"}

    # A delete marker has no tag set: NoSuchKey for the key, 405 when named by its version id.
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    failure = failure_of(lambda: s3.get_object_tagging(Bucket=bucket, Key="k"))
    assert (failure.code, failure.status) == ("NoSuchKey", 404)
    failure = failure_of(lambda: s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=marker,
                                                   Tagging=_tags({"a": "b"})))
    assert (failure.code, failure.status) == ("MethodNotAllowed", 405)
    # Deleting a version deletes its tags with it.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    failure = failure_of(lambda: s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v2))
    assert (failure.code, failure.status) == ("NoSuchVersion", 404)
    failure = failure_of(lambda: s3.get_object_tagging(Bucket=bucket, Key="absent"))
    assert (failure.code, failure.status) == ("NoSuchKey", 404)


def test_copy_object_tagging_directive(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", Tagging="from=source&n=1")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=source)  # COPY is the default
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"]) == {"from": "source", "n": "1"}
    # With COPY, x-amz-tagging is ignored (the source's tags are kept), as S3 does.
    s3.copy_object(Bucket=bucket, Key="copy2", CopySource=source, TaggingDirective="COPY", Tagging="x=y")
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="copy2")["TagSet"]) == {"from": "source", "n": "1"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=source, TaggingDirective="REPLACE",
                   Tagging="new=tag")
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"]) == {"new": "tag"}
    s3.copy_object(Bucket=bucket, Key="bare", CopySource=source, TaggingDirective="REPLACE")
    assert s3.get_object_tagging(Bucket=bucket, Key="bare")["TagSet"] == []
    failure = failure_of(lambda: s3.copy_object(Bucket=bucket, Key="bad", CopySource=source,
                                            TaggingDirective="MERGE"))
    assert (failure.code, failure.status) == ("InvalidArgument", 400)
    failure = failure_of(lambda: s3.copy_object(Bucket=bucket, Key="bad", CopySource=source,
                                            TaggingDirective="REPLACE", Tagging="a=1&a=2"))
    assert (failure.code, failure.status) == ("InvalidArgument", 400)
    assert "bad" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_multipart_upload_carries_its_tagging_to_the_object(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="mp=yes&size=small")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x" * 100)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"]) == {"mp": "yes", "size": "small"}
    assert s3.get_object(Bucket=bucket, Key="mp")["TagCount"] == 2
    failure = failure_of(lambda: s3.create_multipart_upload(Bucket=bucket, Key="mp2", Tagging="aws:x=1"))
    assert (failure.code, failure.status) == ("InvalidTag", 400)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_limits_and_error_codes(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", Tagging="keep=me")
    cases = [
        ({f"k{i}": "v" for i in range(11)}, "BadRequest", "Object tags cannot be greater than 10"),
        ({"k" * 129: "v"}, "InvalidTag", "The TagKey you have provided is too long, max 128"),
        ({"k": "v" * 257}, "InvalidTag", "The TagValue you have provided is too long, max 256"),
        ({"aws:reserved": "v"}, "InvalidTag", "Your TagKey cannot be prefixed with aws:"),
        ({"bad<key>": "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
        ({"k": "semi;colon"}, "InvalidTag", "The TagValue you have provided is invalid"),
    ]
    for tags, code, message in cases:
        failure = failure_of(lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags(tags)))
        assert (failure.code, failure.status, failure.message) == (code, 400, message), tags
    ten = {f"k{i}": "v" * 256 for i in range(10)}
    ten["k" * 128] = ten.pop("k0")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags(ten))
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == ten
    failure = failure_of(lambda: s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]}))
    assert (failure.code, failure.message) == ("InvalidTag", "Cannot provide multiple Tags with the same key")

    # x-amz-tagging on PutObject: duplicates and bad encoding are InvalidArgument; the limits as above.
    for header, code in (("a=1&a=2", "InvalidArgument"), ("a=%zz", "InvalidArgument"), ("a=%ff", "InvalidArgument"),
                         ("&".join(f"k{i}=v" for i in range(11)), "BadRequest"), ("aws:k=v", "InvalidTag")):
        failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="refused", Body=b"x", Tagging=header))
        assert (failure.code, failure.status) == (code, 400), header
    assert "refused" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]  # untouched by the refusals


def test_malformed_tagging_xml(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    bodies = [b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",  # no Value
              b"<Tagging><Tag><Key>a</Key><Value>b</Value></Tag></Tagging>",  # no TagSet
              b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value><Other/></Tag></TagSet></Tagging>",
              b"<Tagging><TagSet>", b"not xml"]
    for body in bodies:
        def swap(request: Any, **_: Any) -> None:
            request.data = body
            for name in [h for h in request.headers.keys() if h.lower() == "content-md5"
                         or h.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum-"))]:
                del request.headers[name]
        s3.meta.events.register("before-sign.s3.PutObjectTagging", swap)
        s3.meta.events.register("before-sign.s3.PutBucketTagging", swap)
        try:
            failure = failure_of(lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"a": "b"})))
            assert (failure.code, failure.status) == ("MalformedXML", 400), body
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObjectTagging", swap)
            s3.meta.events.unregister("before-sign.s3.PutBucketTagging", swap)
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


# -- bucket tagging (boto3, awscli, boto 2) --------------------------------------------------------------------

def test_bucket_tagging_boto3(s3: Any) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    failure = failure_of(lambda: s3.get_bucket_tagging(Bucket=bucket))
    assert (failure.code, failure.status) == ("NoSuchTagSet", 404)
    put = s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags({"project": "ec2soap", "cost": "centre 9"}))
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _as_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == {"project": "ec2soap", "cost": "centre 9"}
    fifty = {f"k{i}": f"v{i}" for i in range(50)}
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags(fifty))
    assert _as_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == fifty
    for tags, code in (({f"k{i}": "v" for i in range(51)}, "InvalidTag"), ({"aws:x": "v"}, "InvalidTag"),
                       ({"k" * 129: "v"}, "InvalidTag"), ({"k": "v" * 257}, "InvalidTag")):
        failure = failure_of(lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags(tags)))
        assert (failure.code, failure.status) == (code, 400)
    assert _as_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == fifty
    assert s3.delete_bucket_tagging(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    failure = failure_of(lambda: s3.get_bucket_tagging(Bucket=bucket))
    assert (failure.code, failure.status) == ("NoSuchTagSet", 404)
    failure = failure_of(lambda: s3.get_bucket_tagging(Bucket=_bucket()))
    assert (failure.code, failure.status) == ("NoSuchBucket", 404)


def test_bucket_and_object_tagging_awscli(gateway_server: GatewayServer, keys: Keys) -> None:
    bucket = _bucket()
    s3api(gateway_server, keys, "create-bucket", "--bucket", bucket)
    s3api(gateway_server, keys, "put-bucket-tagging", "--bucket", bucket,
          "--tagging", json.dumps(_tags({"env": "test", "owner": "T"})))
    got = s3api(gateway_server, keys, "get-bucket-tagging", "--bucket", bucket)
    assert _as_dict(got["TagSet"]) == {"env": "test", "owner": "T"}
    s3api(gateway_server, keys, "delete-bucket-tagging", "--bucket", bucket)
    with pytest.raises(ClientFailure) as failure:
        s3api(gateway_server, keys, "get-bucket-tagging", "--bucket", bucket)
    assert failure.value.code == "NoSuchTagSet"

    s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", "obj", "--tagging", "a=1&b=2")
    assert _as_dict(s3api(gateway_server, keys, "get-object-tagging", "--bucket", bucket,
                          "--key", "obj")["TagSet"]) == {"a": "1", "b": "2"}
    s3api(gateway_server, keys, "put-object-tagging", "--bucket", bucket, "--key", "obj",
          "--tagging", json.dumps(_tags({"c": "3"})))
    assert _as_dict(s3api(gateway_server, keys, "get-object-tagging", "--bucket", bucket,
                          "--key", "obj")["TagSet"]) == {"c": "3"}
    assert s3api(gateway_server, keys, "get-object", "--bucket", bucket, "--key", "obj", os.devnull)["TagCount"] == 1
    s3api(gateway_server, keys, "delete-object-tagging", "--bucket", bucket, "--key", "obj")
    assert s3api(gateway_server, keys, "get-object-tagging", "--bucket", bucket, "--key", "obj")["TagSet"] == []
    with pytest.raises(ClientFailure) as failure:
        s3api(gateway_server, keys, "put-object-tagging", "--bucket", bucket, "--key", "obj",
              "--tagging", json.dumps(_tags({f"k{i}": "v" for i in range(11)})))
    assert failure.value.code == "BadRequest"


def test_bucket_tagging_boto2(gateway_server: GatewayServer, keys: Keys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto.s3.tagging
    conn = boto2_connection(gateway_server, keys)
    bucket = conn.create_bucket(_bucket())
    tags = boto.s3.tagging.Tags()
    tag_set = boto.s3.tagging.TagSet()
    tag_set.add_tag("client", "boto2")
    tag_set.add_tag("sig", "v2")
    tags.add_tag_set(tag_set)
    bucket.set_tags(tags)
    got = bucket.get_tags()
    assert {tag.key: tag.value for tag_set in got for tag in tag_set} == {"client": "boto2", "sig": "v2"}
    bucket.delete_tags()
    with pytest.raises(Exception) as failure:
        bucket.get_tags()
    assert (translate(failure.value).code, translate(failure.value).status) == ("NoSuchTagSet", 404)


# -- permissions and bucket-policy conditions ------------------------------------------------------------------

def test_tagging_is_the_owners_unless_a_policy_allows(gateway_server: GatewayServer, s3: Any,
                                                      new_user: Callable[[], Keys]) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data", Tagging="a=1", ACL="public-read")
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags({"b": "2"}))
    other = boto3_client(gateway_server, new_user())
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"  # READ does not give tags
    for call in (lambda: other.get_object_tagging(Bucket=bucket, Key="k"),
                 lambda: other.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"x": "y"})),
                 lambda: other.delete_object_tagging(Bucket=bucket, Key="k"),
                 lambda: other.get_bucket_tagging(Bucket=bucket),
                 lambda: other.put_bucket_tagging(Bucket=bucket, Tagging=_tags({"x": "y"})),
                 lambda: other.delete_bucket_tagging(Bucket=bucket)):
        failure = failure_of(call)
        assert (failure.code, failure.status) == ("AccessDenied", 403)
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"a": "1"}
    assert _as_dict(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == {"b": "2"}
    # Copying a tagged object keeps its tags only for a caller who may read them (s3:GetObjectTagging).
    own = _bucket()
    other.create_bucket(Bucket=own)
    failure = failure_of(lambda: other.copy_object(Bucket=own, Key="c", CopySource={"Bucket": bucket, "Key": "k"}))
    assert (failure.code, failure.status) == ("AccessDenied", 403)
    other.copy_object(Bucket=own, Key="c", CopySource={"Bucket": bucket, "Key": "k"}, TaggingDirective="REPLACE",
                      Tagging="mine=1")
    assert _as_dict(other.get_object_tagging(Bucket=own, Key="c")["TagSet"]) == {"mine": "1"}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObjectTagging", "s3:PutObjectTagging"],
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    other.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"by": "other"}))
    assert _as_dict(other.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"by": "other"}
    failure = failure_of(lambda: other.delete_object_tagging(Bucket=bucket, Key="k"))
    assert failure.code == "AccessDenied"


def test_policy_allows_get_object_only_with_existing_tag(gateway_server: GatewayServer, s3: Any,
                                                         new_user: Callable[[], Keys]) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public", Body=b"open", Tagging="public=yes")
    s3.put_object(Bucket=bucket, Key="private", Body=b"closed", Tagging="public=no")
    s3.put_object(Bucket=bucket, Key="untagged", Body=b"closed")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/public": "yes"}}}]}))
    other = boto3_client(gateway_server, new_user())
    assert other.get_object(Bucket=bucket, Key="public")["Body"].read() == b"open"
    for key in ("private", "untagged"):
        failure = failure_of(lambda: other.get_object(Bucket=bucket, Key=key))
        assert (failure.code, failure.status) == ("AccessDenied", 403), key
    # Retagging changes the verdict at once: the condition reads the stored tags of the version acted on.
    s3.put_object_tagging(Bucket=bucket, Key="private", Tagging=_tags({"public": "yes"}))
    assert other.get_object(Bucket=bucket, Key="private")["Body"].read() == b"closed"
    s3.delete_object_tagging(Bucket=bucket, Key="public")
    assert failure_of(lambda: other.get_object(Bucket=bucket, Key="public")).code == "AccessDenied"


def test_policy_on_request_tags(gateway_server: GatewayServer, s3: Any, new_user: Callable[[], Keys]) -> None:
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    # Others may write only objects tagged team=blue and with no other tag key; the owner must tag too.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject", "s3:PutObjectTagging"],
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "blue"},
                       "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team"]}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"Null": {"s3:RequestObjectTag/team": "true"}}}]}))
    other = boto3_client(gateway_server, new_user())
    other.put_object(Bucket=bucket, Key="ok", Body=b"x", Tagging="team=blue")
    for tagging in ("team=red", "team=blue&extra=1", ""):
        failure = failure_of(lambda: other.put_object(Bucket=bucket, Key="no", Body=b"x", Tagging=tagging))
        assert (failure.code, failure.status) == ("AccessDenied", 403), tagging
    failure = failure_of(lambda: s3.put_object(Bucket=bucket, Key="owner-untagged", Body=b"x"))
    assert failure.code == "AccessDenied"  # the explicit Deny holds for the owner too
    s3.put_object(Bucket=bucket, Key="owner-tagged", Body=b"x", Tagging="team=green")
    # PutObjectTagging of another's object is judged on the tags it sends.
    other.put_object_tagging(Bucket=bucket, Key="owner-tagged", Tagging=_tags({"team": "blue"}))
    failure = failure_of(lambda: other.put_object_tagging(Bucket=bucket, Key="owner-tagged",
                                                      Tagging=_tags({"team": "red"})))
    assert failure.code == "AccessDenied"
    assert _as_dict(s3.get_object_tagging(Bucket=bucket, Key="owner-tagged")["TagSet"]) == {"team": "blue"}
    keys_now = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    assert keys_now == ["ok", "owner-tagged"]
