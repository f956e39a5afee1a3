"""Browser POST: `${filename}` in the `key` field is replaced by the uploaded file's name before the policy's
conditions are checked, as S3 does, so `["starts-with", "$key", "foo"]` with key `${filename}` passes for
foo.txt and fails for bar.txt; the bucket policy judges the substituted key too, and a POST form's `acl` is
its s3:x-amz-acl. Forms signed by botocore (SigV4) and boto 2 (SigV2), sent with requests, against the real
server."""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest
import requests
from lxml import etree

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.test_post_uploads import User, _signed_v4


@pytest.fixture
def user(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> User:
    return User(gateway_server, new_user(), "postfn-" + uuid.uuid4().hex[:12])


def _error(response: Any) -> tuple[int, str, str]:
    root = etree.fromstring(response.content)
    return response.status_code, root.findtext("Code"), root.findtext("Message")


def _expiry() -> str:
    from datetime import datetime, timedelta, timezone
    return (datetime.now(timezone.utc) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_key_condition_sees_the_file_name(user: User) -> None:
    policy = {"expiration": _expiry(), "conditions": [{"bucket": user.bucket}, ["starts-with", "$key", "foo"],
                                                      {"x-amz-meta-via": "form"}]}
    form = _signed_v4(user, policy, {"key": "${filename}", "x-amz-meta-via": "form"})
    assert user.post(form, b"named by its file", filename="foo.txt").status_code == 204
    assert user.s3.get_object(Bucket=user.bucket, Key="foo.txt")["Body"].read() == b"named by its file"
    status, code, message = _error(user.post(form, b"refused", filename="bar.txt"))
    assert (status, code) == (403, "AccessDenied")
    assert message == 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "foo"]'
    exact = _signed_v4(user, {"expiration": _expiry(), "conditions": [{"bucket": user.bucket},
                                                                      ["eq", "$key", "in/photo.png"]]},
                       {"key": "in/${filename}"})
    assert user.post(exact, b"png", filename="photo.png").status_code == 204
    assert _error(user.post(exact, b"png", filename="other.png"))[:2] == (403, "AccessDenied")
    assert sorted(o["Key"] for o in user.s3.list_objects_v2(Bucket=user.bucket)["Contents"]) == \
        ["foo.txt", "in/photo.png"]


def test_boto2_form_with_a_filename_condition(user: User) -> None:
    from tests.protocol.s3.conftest import boto2_post_connection
    conn = boto2_post_connection(user.server, user.keys)
    args = conn.build_post_form_args(user.bucket, "docs/${filename}", expires_in=600,
                                     conditions=['["eq", "$key", "docs/report.pdf"]'])
    fields = {f["name"]: f["value"] for f in args["fields"]}
    ok = requests.post(args["action"] + user.bucket, data=fields, files={"file": ("report.pdf", b"pdf")},
                       allow_redirects=False)
    assert ok.status_code == 204, ok.text
    assert conn.get_bucket(user.bucket).get_key("docs/report.pdf").get_contents_as_string() == b"pdf"
    refused = requests.post(args["action"] + user.bucket, data=fields, files={"file": ("notes.txt", b"txt")})
    assert _error(refused)[:2] == (403, "AccessDenied")


def test_bucket_policy_judges_the_substituted_key_and_the_acl_field(user: User) -> None:
    arn = f"arn:aws:s3:::{user.bucket}/*"
    user.s3.put_bucket_policy(Bucket=user.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": arn},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{user.bucket}/secret*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": arn,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}}]}))
    url = f"{user.server.url}/{user.bucket}"
    allowed = requests.post(url, data={"key": "${filename}"}, files={"file": ("open.txt", b"anonymous")})
    assert allowed.status_code == 204, allowed.text
    denied = requests.post(url, data={"key": "${filename}"}, files={"file": ("secret.txt", b"anonymous")})
    assert _error(denied)[:2] == (403, "AccessDenied")
    public = requests.post(url, data={"key": "pub", "acl": "public-read"}, files={"file": ("p", b"x")})
    assert _error(public)[:2] == (403, "AccessDenied")
    signed = user.presigned("signed-pub", fields={"acl": "public-read"}, conditions=[{"acl": "public-read"}])
    assert _error(user.post(signed))[:2] == (403, "AccessDenied")  # the owner too: an explicit Deny
    assert [o["Key"] for o in user.s3.list_objects_v2(Bucket=user.bucket)["Contents"]] == ["open.txt"]
