"""EC2 Query auth checked against requests signed by botocore and boto 2, then tampered with."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ec2soap.auth import AuthError, HttpRequestInfo, authenticate_ec2, parse_ec2, verify_ec2
from ec2soap.auth.signatures import parse_timestamp

from .conftest import ACCESS_KEY, SECRET_KEY, from_boto2, from_prepared, secrets

CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
ENDPOINT = "http://ec2.example.com:7080/awsapi"
PARAMS = {"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-0123",
          "Filter.1.Name": "tag:Name", "Filter.1.Value.1": "web server+1 ~*/é"}
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def sign_v2_post(params=PARAMS):
    request = AWSRequest(method="POST", url=ENDPOINT, data=dict(params), headers={"Content-Type": FORM})
    SigV2Auth(CREDS).add_auth(request)
    return request.prepare()


def sign_v2_get(params=PARAMS):
    request = AWSRequest(method="GET", url=ENDPOINT, params=dict(params))
    SigV2Auth(CREDS).add_auth(request)
    return request.prepare()


def sign_v4_post(params=PARAMS, region="us-east-1", service="ec2"):
    request = AWSRequest(method="POST", url=ENDPOINT + "/", data=dict(params), headers={"Content-Type": FORM})
    SigV4Auth(CREDS, service, region).add_auth(request)
    return request.prepare()


def sign_v4_query(params=PARAMS, expires=300, method="GET"):
    request = AWSRequest(method=method, url=ENDPOINT, params=dict(params))
    SigV4QueryAuth(CREDS, "ec2", "eu-west-1", expires=expires).add_auth(request)
    return request.prepare()


def code_of(request: HttpRequestInfo, secret=SECRET_KEY, now=None) -> str:
    with pytest.raises(AuthError) as failure:
        verify_ec2(parse_ec2(request, now), secret)
    assert SECRET_KEY not in str(failure.value)
    return failure.value.code


# --- accepted ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sign", [sign_v2_post, sign_v2_get, sign_v4_post, sign_v4_query])
def test_botocore_signed_requests_verify(sign):
    request = from_prepared(sign())
    assert authenticate_ec2(request, secrets) == ACCESS_KEY


def test_two_steps_let_the_adapter_look_the_secret_up_in_between():
    parsed = parse_ec2(from_prepared(sign_v4_post(region="zone-1")))
    assert (parsed.access_key, parsed.scheme, parsed.region) == (ACCESS_KEY, "sigv4", "zone-1")
    assert verify_ec2(parsed, secrets(parsed.access_key)) == ACCESS_KEY


def test_sigv2_post_with_form_parsed_by_the_adapter_and_no_raw_body():
    prepared = sign_v2_post()
    form = parse_qsl(prepared.body.decode() if isinstance(prepared.body, bytes) else prepared.body)
    request = from_prepared(prepared, form=form, body=None)
    assert authenticate_ec2(request, secrets) == ACCESS_KEY


def test_sigv4_presigned_post_moves_the_form_into_the_query():
    assert authenticate_ec2(from_prepared(sign_v4_query(method="POST")), secrets) == ACCESS_KEY


def v2_request(method_name, digest, params, method="GET", host="ec2.example.com:7080", path="/awsapi/",
               encode=lambda v: quote(v, safe="-_~")):
    """SigV2 as ec2-api-tools and boto 2 build it, with HmacSHA1 or HmacSHA256."""
    params = dict(params, AWSAccessKeyId=ACCESS_KEY, SignatureVersion="2", SignatureMethod=method_name)
    query = "&".join(f"{quote(k, safe='')}={encode(v)}" for k, v in sorted(params.items()))
    sts = f"{method}\n{host.lower()}\n{path}\n{query}"
    signature = base64.b64encode(hmac.new(SECRET_KEY.encode(), sts.encode(), digest).digest()).decode()
    return HttpRequestInfo(method, path, f"{query}&Signature={quote_plus(signature)}", {"Host": host})


@pytest.mark.parametrize("name,digest", [("HmacSHA1", hashlib.sha1), ("HmacSHA256", hashlib.sha256)])
def test_sigv2_sha1_and_sha256(name, digest, now):
    params = dict(PARAMS, Timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert authenticate_ec2(v2_request(name, digest, params), secrets) == ACCESS_KEY


def test_sigv2_register_tool_signs_its_quote_plus_encoding_as_sent(now):
    """cloudstack-aws-api-register: GET, quote_plus values, signature over the query as built."""
    cert = "-----BEGIN CERTIFICATE-----\nMIIB+/x=\n-----END CERTIFICATE-----\n"
    params = {"Action": "SetCertificate", "Version": "2012-08-15", "cert": cert,
              "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
    request = v2_request("HmacSHA1", hashlib.sha1, params, host="Cloud.Example.com:7080",
                         path="/awsapi", encode=lambda v: quote_plus(v))
    assert authenticate_ec2(request, secrets) == ACCESS_KEY


def test_sigv2_expires_in_the_future(now):
    params = dict(PARAMS, Expires=(now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    assert authenticate_ec2(v2_request("HmacSHA256", hashlib.sha256, params), secrets) == ACCESS_KEY


@pytest.mark.boto2
@pytest.mark.parametrize("handler", ["v2-sha256", "v2-sha1", "v4"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_boto2_signed_requests_verify(handler, method):
    boto = pytest.importorskip("boto")
    import boto.auth
    from boto.ec2.connection import EC2Connection
    from boto.ec2.regioninfo import RegionInfo

    conn = EC2Connection(ACCESS_KEY, SECRET_KEY, is_secure=False, port=7080, path="/awsapi",
                         region=RegionInfo(name="zone-1", endpoint="ec2.example.com"))
    if handler.startswith("v2"):
        auth = boto.auth.QuerySignatureV2AuthHandler(conn.host, boto.config, conn.provider)
        if handler == "v2-sha1":
            auth._hmac_256 = None  # boto 2 falls back to HmacSHA1 when SHA-256 is unavailable
        conn._auth_handler = auth
    params = {"Action": "DescribeInstances", "Version": conn.APIVersion, "Filter.1.Value.1": "a b"}
    http_request = conn.build_base_http_request(method, "/", None, dict(params), {}, "", conn.host)
    if method == "POST":
        http_request.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
    http_request.authorize(connection=conn)
    conn.set_host_header(http_request)  # what boto 2's _mexe does next, before sending
    if method == "POST" and handler == "v4":
        # boto 2 leaves the POST form in params and sends it urlencoded as the body
        body = http_request.body or urlencode(http_request.params)
        http_request.body = body
    request = from_boto2(http_request)
    assert authenticate_ec2(request, secrets) == ACCESS_KEY
    assert parse_ec2(request).algorithm == {"v2-sha256": "HmacSHA256", "v2-sha1": "HmacSHA1",
                                            "v4": "AWS4-HMAC-SHA256"}[handler]


# --- tampered ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sign", [sign_v2_post, sign_v4_post])
def test_tampered_body(sign):
    prepared = sign()
    body = prepared.body if isinstance(prepared.body, bytes) else prepared.body.encode()
    assert code_of(from_prepared(prepared, body=body.replace(b"i-0123", b"i-0124"))) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("sign", [sign_v2_get, sign_v4_query])
def test_tampered_param(sign):
    request = from_prepared(sign())
    assert code_of(replace(request, query=request.query.replace("i-0123", "i-9999"))) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("sign", [sign_v2_get, sign_v2_post, sign_v4_post, sign_v4_query])
def test_tampered_host(sign):
    request = from_prepared(sign())
    assert code_of(replace(request, host="evil.example.com:7080")) == "SignatureDoesNotMatch"


def test_extra_query_param_on_a_signed_post_is_not_ignored():
    request = from_prepared(sign_v2_post())
    assert code_of(replace(request, query="InstanceId.2=i-evil")) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("sign", [sign_v2_post, sign_v4_post])
@pytest.mark.parametrize("shift", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_outside_the_clock_skew_window(sign, shift):
    request = from_prepared(sign())
    assert code_of(request, now=datetime.now(timezone.utc) + shift) == "RequestExpired"


def test_skew_window_is_configurable():
    request = from_prepared(sign_v2_post())
    later = datetime.now(timezone.utc) + timedelta(minutes=3)
    with pytest.raises(AuthError) as failure:
        parse_ec2(request, later, max_skew=timedelta(minutes=2))
    assert failure.value.code == "RequestExpired"
    parse_ec2(request, later)


def test_presigned_expiry():
    request = from_prepared(sign_v4_query(expires=60))
    assert code_of(request, now=datetime.now(timezone.utc) + timedelta(seconds=90)) == "RequestExpired"


@pytest.mark.parametrize("sign", [sign_v2_post, sign_v4_post, sign_v4_query])
def test_unknown_key_and_wrong_secret(sign):
    request = from_prepared(sign())
    assert code_of(request, secret=None) == "AuthFailure"
    assert code_of(request, secret="not-the-secret") == "SignatureDoesNotMatch"


def test_mismatch_message_has_no_secret_and_no_computed_signature():
    with pytest.raises(AuthError) as failure:
        authenticate_ec2(from_prepared(sign_v4_post()), lambda key: "other-secret")
    assert "other-secret" not in str(failure.value)
    assert all(len(word) < 40 for word in str(failure.value).split())
    assert failure.value.string_to_sign.startswith("AWS4-HMAC-SHA256\n")


@pytest.mark.parametrize("drop", ["AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion",
                                  "Timestamp"])
def test_sigv2_missing_parameter(drop, now):
    params = dict(PARAMS, Timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    request = v2_request("HmacSHA256", hashlib.sha256, params)
    kept = "&".join(f for f in request.query.split("&") if not f.startswith(drop + "="))
    assert code_of(replace(request, query=kept)) == "MissingParameter"


def test_no_auth_at_all_is_missing_parameter():
    assert code_of(HttpRequestInfo("GET", "/", "Action=DescribeRegions", {"Host": "h"})) == "MissingParameter"


@pytest.mark.parametrize("field,value,code", [
    ("Expires", "next tuesday", "InvalidParameterValue"),
    ("Expires", "2001-01-01T00:00:00Z", "RequestExpired"),
    ("Timestamp", "2001-01-01T00:00:00Z", "RequestExpired"),
    ("Timestamp", "not-a-date", "InvalidParameterValue"),
])
def test_sigv2_time_parameters(field, value, code):
    request = v2_request("HmacSHA256", hashlib.sha256, dict(PARAMS, **{field: value}))
    assert code_of(request) == code


def test_sigv2_unsupported_method_and_version(now):
    params = dict(PARAMS, Timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert code_of(v2_request("HmacMD5", hashlib.md5, params)) == "InvalidParameterValue"
    request = v2_request("HmacSHA256", hashlib.sha256, params)
    assert code_of(replace(request, query=request.query.replace("SignatureVersion=2", "SignatureVersion=1"))) \
        == "InvalidParameterValue"


@pytest.mark.parametrize("mangle", [
    lambda a: a.replace("SignedHeaders=", "Signedheaders="),
    lambda a: a.split(", Signature=")[0],
    lambda a: a.replace("Credential=" + ACCESS_KEY + "/", "Credential=" + ACCESS_KEY + "-"),
    lambda a: a.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;"),
])
def test_malformed_sigv4_header_is_incomplete_signature(mangle):
    request = from_prepared(sign_v4_post())
    headers = [(k, mangle(v) if k == "authorization" else v) for k in request.header_names()
               for v in request.header_values(k)]
    assert code_of(replace(request, headers=headers)) == "IncompleteSignature"


def test_sigv4_host_derived_service_verifies_and_scope_date_must_match():
    # boto 2 names the service after the endpoint's first host label; the signature covers it.
    assert verify_ec2(parse_ec2(from_prepared(sign_v4_post(service="127"))), SECRET_KEY) == ACCESS_KEY
    request = from_prepared(sign_v4_post())
    auth = request.header("authorization")
    day = request.header("x-amz-date")[:8]
    other = (datetime.strptime(day, "%Y%m%d") - timedelta(days=1)).strftime("%Y%m%d")
    headers = [(k, request.header(k)) for k in request.header_names() if k != "authorization"]
    headers.append(("Authorization", auth.replace(f"/{day}/", f"/{other}/")))
    assert code_of(replace(request, headers=headers)) == "SignatureDoesNotMatch"


def test_sigv4_tampered_date_header():
    request = from_prepared(sign_v4_post())
    stamp = datetime.strptime(request.header("x-amz-date"), "%Y%m%dT%H%M%SZ") + timedelta(seconds=1)
    headers = [(k, request.header(k)) for k in request.header_names() if k != "x-amz-date"]
    headers.append(("X-Amz-Date", stamp.strftime("%Y%m%dT%H%M%SZ")))
    assert code_of(replace(request, headers=headers)) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("text,expected", [
    ("2026-11-25T12:00:00Z", datetime(2026, 11, 25, 12, tzinfo=timezone.utc)),
    ("2026-11-25T12:00:00.123Z", datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=timezone.utc)),
    ("2026-11-25T13:30:00+01:30", datetime(2026, 11, 25, 12, tzinfo=timezone.utc)),
    ("2026-11-25T12:00:00", datetime(2026, 11, 25, 12, tzinfo=timezone.utc)),
    ("Wed Nov 25 12:00:00 UTC 2026", datetime(2026, 11, 25, 12, tzinfo=timezone.utc)),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected
