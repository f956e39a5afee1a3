"""s3.policy.request_keys (the condition keys of a request's headers and query), the Service/Federated
principals a bucket policy may name, auth.s3_signatures.parse_s3 on OPTIONS, and post_policy.with_filename."""
from __future__ import annotations

import json

import pytest

from ec2soap.auth.errors import AuthError
from ec2soap.auth.request import HttpRequestInfo
from ec2soap.auth.s3_signatures import parse_s3
from ec2soap.s3 import policy
from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_early import form_keys
from ec2soap.s3.post_policy import with_filename


def test_header_keys_present_only_when_sent() -> None:
    keys = policy.request_keys({"x-amz-acl": "public-read", "x-amz-grant-full-control": "id=abc",
                                "x-amz-grant-read": "uri=x", "x-amz-grant-write": "id=w",
                                "x-amz-grant-read-acp": "id=r", "x-amz-grant-write-acp": "id=wa",
                                "x-amz-metadata-directive": "REPLACE", "x-amz-storage-class": "STANDARD_IA",
                                "x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-legal-hold": "ON",
                                "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z",
                                "if-none-match": "*", "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                                "content-type": "text/plain"})
    assert keys == {"s3:x-amz-acl": "public-read", "s3:x-amz-grant-full-control": "id=abc",
                    "s3:x-amz-grant-read": "uri=x", "s3:x-amz-grant-write": "id=w", "s3:x-amz-grant-read-acp": "id=r",
                    "s3:x-amz-grant-write-acp": "id=wa", "s3:x-amz-metadata-directive": "REPLACE",
                    "s3:x-amz-storage-class": "STANDARD_IA", "s3:object-lock-mode": "GOVERNANCE",
                    "s3:object-lock-legal-hold": "ON", "s3:object-lock-retain-until-date": "2030-01-01T00:00:00Z",
                    "s3:if-none-match": "*", "s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    assert policy.request_keys({}) == {}


@pytest.mark.parametrize("header, expected", [
    ("src/public/foo", "src/public/foo"),
    ("/src/public/a%20b", "src/public/a b"),
    ("src/k?versionId=3", "src/k"),
    ("nokey", None),
])
def test_copy_source_key(header: str, expected: str | None) -> None:
    assert policy.request_keys({"x-amz-copy-source": header}).get("s3:x-amz-copy-source") == expected


@pytest.mark.parametrize("headers, query, expected", [
    ({"authorization": "AWS4-HMAC-SHA256 Credential=a/b"}, {}, ("REST-HEADER", "AWS4-HMAC-SHA256")),
    ({"authorization": "AWS AKID:sig"}, {}, ("REST-HEADER", "AWS")),
    ({}, {"X-Amz-Algorithm": "AWS4-HMAC-SHA256"}, ("REST-QUERY-STRING", "AWS4-HMAC-SHA256")),
    ({}, {"AWSAccessKeyId": "a", "Signature": "s", "Expires": "1"}, ("REST-QUERY-STRING", "AWS")),
    ({"authorization": " "}, {}, (None, None)),
    ({}, {"versionId": "v1"}, (None, None)),
])
def test_auth_keys(headers: dict, query: dict, expected: tuple) -> None:
    keys = policy.request_keys(headers, query)
    assert (keys.get("s3:authType"), keys.get("s3:signatureversion")) == expected
    assert keys.get("s3:versionid") == query.get("versionId")


def _doc(principal: object, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Statement": [statement]})


@pytest.mark.parametrize("principal", [{"Service": "logging.s3.amazonaws.com"}, {"Service": ["*"]},
                                       {"Federated": "cognito-identity.amazonaws.com"},
                                       {"Service": "a.amazonaws.com", "Federated": "*"}])
def test_service_and_federated_principals_parse_and_match_no_one(principal: object) -> None:
    parsed = policy.parse_policy(_doc(principal), "b")
    for caller in (None, "0" * 64):
        assert policy.evaluate(parsed, caller, "s3:PutObject", "arn:aws:s3:::b/k") is None


def test_mixed_principal_still_matches_its_aws_part() -> None:
    parsed = policy.parse_policy(_doc({"Service": "x.amazonaws.com", "CanonicalUser": "c" * 64}), "b")
    assert policy.evaluate(parsed, "c" * 64, "s3:PutObject", "arn:aws:s3:::b/k") == "Allow"
    assert policy.evaluate(parsed, "d" * 64, "s3:PutObject", "arn:aws:s3:::b/k") is None


@pytest.mark.parametrize("principal", [{"Robot": "x"}, {"Service": ""}, {"Service": [3]}, {}, "someone"])
def test_other_principals_are_malformed(principal: object) -> None:
    with pytest.raises(S3Error) as caught:
        policy.parse_policy(_doc(principal), "b")
    assert caught.value.code == "MalformedPolicy"


def test_keys_drive_conditions_absent_or_present() -> None:
    parsed = policy.parse_policy(_doc("*", {"StringLike": {"s3:x-amz-copy-source": "src/public/*"}}), "b")
    ok = policy.request_keys({"x-amz-copy-source": "src/public/x"})
    assert policy.evaluate(parsed, None, "s3:PutObject", "arn:aws:s3:::b/k", ok) == "Allow"
    bad = policy.request_keys({"x-amz-copy-source": "src/private/x"})
    assert policy.evaluate(parsed, None, "s3:PutObject", "arn:aws:s3:::b/k", bad) is None
    assert policy.evaluate(parsed, None, "s3:PutObject", "arn:aws:s3:::b/k", {}) is None
    if_exists = policy.parse_policy(_doc("*", {"StringLikeIfExists": {"s3:x-amz-copy-source": "src/*"}}), "b")
    assert policy.evaluate(if_exists, None, "s3:PutObject", "arn:aws:s3:::b/k", {}) == "Allow"


def test_options_is_never_parsed_for_a_signature() -> None:
    forged = HttpRequestInfo(method="OPTIONS", path="/b/k", query="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0",
                             headers=[("Authorization", "AWS nobody:bad")], host="h")
    assert parse_s3(forged) is None
    with pytest.raises(AuthError):  # the same request as a GET: two auth mechanisms
        parse_s3(HttpRequestInfo(method="GET", path="/b/k", query="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0",
                                 headers=[("Authorization", "AWS nobody:bad")], host="h"))


def test_with_filename_and_form_keys() -> None:
    fields = {"key": "up/${filename}", "acl": "private", "x-amz-signature": "s", "x-amz-algorithm": "AWS4-HMAC-SHA256"}
    assert with_filename(fields, "a.txt")["key"] == "up/a.txt"
    assert fields["key"] == "up/${filename}"  # a copy
    assert with_filename({"key": "${filename}"}, None) == {"key": ""}
    assert with_filename({"acl": "x"}, "f") == {"acl": "x"}
    assert form_keys(fields) == {"s3:x-amz-acl": "private", "s3:authType": "POST",
                                 "s3:signatureversion": "AWS4-HMAC-SHA256"}
    assert form_keys({"key": "k", "signature": "s", "x-amz-storage-class": "STANDARD"}) == {
        "s3:x-amz-storage-class": "STANDARD", "s3:authType": "POST", "s3:signatureversion": "AWS"}
    assert form_keys({"key": "k"}) == {}


@pytest.mark.parametrize("operator, pattern, actual, holds", [
    ("ArnLike", "arn:aws:s3:::src-*", "arn:aws:s3:::src-logs", True),
    ("ArnEquals", "arn:aws:s3:::src-?", "arn:aws:s3:::src-a", True),
    ("ArnLike", "arn:aws:s3:::src-*", "arn:aws:s3:::other", False),
    ("ArnLike", "arn:aws:*:*:*:*", "arn:aws:s3:::b", True),
    ("ArnLike", "arn:aws:s3:::b", "not-an-arn", False),
    ("ArnLike", "arn:aws:s3:::b*", "arn:aws:s3:us:1:b", False),  # * stays within its part
    ("ArnNotLike", "arn:aws:s3:::src-*", "arn:aws:s3:::other", True),
    ("ArnNotEquals", "arn:aws:s3:::src-*", "arn:aws:s3:::src-x", False),
])
def test_arn_operators(operator: str, pattern: str, actual: str, holds: bool) -> None:
    parsed = policy.parse_policy(_doc("*", {operator: {"aws:SourceArn": pattern}}), "b")
    verdict = policy.evaluate(parsed, None, "s3:PutObject", "arn:aws:s3:::b/k", {"aws:SourceArn": actual})
    assert verdict == ("Allow" if holds else None)


def test_arn_operators_on_an_absent_key() -> None:
    like = policy.parse_policy(_doc("*", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}), "b")
    assert policy.evaluate(like, None, "s3:PutObject", "arn:aws:s3:::b/k", {}) is None
    not_like = policy.parse_policy(_doc("*", {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}), "b")
    assert policy.evaluate(not_like, None, "s3:PutObject", "arn:aws:s3:::b/k", {}) == "Allow"
