"""Issue 13's edge cases, unit level: ListBuckets pages and their refusals, re-creating a bucket in us-east-1
and elsewhere, user metadata read as the UTF-8 its sender sent, the expected-bucket-owner comparison, and the
authorization edge cases (an empty Authorization header, SigV2 dates before the epoch, presigned expiries out
of range, SigV4 over non-ASCII header values) on requests signed by botocore."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ec2soap.auth import AuthError, HttpRequestInfo, parse_s3, verify_s3
from ec2soap.auth.identity import canonical_id
from ec2soap.s3 import request_checks
from ec2soap.s3.errors import S3Error
from ec2soap.s3.operations import S3Operations
from ec2soap.s3.rules import Limits, meta_from_headers, wire_text
from tests.unit.s3.conftest import ALICE, BOB

SECRET = "secret/key+0123456789abcdefghijklmnopqrstu"


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises((S3Error, AuthError)) as caught:
        fn(*args, **kwargs)
    return caught.value.code


def test_list_bucket_page_by_max_buckets_token_prefix_and_region(ops: S3Operations) -> None:
    for name in ("aa1", "aa2", "aa3", "bb1"):
        ops.create_bucket(ALICE, name)
    ops.create_bucket(ALICE, "aa4", location="eu-west-1")
    ops.create_bucket(BOB, "aa0")
    page, token = ops.list_bucket_page(ALICE, "2")
    assert [b.name for b in page] == ["aa1", "aa2"] and token
    page, token = ops.list_bucket_page(ALICE, "2", token)
    assert [b.name for b in page] == ["aa3", "aa4"] and token
    page, token = ops.list_bucket_page(ALICE, "2", token)
    assert [b.name for b in page] == ["bb1"] and token is None
    assert [b.name for b in ops.list_bucket_page(ALICE, None, "", "aa")[0]] == ["aa1", "aa2", "aa3", "aa4"]
    assert [b.name for b in ops.list_bucket_page(ALICE, None, None, None, "eu-west-1")[0]] == ["aa4"]
    assert [b.name for b in ops.list_bucket_page(ALICE, None, None, None, "us-east-1")[0]] == ["aa1", "aa2",
                                                                                               "aa3", "bb1"]
    for bad in ("0", "10001", "-1", "ten", ""):
        assert _code(ops.list_bucket_page, ALICE, bad) == "InvalidArgument"
    for garbled in ("!!", base64.urlsafe_b64encode(b"\xff").decode()):
        assert _code(ops.list_bucket_page, ALICE, "1", garbled) == "InvalidArgument"


def test_recreating_a_bucket(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "east", headers={"x-amz-acl": "public-read"})
    again = ops.create_bucket(ALICE, "east")  # us-east-1: 200, and the ACL is reset to private
    assert [g["permission"] for g in again.acl["grants"]] == ["FULL_CONTROL"]
    assert [g["permission"] for g in ops.get_bucket_acl(ALICE, "east")["grants"]] == ["FULL_CONTROL"]
    assert _code(ops.create_bucket, ALICE, "east", "eu-west-1") == "BucketAlreadyOwnedByYou"
    assert _code(ops.create_bucket, ALICE, "east", None,
                 {"x-amz-bucket-object-lock-enabled": "true"}) == "BucketAlreadyOwnedByYou"
    assert _code(ops.create_bucket, BOB, "east") == "BucketAlreadyExists"
    ops.create_bucket(ALICE, "west", location="eu-west-1")
    assert _code(ops.create_bucket, ALICE, "west", "eu-west-1") == "BucketAlreadyOwnedByYou"


def test_user_metadata_is_the_utf8_its_sender_sent() -> None:
    wire = "héllo 日本".encode("utf-8").decode("latin-1")  # how the server reads the header's bytes
    assert wire_text(wire) == "héllo 日本"
    assert wire_text("plain") == "plain"
    assert wire_text("caf\xe9") == "caf\xe9"  # not UTF-8: kept as it came
    meta = meta_from_headers({"x-amz-meta-name": wire}, Limits())
    assert meta.user_meta == {"name": "héllo 日本"}


def test_expected_bucket_owner_is_the_account_uuid() -> None:
    account = "6b3b6a2e-0c0e-4c3a-9d1e-5a9f0c1f2b3d"
    assert request_checks._is_account_of(account, canonical_id(account))
    assert not request_checks._is_account_of("123456789012", canonical_id(account))
    assert not request_checks._is_account_of("", canonical_id(account))
    assert not request_checks._is_account_of(canonical_id(account), canonical_id(account))


def _request(headers: list, method: str = "GET", path: str = "/bucket/", query: str = "") -> HttpRequestInfo:
    return HttpRequestInfo(method, path, query, [("Host", "127.0.0.1:7080"), *headers])


def test_empty_authorization_is_anonymous() -> None:
    assert parse_s3(_request([("Authorization", "")])) is None
    assert parse_s3(_request([("Authorization", "   ")])) is None
    assert _code(parse_s3, _request([("Authorization", "Bearer x")])) == "InvalidArgument"


def test_sigv2_dates() -> None:
    def code(date: str | None) -> str:
        headers = [("Authorization", "AWS AKEY:c2lnbmF0dXJl")] + ([("Date", date)] if date is not None else [])
        return _code(parse_s3, _request(headers))
    assert code(None) == "AccessDenied"
    assert code("") == "AccessDenied"
    assert code("not a date") == "AccessDenied"
    assert code("Wed, 31 Dec 1969 23:59:59 GMT") == "AccessDenied"
    assert code("Thu, 01 Jan 1970 00:00:00 +0100") == "AccessDenied"
    assert code("Fri, 01 Jan 2010 00:00:00 GMT") == "RequestTimeTooSkewed"
    assert code("Fri, 31 Dec 9999 23:59:59 GMT") == "RequestTimeTooSkewed"


def test_presigned_expires_range() -> None:
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")

    def code(expires: str, when: str = stamp) -> str:
        query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKEY%2F" + when[:8] +
                 "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=" + when + "&X-Amz-Expires=" + expires +
                 "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64)
        return _code(parse_s3, _request([], query=query), now=now)
    for bad in ("604801", "-1", "-0", "soon", "1e3", ""):
        assert code(bad) == "AuthorizationQueryParametersError", bad
    old = (now - timedelta(days=2)).strftime("%Y%m%dT%H%M%SZ")
    assert code("3600", old) == "AccessDenied"


def test_sigv4_over_non_ascii_header_values() -> None:
    request = AWSRequest("PUT", "http://127.0.0.1:7080/bucket/k", data=b"x",
                         headers={"x-amz-meta-name": "héllo 日本"})
    S3SigV4Auth(Credentials("AKEY", SECRET), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    # The server sees every header as its bytes read as latin-1; botocore sent (and signed) UTF-8.
    headers = [(k, v.decode("latin-1") if isinstance(v, bytes) else v.encode("utf-8").decode("latin-1"))
               for k, v in prepared.headers.items()] + [("Host", "127.0.0.1:7080")]
    info = HttpRequestInfo("PUT", "/bucket/k", "", headers, body=b"x")
    assert verify_s3(parse_s3(info), SECRET) is not None
    with pytest.raises(AuthError) as caught:
        verify_s3(parse_s3(info), SECRET + "x")
    assert caught.value.code == "SignatureDoesNotMatch"
