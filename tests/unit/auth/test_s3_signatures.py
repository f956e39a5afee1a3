"""S3 auth checked against requests signed by botocore (HmacV1, S3SigV4, presigners), boto 2, then tampered."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from ec2soap.auth import (AuthError, ContentSha256Check, HttpRequestInfo, authenticate_s3, parse_s3,
                          verify_s3)

from .conftest import ACCESS_KEY, SECRET_KEY, from_prepared, from_url, secrets

CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
PATH_HOST = "http://127.0.0.1:7080"
VHOST = "s3.example.com:7080"
BODY = b"hello, object\n"
MD5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
DELETE_XML = b"<Delete><Object><Key>a</Key></Object></Delete>"

# (method, path and query after the bucket, body, extra headers)
CASES = [
    ("PUT", "/my%20key/x.txt", BODY, {"Content-Type": "text/plain", "Content-MD5": MD5,
                                      "x-amz-meta-Owner": "  ann ", "x-amz-acl": "private"}),
    ("GET", "/my%20key/x.txt?response-content-type=text%2Fhtml&response-content-disposition=a%20b", b"", {}),
    ("GET", "/x.txt?versionId=3&acl", b"", {}),
    ("HEAD", "/x.txt", b"", {}),
    ("DELETE", "/x.txt?uploadId=abc", b"", {}),
    ("PUT", "/x.txt?partNumber=2&uploadId=abc", BODY, {}),
    ("POST", "/x.txt?uploads", b"", {}),
    ("POST", "/?delete", DELETE_XML, {"Content-MD5": base64.b64encode(hashlib.md5(DELETE_XML).digest()).decode()}),
    ("GET", "/?list-type=2&prefix=a%2Fb&max-keys=5", b"", {}),
    ("PUT", "/?versioning", b"<VersioningConfiguration/>", {}),
]


def sign_v2(method, rest, body, headers, virtual=False, prefix=""):
    if virtual:
        url, auth_path = f"http://bucket.{VHOST}{rest}", "/bucket" + rest.split("?")[0]
    else:
        url, auth_path = f"{PATH_HOST}{prefix}/bucket{rest}", None
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.auth_path = auth_path
    HmacV1Auth(CREDS).add_auth(request)
    return request.prepare()


def sign_v4(method, rest, body, headers, virtual=False, context=None):
    url = f"http://bucket.{VHOST}{rest}" if virtual else f"{PATH_HOST}/bucket{rest}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.context.update(context or {})
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    return request.prepare()


def verify(request, bucket=None, secret=SECRET_KEY, now=None):
    return verify_s3(parse_s3(request, now, virtual_host_bucket=bucket), secret)


def code_of(request, bucket=None, secret=SECRET_KEY, now=None) -> str:
    with pytest.raises(AuthError) as failure:
        verify(request, bucket, secret, now)
    assert SECRET_KEY not in str(failure.value)
    return failure.value.code


@pytest.mark.parametrize("method,rest,body,headers", CASES)
@pytest.mark.parametrize("virtual", [False, True])
def test_sigv2_header(method, rest, body, headers, virtual):
    request = from_prepared(sign_v2(method, rest, body, headers, virtual))
    result = verify(request, "bucket" if virtual else None)
    assert (result.access_key, result.scheme, result.payload_mode) == (ACCESS_KEY, "sigv2", "none")


@pytest.mark.parametrize("method,rest,body,headers", CASES)
@pytest.mark.parametrize("virtual", [False, True])
def test_sigv4_header(method, rest, body, headers, virtual):
    request = from_prepared(sign_v4(method, rest, body, headers, virtual))
    result = verify(request, "bucket" if virtual else None)
    assert (result.access_key, result.scheme, result.payload_mode) == (ACCESS_KEY, "sigv4", "sha256")
    assert result.content_sha256 == hashlib.sha256(body).hexdigest()


def test_sigv2_path_prefix_of_the_original_is_signed():
    prepared = sign_v2("GET", "/k", b"", {}, prefix="/awsapi/rest/AmazonS3")
    assert verify(from_prepared(prepared)).access_key == ACCESS_KEY


def test_sigv2_with_x_amz_date_signs_an_empty_date_line():
    """boto 2 and s3cmd put the date in x-amz-date and leave the Date line empty."""
    import hmac
    stamp = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    sts = f"GET\n\n\n\nx-amz-date:{stamp}\n/bucket/k"
    sig = base64.b64encode(hmac.new(SECRET_KEY.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    request = HttpRequestInfo("GET", "/bucket/k", "", {"Host": "h", "x-amz-date": stamp,
                                                       "Authorization": f"AWS {ACCESS_KEY}:{sig}"})
    assert verify(request).access_key == ACCESS_KEY


@pytest.mark.boto2
@pytest.mark.parametrize("calling", ["path", "virtual"])
def test_boto2_sigv2(calling):
    pytest.importorskip("boto")
    from boto.s3.connection import OrdinaryCallingFormat, S3Connection, SubdomainCallingFormat

    from .conftest import from_boto2
    fmt = OrdinaryCallingFormat() if calling == "path" else SubdomainCallingFormat()
    conn = S3Connection(ACCESS_KEY, SECRET_KEY, is_secure=False, host="s3.example.com", port=7080,
                        calling_format=fmt)
    host = fmt.build_host(conn.server_name(), "bucket")
    path = fmt.build_path_base("bucket", "my key/x.txt")
    auth_path = fmt.build_auth_path("bucket", "my key/x.txt")
    http_request = conn.build_base_http_request(
        "PUT", path + "?acl", auth_path + "?acl", {}, {"Content-Type": "text/plain", "x-amz-meta-a": "b"},
        BODY, host)
    http_request.authorize(connection=conn)
    request = from_boto2(http_request, body=BODY)
    request = replace(request, host=host)
    assert verify(request, "bucket" if calling == "virtual" else None).access_key == ACCESS_KEY


def client(signature_version, addressing_style, endpoint=PATH_HOST):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(signature_version=signature_version,
                                      s3={"addressing_style": addressing_style}))


@pytest.mark.parametrize("version", ["s3v4", "s3"])
@pytest.mark.parametrize("style", ["path", "virtual"])
@pytest.mark.parametrize("operation,params,method", [
    ("get_object", {"Key": "dir/my key+1.txt", "ResponseContentType": "text/plain"}, "GET"),
    ("put_object", {"Key": "k"}, "PUT"),
    ("delete_object", {"Key": "k", "VersionId": "7"}, "DELETE"),
])
def test_presigned_urls(version, style, operation, params, method):
    endpoint = "http://s3.example.com:7080" if style == "virtual" else PATH_HOST
    url = client(version, style, endpoint).generate_presigned_url(
        operation, Params={"Bucket": "bucket", **params}, ExpiresIn=600)
    assert (urlsplit(url).netloc.startswith("bucket.")) == (style == "virtual")
    request = from_url(method, url)
    result = verify(request, "bucket" if style == "virtual" else None)
    assert result.access_key == ACCESS_KEY
    assert result.scheme == ("sigv4-query" if version == "s3v4" else "sigv2-query")
    later = datetime.now(timezone.utc) + timedelta(seconds=700)
    assert code_of(request, "bucket" if style == "virtual" else None, now=later) == "AccessDenied"
    tampered = replace(request, path=request.path.replace("k", "q"))
    assert code_of(tampered, "bucket" if style == "virtual" else None) == "SignatureDoesNotMatch"


def test_presigned_v4_expires_beyond_a_week_is_refused():
    url = client("s3v4", "path").generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": "k"}, ExpiresIn=604800)
    assert verify(from_url("GET", url)).access_key == ACCESS_KEY
    too_long = url.replace("X-Amz-Expires=604800", "X-Amz-Expires=604801")
    assert code_of(from_url("GET", too_long)) == "AuthorizationQueryParametersError"
    assert code_of(from_url("GET", url.replace("X-Amz-Credential", "X-Amz-Credentials"))) \
        == "AuthorizationQueryParametersError"


def test_unsigned_payload():
    prepared = sign_v4("PUT", "/k", BODY, {},
                       context={"client_config": Config(s3={"payload_signing_enabled": False})})
    assert prepared.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    result = verify(from_prepared(prepared, body=BODY + b"anything"))
    assert result.payload_mode == "unsigned"


def test_payload_hash_checked_when_known_and_later_when_streamed():
    prepared = sign_v4("PUT", "/k", BODY, {})
    assert code_of(from_prepared(prepared, body=b"other")) == "XAmzContentSHA256Mismatch"
    result = verify(from_prepared(prepared, body=None))  # the adapter has not read the body yet
    check = ContentSha256Check(result.content_sha256)
    check.update(b"other")
    with pytest.raises(AuthError) as failure:
        check.finish()
    assert failure.value.code == "XAmzContentSHA256Mismatch"


@pytest.mark.parametrize("sign", [sign_v2, sign_v4])
def test_tampering(sign):
    method, rest, body, headers = CASES[0]
    request = from_prepared(sign(method, rest, body, headers), body=None)
    if sign is sign_v4:  # SigV2 does not sign the host of a path-style request
        assert code_of(replace(request, host="other.example.com")) == "SignatureDoesNotMatch"
    assert code_of(replace(request, path=request.path + "2")) == "SignatureDoesNotMatch"
    changed = [(k, "text/html" if k == "content-type" else v) for k in request.header_names()
               for v in request.header_values(k)]
    assert code_of(replace(request, headers=changed)) == "SignatureDoesNotMatch"
    assert code_of(request, secret=None) == "InvalidAccessKeyId"
    assert code_of(request, secret="wrong") == "SignatureDoesNotMatch"
    assert code_of(request, now=datetime.now(timezone.utc) + timedelta(minutes=16)) == "RequestTimeTooSkewed"


def test_sub_resource_is_signed_for_sigv2():
    request = from_prepared(sign_v2("GET", "/k?acl", b"", {}))
    assert code_of(replace(request, query="policy")) == "SignatureDoesNotMatch"


def test_anonymous_and_malformed():
    assert parse_s3(HttpRequestInfo("GET", "/bucket/k", "", {"Host": "h"})) is None
    assert authenticate_s3(HttpRequestInfo("GET", "/bucket/k", "", {"Host": "h"}), secrets) is None
    with pytest.raises(AuthError) as failure:
        parse_s3(HttpRequestInfo("GET", "/b", "", {"Host": "h", "Authorization": "Basic abc"}))
    assert failure.value.code == "InvalidArgument"
    with pytest.raises(AuthError) as failure:
        parse_s3(HttpRequestInfo("GET", "/b", "", {"Host": "h", "Authorization": "AWS nocolon"}))
    assert failure.value.code == "InvalidArgument"
    with pytest.raises(AuthError) as failure:
        parse_s3(HttpRequestInfo("GET", "/b", "", {"Host": "h", "Authorization": "AWS a:b"}))
    assert failure.value.code == "AccessDenied"  # no Date


def test_sigv4_without_content_sha256_header():
    request = from_prepared(sign_v4("GET", "/k", b"", {}))
    headers = [(k, request.header(k)) for k in request.header_names() if k != "x-amz-content-sha256"]
    with pytest.raises(AuthError) as failure:
        parse_s3(replace(request, headers=headers))
    assert failure.value.code == "MissingSecurityHeader"
