"""The S3 request that runs is the request that was signed (issue 9), through boto3, boto 2 and raw requests.

One decoding of the query: '+' is a literal plus, and the verifier signs the very values the handlers read, so
a listing signed as prefix=a%20b and sent as prefix=a+b is refused instead of listing key "a+b". A repeated
parameter is InvalidArgument, never "last one wins". SigV2 under /awsapi/rest/AmazonS3 verifies the way
botocore signs it (prefix left out) and the way boto 2 does (prefix signed).
"""
from __future__ import annotations

import uuid
from urllib.parse import unquote_plus
import xml.etree.ElementTree as ET
from typing import Any, Callable

import botocore.exceptions
import pytest
import requests

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client

PREFIX = "/awsapi/rest/AmazonS3"


def s3client(server: GatewayServer, keys: Keys, version: str = "s3v4", path: str = "") -> Any:
    """boto3 with SigV4 ("s3v4") or SigV2 ("s3"), path style, at the server's URL + PATH."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.url + path, region_name="us-east-1",
                        aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                        config=Config(signature_version=version, retries={"max_attempts": 1},
                                      s3={"addressing_style": "path"}))


def error_of(response: requests.Response) -> tuple[int, str, ET.Element]:
    root = ET.fromstring(response.content)
    assert root.tag == "Error", response.text
    return response.status_code, root.findtext("Code"), root


def client_error(call: Callable[[], Any]) -> tuple[int, str, dict]:
    with pytest.raises(botocore.exceptions.ClientError) as failure:
        call()
    response = failure.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]


def on_send(client: Any, operation: str, change: Callable[[str], str]) -> None:
    """After signing, before sending: CHANGE the URL (what a man in the middle would do)."""
    def edit(request: Any, **_: Any) -> None:
        request.url = change(request.url)
    client.meta.events.register(f"before-send.s3.{operation}", edit)


def on_sign(client: Any, operation: str, extra: str) -> None:
    """Before signing: add EXTRA to the query, so the client signs it (what a client is free to send)."""
    def add(request: Any, **_: Any) -> None:
        request.url += ("&" if "?" in request.url else "?") + extra
    client.meta.events.register(f"before-sign.s3.{operation}", add, unique_id=f"add-{operation}-{extra}")


def bucket_with_keys(client: Any, *keys: str) -> str:
    bucket = f"q-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def listed(client: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


# -- one decoding of '+' --------------------------------------------------------------------------------------

def test_sigv4_listing_reads_plus_literally_and_refuses_a_swapped_space(gateway_server: GatewayServer,
                                                                        new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    s3 = s3client(gateway_server, keys)
    bucket = bucket_with_keys(s3, "a b", "a+b", "a-b")
    assert listed(s3, bucket, "a b") == ["a b"]
    assert listed(s3, bucket, "a+b") == ["a+b"]

    tampered = s3client(gateway_server, keys)
    on_send(tampered, "ListObjectsV2", lambda url: url.replace("prefix=a%20b", "prefix=a+b"))
    status, code, _ = client_error(lambda: tampered.list_objects_v2(Bucket=bucket, Prefix="a b"))
    assert (status, code) == (403, "SignatureDoesNotMatch")


def test_sigv4_presigned_listing_with_a_swapped_space_is_refused(gateway_server: GatewayServer,
                                                                new_user: Callable[[], Keys]) -> None:
    s3 = boto3_client(gateway_server, new_user())
    bucket = bucket_with_keys(s3, "a b", "a+b")
    url = s3.generate_presigned_url("list_objects", Params={"Bucket": bucket, "Prefix": "a b"})
    assert "prefix=a%20b" in url
    ok = requests.get(url, timeout=30)
    assert ok.status_code == 200, ok.text
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    page = ET.fromstring(ok.content)
    assert page.findtext("s3:EncodingType", namespaces=ns) == "url"  # botocore asks; keys come form-encoded
    assert [unquote_plus(k.text) for k in page.findall("s3:Contents/s3:Key", ns)] == ["a b"]
    swapped = requests.get(url.replace("prefix=a%20b", "prefix=a+b"), timeout=30)
    status, code, root = error_of(swapped)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "a+b" not in swapped.text  # nothing was listed


@pytest.mark.parametrize("presigned", [False, True])
def test_sigv2_signed_override_cannot_be_swapped(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                                presigned: bool) -> None:
    """SigV2 signs the response-* overrides: signed as 'a b', sent as 'a+b', it must not run."""
    keys = new_user()
    s3 = boto3_client(gateway_server, keys)
    bucket = bucket_with_keys(s3, "k")
    v2 = s3client(gateway_server, keys, "s3")
    params = {"Bucket": bucket, "Key": "k", "ResponseContentDisposition": "a b"}
    if presigned:
        url = v2.generate_presigned_url("get_object", Params=params)
        assert "AWSAccessKeyId=" in url and "response-content-disposition=a%20b" in url
        ok = requests.get(url, timeout=30)
        assert (ok.status_code, ok.headers["Content-Disposition"], ok.content) == (200, "a b", b"k")
        status, code, _ = error_of(requests.get(url.replace("disposition=a%20b", "disposition=a+b"), timeout=30))
    else:
        got = v2.get_object(**params)
        assert (got["ContentDisposition"], got["Body"].read()) == ("a b", b"k")
        on_send(v2, "GetObject", lambda url: url.replace("disposition=a%20b", "disposition=a+b"))
        status, code, _ = client_error(lambda: v2.get_object(**params))
    assert (status, code) == (403, "SignatureDoesNotMatch")
    # A plus sent as a plus is a plus.
    got = s3client(gateway_server, keys, "s3").get_object(
        Bucket=bucket, Key="k", ResponseContentDisposition="a+b")
    assert got["ContentDisposition"] == "a+b"


def test_boto2_lists_spaces_and_pluses_as_they_are(gateway_server: GatewayServer,
                                                   new_user: Callable[[], Keys]) -> None:
    pytest.importorskip("boto")
    keys = new_user()
    bucket = bucket_with_keys(boto3_client(gateway_server, keys), "a b", "a+b", "a b/c")
    conn = boto2_connection(gateway_server, keys)
    b = conn.get_bucket(bucket, validate=False)
    assert [k.name for k in b.list("a b")] == ["a b", "a b/c"]
    assert [k.name for k in b.list("a+b")] == ["a+b"]
    assert sorted(p.name for p in b.list("a", delimiter=" ")) == ["a ", "a+b"]  # a common prefix, a key
    key = b.get_key("a+b", validate=False)
    assert key.get_contents_as_string(response_headers={"response-content-disposition": "x y+z"}) == b"a+b"
    assert key.content_disposition == "x y+z"


# -- repeated parameters --------------------------------------------------------------------------------------

def test_repeated_parameters_are_invalid_argument(gateway_server: GatewayServer,
                                                  new_user: Callable[[], Keys]) -> None:
    s3 = boto3_client(gateway_server, new_user())
    bucket = bucket_with_keys(s3, "a", "b")
    # Signed by the client, and still refused: which prefix would run?
    on_sign(s3, "ListObjectsV2", "prefix=b")
    status, code, error = client_error(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="a"))
    assert (status, code, error.get("ArgumentName")) == (400, "InvalidArgument", "prefix")

    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    on_sign(s3, "UploadPart", "uploadId=other")
    status, code, error = client_error(lambda: s3.upload_part(Bucket=bucket, Key="m", UploadId=upload,
                                                              PartNumber=1, Body=b"x" * 1024))
    assert (status, code, error.get("ArgumentName")) == (400, "InvalidArgument", "uploadId")
    assert s3.list_parts(Bucket=bucket, Key="m", UploadId=upload).get("Parts", []) == []

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
    signature = url.split("X-Amz-Signature=")[1]
    assert requests.get(url, timeout=30).content == b"a"
    status, code, root = error_of(requests.get(url + "&X-Amz-Signature=" + signature, timeout=30))
    assert (status, code, root.findtext("ArgumentName")) == (400, "InvalidArgument", "X-Amz-Signature")

    anonymous = requests.get(f"{gateway_server.url}/{bucket}?prefix=a&prefix=b", timeout=30)
    assert error_of(anonymous)[:2] == (400, "InvalidArgument")


# -- SigV2 under /awsapi/rest/AmazonS3 ------------------------------------------------------------------------

def test_sigv2_under_the_s3_prefix_verifies_as_botocore_and_boto2_sign_it(
        gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    v2 = s3client(gateway_server, keys, "s3", PREFIX)
    bucket = f"p-{uuid.uuid4().hex[:12]}"
    v2.create_bucket(Bucket=bucket)  # header SigV2, botocore leaves the prefix out of what it signs
    v2.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"prefixed")
    assert v2.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"prefixed"

    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    assert url.startswith(gateway_server.url + PREFIX + f"/{bucket}/") and "AWSAccessKeyId=" in url
    fetched = requests.get(url, timeout=30)
    assert (fetched.status_code, fetched.content) == (200, b"prefixed")
    put_url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    assert requests.put(put_url, data=b"via presigned PUT", timeout=30).status_code == 200
    assert v2.get_object(Bucket=bucket, Key="up")["Body"].read() == b"via presigned PUT"
    assert error_of(requests.get(url.replace("a%20b", "a%20c"), timeout=30))[:2] == (403, "SignatureDoesNotMatch")

    plain = s3client(gateway_server, keys, "s3")  # SigV2 without the prefix: bucket-level calls sign '/bucket/'
    assert [o["Key"] for o in plain.list_objects(Bucket=bucket, Prefix="dir/")["Contents"]] == ["dir/a b+c.txt"]
    plain.create_bucket(Bucket=bucket + "-2")
    assert bucket + "-2" in [b["Name"] for b in plain.list_buckets()["Buckets"]]

    pytest.importorskip("boto")
    conn = boto2_connection(gateway_server, keys)
    boto2_url = conn.generate_url(600, "GET", bucket, "dir/a b+c.txt")
    assert PREFIX + f"/{bucket}/" in boto2_url and "Signature=" in boto2_url
    fetched = requests.get(boto2_url, timeout=30)
    assert (fetched.status_code, fetched.content) == (200, b"prefixed")
    key = conn.get_bucket(bucket, validate=False).get_key("up")
    assert key.get_contents_as_string() == b"via presigned PUT"


@pytest.mark.parametrize("path", ["", PREFIX])
def test_sigv2_presigned_put_with_a_signed_content_type_and_md5(gateway_server: GatewayServer,
                                                                 new_user: Callable[[], Keys], path: str) -> None:
    """botocore's HmacV1QueryAuth copies Content-Type and Content-MD5 into the query as well: they sign their own
    lines of the string to sign, not x-amz-* lines (found by the fuzz test)."""
    import base64
    import hashlib

    keys = new_user()
    v2 = s3client(gateway_server, keys, "s3", path)
    bucket = f"ct-{uuid.uuid4().hex[:12]}"
    v2.create_bucket(Bucket=bucket)
    body = b"typed body"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    url = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "typed", "ContentType": "text/x-ec2",
                                                          "ContentMD5": md5})
    assert "content-type=" in url.lower()
    sent = requests.put(url, data=body, headers={"Content-Type": "text/x-ec2", "Content-MD5": md5}, timeout=30)
    assert sent.status_code == 200, sent.text
    head = v2.head_object(Bucket=bucket, Key="typed")
    assert head["ContentType"] == "text/x-ec2"
    other = requests.put(url, data=body, headers={"Content-Type": "text/plain", "Content-MD5": md5}, timeout=30)
    assert error_of(other)[:2] == (403, "SignatureDoesNotMatch")
