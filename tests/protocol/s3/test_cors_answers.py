"""CORS headers on error answers, as S3 sends them: a request with an Origin to a bucket whose CORS rules match
gets the rule's Access-Control-* headers on its 403, 404 or 412 as on its 200, so a browser can read why it
was refused; a bucket that does not exist has no rules, and its NoSuchBucket carries none. Through a raw HTTP
client (requests, anonymous and SigV4-presigned) and boto3 (an event hook adds the Origin; the headers are
read from the ClientError's response), against the real server. One server per module."""
from __future__ import annotations

import uuid
from typing import Any, Callable

import pytest
import requests
from botocore.exceptions import ClientError

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client

ORIGIN = "http://app.example.com"


def _bucket() -> str:
    return "cors" + uuid.uuid4().hex[:12]


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def bucket(gateway_server: GatewayServer, keys: Keys) -> str:
    """A bucket with two rules: the app's origins (GET, PUT, HEAD; ETag exposed) and any origin for GET;
    one private object ("private") and one public-read ("open")."""
    s3 = boto3_client(gateway_server, keys)
    name = _bucket()
    s3.create_bucket(Bucket=name)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["http://*.example.com"], "AllowedMethods": ["GET", "PUT", "HEAD"],
         "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    s3.put_object(Bucket=name, Key="private", Body=b"secret")
    s3.put_object(Bucket=name, Key="open", Body=b"hello", ACL="public-read")
    return name


def _browser(server: GatewayServer, keys: Keys, origin: str) -> Any:
    """A boto3 client sending Origin: ORIGIN on every request, as a browser would."""
    client = boto3_client(server, keys)

    def add(request: Any, **_: Any) -> None:
        request.headers["Origin"] = origin
    client.meta.events.register("before-sign.s3.*", add)
    return client


def _error_headers(fn: Callable[[], Any]) -> tuple[int, str, dict]:
    """(status, code, lower-cased headers) of the ClientError FN raises."""
    with pytest.raises(ClientError) as failure:
        fn()
    response = failure.value.response
    headers = {k.lower(): v for k, v in response["ResponseMetadata"]["HTTPHeaders"].items()}
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], headers


# -- a raw HTTP client -----------------------------------------------------------------------------------------

def test_raw_anonymous_errors_carry_cors_headers(gateway_server: GatewayServer, bucket: str) -> None:
    url = f"{gateway_server.url}/{bucket}"
    ok = requests.get(f"{url}/open", headers={"Origin": ORIGIN}, timeout=30)
    assert ok.status_code == 200 and ok.content == b"hello"

    # Anonymous callers may not list the bucket: a missing key is AccessDenied to them, as in S3.
    missing = requests.get(f"{url}/nothing-here", headers={"Origin": ORIGIN}, timeout=30)
    assert missing.status_code == 403 and b"<Code>AccessDenied</Code>" in missing.content
    forbidden = requests.get(f"{url}/private", headers={"Origin": ORIGIN}, timeout=30)
    assert forbidden.status_code == 403 and b"<Code>AccessDenied</Code>" in forbidden.content
    for answer in (ok, missing, forbidden):  # the first rule: an anonymous request matched by pattern
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert answer.headers["Access-Control-Allow-Methods"] == "GET, PUT, HEAD"
        assert answer.headers["Access-Control-Expose-Headers"] == "ETag"
        assert answer.headers["Access-Control-Max-Age"] == "600"
        assert "Origin" in answer.headers["Vary"]

    # Only the "*" rule matches this origin: anonymous errors get "*", as its successes do.
    other = requests.get(f"{url}/private", headers={"Origin": "https://elsewhere.test"}, timeout=30)
    assert other.status_code == 403 and other.headers["Access-Control-Allow-Origin"] == "*"
    assert other.headers["Access-Control-Allow-Methods"] == "GET"
    # No rule for this method and origin, and no Origin at all: no CORS headers on the error.
    put = requests.put(f"{url}/private", data=b"x", headers={"Origin": "https://elsewhere.test"}, timeout=30)
    assert put.status_code == 403 and "Access-Control-Allow-Origin" not in put.headers
    bare = requests.get(f"{url}/private", timeout=30)
    assert bare.status_code == 403 and "Access-Control-Allow-Origin" not in bare.headers


