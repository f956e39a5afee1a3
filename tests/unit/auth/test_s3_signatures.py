"""S3 auth checked against requests signed by botocore (HmacV1, S3SigV4, presigners), boto 2, then tampered."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode, urlsplit

import boto3
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from ec2soap.auth import (AuthError, ContentSha256Check, HttpRequestInfo, authenticate_s3, parse_s3,
                          verify_s3)
from ec2soap.auth.s3_query import S3Query, S3QueryError
from ec2soap.auth.s3_signatures import SUBRESOURCES

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


# -- one decoding of the query: the values signed are the values the handlers read (issue 9) ------------------

PREFIX = "/awsapi/rest/AmazonS3"


def test_s3_query_decodes_once_as_s3_does():
    query = S3Query.parse("prefix=a+b&acl&x=%C3%A9&space=a%20b&&empty=")
    assert dict(query) == {"prefix": "a+b", "acl": "", "x": "é", "space": "a b", "empty": ""}
    assert [f.has_value for f in query.fields] == [True, False, True, True, True]
    assert query.canonical_v4() == "acl=&empty=&prefix=a%2Bb&space=a%20b&x=%C3%A9"
    assert query.v2_subresources(SUBRESOURCES) == "?acl"
    with pytest.raises(S3QueryError) as failure:
        S3Query.parse("x=%FF")  # not UTF-8
    assert failure.value.code == "InvalidURI"
    with pytest.raises(S3QueryError) as failure:
        S3Query.parse("prefix=a&delimiter=/&prefix=b")
    assert (failure.value.code, failure.value.argument_name) == ("InvalidArgument", "prefix")


def _signed(scheme, name, value):
    """GET /bucket/k?NAME=VALUE (a response-* override, signed by SigV2 too) signed by botocore in SCHEME."""
    params = {"Bucket": "bucket", "Key": "k", "ResponseContentDisposition": value}
    if scheme in ("sigv2-query", "sigv4-query"):
        version = "s3" if scheme == "sigv2-query" else "s3v4"
        return from_url("GET", client(version, "path").generate_presigned_url("get_object", Params=params))
    rest = "/k?" + urlencode({name: value}, quote_via=quote)
    return from_prepared((sign_v2 if scheme == "sigv2" else sign_v4)("GET", rest, b"", {}))


SCHEMES = ["sigv2", "sigv2-query", "sigv4", "sigv4-query"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_plus_in_the_query_is_a_plus_in_every_scheme(scheme):
    name = "response-content-disposition"
    spaced = _signed(scheme, name, "a b")
    assert f"{name}=a%20b" in spaced.query
    assert verify(spaced).scheme == scheme
    assert S3Query.parse(spaced.query)[name] == "a b"
    # Signed as a space, sent as '+': the handler would read a plus, so the signature must not hold.
    sent_plus = replace(spaced, query=spaced.query.replace(f"{name}=a%20b", f"{name}=a+b"))
    assert code_of(sent_plus) == "SignatureDoesNotMatch"
    # Signed as a plus (%2B), sent as a bare '+': the same value, read the same way by both.
    plus = _signed(scheme, name, "a+b")
    bare = replace(plus, query=plus.query.replace(f"{name}=a%2Bb", f"{name}=a+b"))
    assert bare.query != plus.query
    assert verify(bare).scheme == scheme
    assert S3Query.parse(bare.query)[name] == "a+b"


@pytest.mark.parametrize("presigned", [False, True])
def test_sigv4_listing_signed_with_a_space_cannot_run_with_a_plus(presigned):
    if presigned:
        url = client("s3v4", "path").generate_presigned_url("list_objects", Params={"Bucket": "bucket",
                                                                                  "Prefix": "a b"})
        request = from_url("GET", url)
    else:
        request = from_prepared(sign_v4("GET", "/?prefix=a%20b", b"", {}))
    assert verify(request).access_key == ACCESS_KEY
    assert code_of(replace(request, query=request.query.replace("prefix=a%20b", "prefix=a+b"))) \
        == "SignatureDoesNotMatch"
    # The one canonical query is the decoded values re-encoded: a client's own encoding of them is accepted.
    lower = replace(request, query=request.query.replace("prefix=a%20b", "prefix=a%20%62"))
    assert verify(lower).access_key == ACCESS_KEY


@pytest.mark.parametrize("scheme,extra", [
    ("sigv4-query", "X-Amz-Signature=" + "0" * 64),
    ("sigv2-query", "Signature=AAAA"),
    ("sigv4", "response-content-disposition=other"),
    ("sigv2", "response-content-disposition=other"),
])
def test_a_repeated_parameter_is_refused_in_every_scheme(scheme, extra):
    request = _signed(scheme, "response-content-disposition", "a b")
    for twice in (request.query + "&" + extra, extra + "&" + request.query):
        with pytest.raises(S3QueryError) as failure:
            parse_s3(replace(request, query=twice))
        assert failure.value.code == "InvalidArgument"
        assert failure.value.argument_name == extra.split("=")[0]


def test_botocore_sigv2_presigned_under_the_s3_prefix_leaves_the_prefix_out():
    boto = client("s3", "path", PATH_HOST + PREFIX)
    url = boto.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "dir/a b+c.txt"})
    request = from_url("GET", url)
    assert request.path == PREFIX + "/bucket/dir/a%20b%2Bc.txt"
    assert verify_s3(parse_s3(request, path_prefix=PREFIX), SECRET_KEY).scheme == "sigv2-query"
    with pytest.raises(AuthError) as failure:  # botocore did not sign the prefix
        verify_s3(parse_s3(request), SECRET_KEY)
    assert failure.value.code == "SignatureDoesNotMatch"
    # The header form as botocore's serializer signs it: auth_path '/bucket/key' below a prefixed URL.
    prepared = sign_v2("GET", "/k?acl", b"", {}, prefix=PREFIX)
    header = AWSRequest(method="GET", url=f"{PATH_HOST}{PREFIX}/bucket/k?acl")
    header.auth_path = "/bucket/k"
    HmacV1Auth(CREDS).add_auth(header)
    for signed in (prepared, header.prepare()):
        assert verify_s3(parse_s3(from_prepared(signed), path_prefix=PREFIX), SECRET_KEY).scheme == "sigv2"
    # A prefix the path does not have changes nothing, and a tampered path still fails.
    other = from_prepared(sign_v2("GET", "/k", b"", {}))
    assert verify_s3(parse_s3(other, path_prefix=PREFIX), SECRET_KEY).scheme == "sigv2"
    moved = replace(request, path=PREFIX + "/bucket/dir/other")
    with pytest.raises(AuthError):
        verify_s3(parse_s3(moved, path_prefix=PREFIX), SECRET_KEY)


@pytest.mark.boto2
def test_boto2_sigv2_presigned_under_the_s3_prefix_signs_the_prefix():
    pytest.importorskip("boto")
    from boto.s3.connection import OrdinaryCallingFormat, S3Connection

    conn = S3Connection(ACCESS_KEY, SECRET_KEY, is_secure=False, host="127.0.0.1", port=7080, path=PREFIX,
                        calling_format=OrdinaryCallingFormat())
    url = conn.generate_url(600, "GET", "bucket", "dir/a b.txt",
                            response_headers={"response-content-disposition": "a b"})
    request = from_url("GET", url)
    assert request.path.startswith(PREFIX + "/bucket/")
    assert verify_s3(parse_s3(request, path_prefix=PREFIX), SECRET_KEY).scheme == "sigv2-query"
    assert verify_s3(parse_s3(request), SECRET_KEY).scheme == "sigv2-query"


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_botocore_sigv2_bucket_requests_sign_a_trailing_slash(prefix):
    """botocore's auth_path for a bucket-level request is '/bucket/' while it sends '/bucket'."""
    request = AWSRequest(method="GET", url=f"{PATH_HOST}{prefix}/bucket?prefix=a%20b&acl")
    request.auth_path = "/bucket/"
    HmacV1Auth(CREDS).add_auth(request)
    info = from_prepared(request.prepare())
    assert info.path == prefix + "/bucket"
    assert verify_s3(parse_s3(info, path_prefix=PREFIX), SECRET_KEY).scheme == "sigv2"
    with pytest.raises(AuthError):  # another bucket is another resource
        verify_s3(parse_s3(replace(info, path=prefix + "/bucket2"), path_prefix=PREFIX), SECRET_KEY)
