"""A CORS preflight (OPTIONS) is never authenticated in S3: a browser sends it to the very URL of the request it
means to make, a presigned one included, so the query's signature (SigV4 from boto3, SigV2 from boto3's `s3`
signer and boto 2) and any Authorization header are not verified on it. Without an Origin it is S3's 400
"Insufficient information. Origin request header needed.", with one that no rule allows 403, and with a rule
the rule's headers, exactly as an unsigned preflight; the GET or PUT the URL names is still verified. Raw
OPTIONS through requests (as a browser sends them), the URLs from boto3 and boto 2, against the real server."""
from __future__ import annotations

import uuid
import warnings
from typing import Any, Callable

import pytest
import requests
from botocore.config import Config
from lxml import etree

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client

ORIGIN = "http://app.example.com"


@pytest.fixture
def keys(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def bucket(gateway_server: GatewayServer, keys: Keys) -> str:
    """A bucket without CORS rules and a public-read object "foo" (as s3-tests' presigned CORS tests set up)."""
    s3 = boto3_client(gateway_server, keys)
    name = "pre" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ACL="public-read")
    s3.put_object(Bucket=name, Key="foo", Body=b"hello", ACL="public-read")
    return name


def _error(response: Any) -> tuple[int, str, str]:
    root = etree.fromstring(response.content)
    return response.status_code, root.findtext("Code"), root.findtext("Message")


def _sigv2_client(server: GatewayServer, keys: Keys) -> Any:
    import boto3
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=keys.access_key,
                        aws_secret_access_key=keys.secret_key,
                        config=Config(signature_version="s3", s3={"addressing_style": "path"}))


def _urls(server: GatewayServer, keys: Keys, bucket: str, method: str) -> dict[str, str]:
    """Presigned URLs for METHOD on BUCKET/foo: boto3 SigV4, boto3 SigV2, boto 2 (SigV2)."""
    client_method = {"GET": "get_object", "PUT": "put_object"}[method]
    params = {"Bucket": bucket, "Key": "foo"}
    v4 = boto3_client(server, keys).generate_presigned_url(client_method, Params=params, ExpiresIn=100000,
                                                           HttpMethod=method)
    v2 = _sigv2_client(server, keys).generate_presigned_url(client_method, Params=params, ExpiresIn=100000,
                                                            HttpMethod=method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boto2 = boto2_connection(server, keys, path="/").generate_url(100000, method, bucket, "foo")
    return {"sigv4": v4, "sigv2": v2, "boto2": boto2}


NO_ORIGIN = (400, "InvalidRequest", "Insufficient information. Origin request header needed.")


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_presigned_preflight_is_not_verified(gateway_server: GatewayServer, keys: Keys, bucket: str,
                                             method: str) -> None:
    urls = _urls(gateway_server, keys, bucket, method)
    assert "X-Amz-Signature=" in urls["sigv4"] and "Signature=" in urls["sigv2"] and "Signature=" in urls["boto2"]
    for kind, url in urls.items():
        assert _error(requests.options(url)) == NO_ORIGIN, kind
        refused = requests.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method})
        status, code, message = _error(refused)
        assert (status, code) == (403, "AccessDenied"), kind
        assert message.startswith("CORSResponse: This CORS request is not allowed.")
    boto3_client(gateway_server, keys).put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [ORIGIN], "AllowedMethods": [method]}]})
    for kind, url in urls.items():
        allowed = requests.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method})
        assert allowed.status_code == 200, (kind, allowed.text)
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert allowed.headers["Access-Control-Allow-Methods"] == method
    # The GET the URL names is still verified (and works).
    if method == "GET":
        for kind, url in urls.items():
            got = requests.get(url)
            assert (got.status_code, got.content) == (200, b"hello"), kind


def test_a_forged_signature_or_authorization_is_ignored_on_options_only(gateway_server: GatewayServer,
                                                                        keys: Keys, bucket: str) -> None:
    boto3_client(gateway_server, keys).put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    urls = _urls(gateway_server, keys, bucket, "GET")
    forged = {"sigv4": urls["sigv4"].replace("X-Amz-Signature=", "X-Amz-Signature=00"),
              "sigv2": urls["sigv2"].replace("Signature=", "Signature=AAAA"),
              "unknown key": urls["sigv4"].replace("X-Amz-Credential=", "X-Amz-Credential=NOSUCHKEY")}
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    for kind, url in forged.items():
        answer = requests.options(url, headers=preflight)
        assert (answer.status_code, answer.headers.get("Access-Control-Allow-Origin")) == (200, "*"), kind
        assert _error(requests.options(url)) == NO_ORIGIN, kind
        status, code, _ = _error(requests.get(url))
        assert status == 403 and code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"), kind
    plain = f"{gateway_server.url}/{bucket}/foo"
    bad = {"Authorization": f"AWS4-HMAC-SHA256 Credential={keys.access_key}/20260101/us-east-1/s3/aws4_request, "
                            "SignedHeaders=host, Signature=" + "0" * 64, "x-amz-date": "20260101T000000Z"}
    answer = requests.options(plain, headers={**bad, **preflight})
    assert (answer.status_code, answer.headers.get("Access-Control-Allow-Origin")) == (200, "*")
    assert _error(requests.options(plain, headers={"Authorization": "AWS nobody:bad"})) == NO_ORIGIN
    assert _error(requests.get(plain, headers=bad))[0] == 403  # the same header on a GET is checked


def test_preflight_of_a_missing_bucket(gateway_server: GatewayServer, keys: Keys) -> None:
    url = boto3_client(gateway_server, keys).generate_presigned_url(
        "get_object", Params={"Bucket": "nosuch" + uuid.uuid4().hex[:10], "Key": "k"})
    assert _error(requests.options(url)) == NO_ORIGIN
    status, code, _ = _error(requests.options(url, headers={"Origin": ORIGIN,
                                                            "Access-Control-Request-Method": "GET"}))
    assert (status, code) == (404, "NoSuchBucket")
