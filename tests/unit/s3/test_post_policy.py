"""POST upload policies (s3.post_policy) and their signatures (auth.post_signature): S3's parse and check of a
form, each refusal's code and message."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from ec2soap.auth.errors import AuthError
from ec2soap.auth.post_signature import parse_post, verify_post
from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_policy import check_form, parse_policy

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def policy(*conditions: object, expiration: str = "2026-06-01T00:00:00.000Z") -> object:
    return parse_policy(encoded({"expiration": expiration, "conditions": list(conditions)}))


@pytest.mark.parametrize("document, message", [
    ("not base64 json", "Invalid Policy: Invalid JSON."),
    ({"conditions": []}, "Invalid Policy: Policy missing expiration."),
    ({"expiration": "2026-06-01T00:00:00Z"}, "Invalid Policy: Policy missing conditions."),
    ({"expiration": "2026-06-01 00:00:00", "conditions": []}, "Invalid Policy: Invalid 'expiration' value"),
    ({"EXPIRATION": "2026-06-01T00:00:00Z", "conditions": []}, "Unexpected field"),
    ({"expiration": "2026-06-01T00:00:00Z", "conditions": [{}]}, "Simple-Conditions must have exactly one"),
    ({"expiration": "2026-06-01T00:00:00Z", "conditions": [["content-length-range", 0]]}, "content-length-range"),
    ({"expiration": "2026-06-01T00:00:00Z", "conditions": [["content-length-range", -1, 0]]}, "content-length"),
    ({"expiration": "2026-06-01T00:00:00Z", "conditions": [["matches", "$key", "a"]]}, "operator"),
    ({"expiration": "2026-06-01T00:00:00Z", "conditions": [["eq", "key", "a"]]}, "Invalid eq condition"),
])
def test_unreadable_policies(document: object, message: str) -> None:
    text = document if isinstance(document, str) else encoded(document)
    with pytest.raises(S3Error) as caught:
        parse_policy(text)
    assert caught.value.code == "InvalidPolicyDocument"
    assert message in caught.value.message


def test_conditions_and_coverage() -> None:
    rules = policy({"bucket": "b"}, ["starts-with", "$key", "up/"], ["EQ", "$Content-Type", "text/plain"],
                   ["starts-with", "$x-amz-meta-tag", ""], ["content-length-range", 1, 10])
    fields = {"key": "up/a", "content-type": "text/plain", "x-amz-meta-tag": "anything", "policy": "p",
              "x-amz-signature": "s", "x-ignore-this": "1"}
    check_form(rules, fields, "b", 5, NOW)
    failures = [
        ({**fields, "key": "down/a"}, "b", 5, "AccessDenied", 'Policy Condition failed: ["starts-with", "$key"'),
        ({**fields, "content-type": "text/html"}, "b", 5, "AccessDenied", "Policy Condition failed"),
        ({k: v for k, v in fields.items() if k != "x-amz-meta-tag"}, "b", 5, "AccessDenied", "Condition failed"),
        (fields, "other", 5, "AccessDenied", 'Policy Condition failed: {"bucket": "b"}'),
        ({**fields, "acl": "public-read"}, "b", 5, "AccessDenied", "Extra input fields: acl"),
        (fields, "b", 11, "EntityTooLarge", None),
        (fields, "b", 0, "EntityTooSmall", None),
    ]
    for form, bucket, size, code, message in failures:
        with pytest.raises(S3Error) as caught:
            check_form(rules, form, bucket, size, NOW)
        assert caught.value.code == code
        if message:
            assert message in caught.value.message


def test_expired() -> None:
    with pytest.raises(S3Error) as caught:
        check_form(policy(expiration="2025-12-31T23:59:59Z"), {}, "b", 0, NOW)
    assert (caught.value.code, caught.value.message) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_signatures() -> None:
    document = encoded({"expiration": "2026-06-01T00:00:00Z", "conditions": []})
    assert parse_post({"key": "k"}) is None
    v2 = {"policy": document, "awsaccesskeyid": "AK",
          "signature": base64.b64encode(hmac.new(b"secret", document.encode(), hashlib.sha1).digest()).decode()}
    verify_post(parse_post(v2), "secret")
    with pytest.raises(AuthError) as caught:
        verify_post(parse_post(v2), "other")
    assert caught.value.code == "SignatureDoesNotMatch"

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()
    key = mac(mac(mac(mac(b"AWS4secret", "20260101"), "us-east-1"), "s3"), "aws4_request")
    v4 = {"policy": document, "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-date": "20260101T000000Z",
          "x-amz-credential": "AK/20260101/us-east-1/s3/aws4_request",
          "x-amz-signature": hmac.new(key, document.encode(), hashlib.sha256).hexdigest()}
    verify_post(parse_post(v4), "secret")
    with pytest.raises(AuthError) as caught:
        verify_post(parse_post({**v4, "x-amz-signature": "0" * 64}), "secret")
    assert caught.value.code == "SignatureDoesNotMatch"
    for broken in ({k: v for k, v in v4.items() if k != "x-amz-date"}, {**v4, "x-amz-algorithm": "AWS4-HMAC-MD5"},
                   {k: v for k, v in v2.items() if k != "policy"}, {**v4, "x-amz-date": "20250101T000000Z"}):
        with pytest.raises(AuthError) as caught:
            parse_post(broken)
        assert caught.value.code == "InvalidArgument"