def test_raw_missing_bucket_has_no_cors_headers(gateway_server: GatewayServer, bucket: str) -> None:
    gone = requests.get(f"{gateway_server.url}/{_bucket()}/key", headers={"Origin": ORIGIN}, timeout=30)
    assert gone.status_code == 404 and b"<Code>NoSuchBucket</Code>" in gone.content
    assert not [name for name in gone.headers if name.lower().startswith("access-control-")]


def test_raw_presigned_404_and_412_echo_the_origin(gateway_server: GatewayServer, keys: Keys, bucket: str) -> None:
    s3 = boto3_client(gateway_server, keys)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "private"}, ExpiresIn=300)
    got = requests.get(url, headers={"Origin": ORIGIN}, timeout=30)
    assert got.status_code == 200 and got.content == b"secret"
    failed = requests.get(url, headers={"Origin": ORIGIN, "If-Match": '"not-the-etag"'}, timeout=30)
    assert failed.status_code == 412 and b"<Code>PreconditionFailed</Code>" in failed.content
    absent = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "absent"}, ExpiresIn=300)
    missing = requests.get(absent, headers={"Origin": ORIGIN}, timeout=30)
    assert missing.status_code == 404 and b"<Code>NoSuchKey</Code>" in missing.content
    for answer in (got, failed, missing):  # signed: the origin echoed, with credentials allowed
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert answer.headers["Access-Control-Allow-Credentials"] == "true"


# -- boto3 ---------------------------------------------------------------------------------------------------

def test_boto3_errors_carry_cors_headers(gateway_server: GatewayServer, keys: Keys, new_user: Callable[[], Keys],
                                         bucket: str) -> None:
    owner = _browser(gateway_server, keys, ORIGIN)
    assert owner.get_object(Bucket=bucket, Key="private")["Body"].read() == b"secret"

    status, code, headers = _error_headers(lambda: owner.get_object(Bucket=bucket, Key="missing"))
    assert (status, code) == (404, "NoSuchKey")
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-expose-headers"] == "ETag"

    status, code, headers = _error_headers(
        lambda: owner.get_object(Bucket=bucket, Key="private", IfMatch='"0123"'))
    assert (status, code) == (412, "PreconditionFailed")
    assert headers["access-control-allow-origin"] == ORIGIN

    # Another account, signed, denied: its 403 carries the headers too.
    stranger = _browser(gateway_server, new_user(), ORIGIN)
    status, code, headers = _error_headers(lambda: stranger.get_object(Bucket=bucket, Key="private"))
    assert (status, code) == (403, "AccessDenied")
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET, PUT, HEAD"

    # An upload refused before its body (boto3 waits for 100 Continue): the early answer carries them too.
    status, code, headers = _error_headers(
        lambda: stranger.put_object(Bucket=bucket, Key="intruder", Body=b"x" * 4096))
    assert (status, code) == (403, "AccessDenied")
    assert headers["access-control-allow-origin"] == ORIGIN

    # A bucket that does not exist: no rules, no CORS headers.
    status, code, headers = _error_headers(lambda: owner.get_object(Bucket=_bucket(), Key="k"))
    assert (status, code) == (404, "NoSuchBucket")
    assert not [name for name in headers if name.startswith("access-control-")]


def test_boto3_anonymous_denial_carries_cors_headers(gateway_server: GatewayServer, bucket: str) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config
    import boto3

    anonymous = boto3.client("s3", endpoint_url=gateway_server.url, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1},
                                           s3={"addressing_style": "path"}))
    anonymous.meta.events.register("before-sign.s3.*",
                                   lambda request, **_: request.headers.__setitem__("Origin", ORIGIN))
    assert anonymous.get_object(Bucket=bucket, Key="open")["Body"].read() == b"hello"
    status, code, headers = _error_headers(lambda: anonymous.get_object(Bucket=bucket, Key="private"))
    assert (status, code) == (403, "AccessDenied")
    assert headers["access-control-allow-origin"] == ORIGIN
    status, code, headers = _error_headers(lambda: anonymous.head_object(Bucket=bucket, Key="missing"))
    assert status in (403, 404)  # HEAD has no document: botocore names the status only
    assert headers["access-control-allow-origin"] == ORIGIN
