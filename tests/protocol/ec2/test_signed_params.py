"""The request that runs is the request that was signed, through the real server.

Hostile requests are crafted with `requests` from requests signed by botocore (SigV2, SigV4 header and
presigned) and answers are read with botocore's own EC2 parser, as a client would read them. Then boto3,
awscli and boto 2 (SigV4 and SigV2) send values with spaces, '+', '%' and unicode: each arrives as sent.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import create_parser

from tests.protocol.conftest import REGION, EC2Client, GatewayServer, Keys
from tests.protocol.ec2.test_tags import create, describe, group

FORM = "application/x-www-form-urlencoded; charset=utf-8"
VALUES = {"space": "a b", "plus": "a+b", "percent": "100%", "escaped": "%2B", "unicode": "é☃~ 😀"}


def send(prepared: Any, *, url: str | None = None, body: Any = None, headers: dict | None = None,
         method: str | None = None) -> requests.Response:
    """Send a botocore-prepared request as is, or with parts replaced (what an attacker holding it can do)."""
    sent_headers = dict(prepared.headers) if headers is None else headers
    data = prepared.body if body is None else body
    return requests.request(method or prepared.method, url or prepared.url, data=data, headers=sent_headers,
                            timeout=30)


def answer(response: requests.Response) -> dict:
    """The response as botocore's EC2 parser reads it: {"Error": {"Code": ...}} for an error."""
    parsed = create_parser("ec2").parse({"status_code": response.status_code, "headers": response.headers,
                                         "body": response.content}, None)
    return parsed


def error_of(response: requests.Response) -> tuple[int, str]:
    return response.status_code, answer(response).get("Error", {}).get("Code", "")


def tags_in(response: requests.Response) -> set[tuple[str, str]]:
    """(key, value) of each tag in a DescribeTags answer (parsed with lxml; botocore needs the shape)."""
    from lxml import etree

    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    ns = {"e": root.nsmap[None]}
    return {(item.findtext("e:key", namespaces=ns), item.findtext("e:value", namespaces=ns))
            for item in root.iterfind("e:tagSet/e:item", ns)}


def signed(server: GatewayServer, keys: Keys, scheme: str, params: dict[str, str], path: str = "/") -> Any:
    """A botocore-prepared request for PARAMS to PATH, signed with SCHEME."""
    creds = Credentials(keys.access_key, keys.secret_key)
    url = server.url + path
    if scheme in ("sigv2-post", "sigv4-post"):
        request = AWSRequest(method="POST", url=url, data=dict(params), headers={"Content-Type": FORM})
    else:
        request = AWSRequest(method="GET", url=url, params=dict(params))
    if scheme.startswith("sigv2"):
        SigV2Auth(creds).add_auth(request)
    elif scheme == "sigv4-presigned":
        SigV4QueryAuth(creds, "ec2", REGION, expires=300).add_auth(request)
    else:
        SigV4Auth(creds, "ec2", REGION).add_auth(request)
    return request.prepare()


SCHEMES = ["sigv2-get", "sigv2-post", "sigv4-get", "sigv4-post", "sigv4-presigned"]


@pytest.fixture
def tagged(gateway_server: GatewayServer, new_user: Any, ec2_of: Any) -> tuple[Keys, str]:
    """A fresh user with a security group tagged with every VALUES entry (set through boto3)."""
    keys = new_user()
    client = ec2_of("boto3", keys)
    sg = group(client, "signed")
    create(client, [sg], VALUES)
    return keys, sg


def describe_params(value: str) -> dict[str, str]:
    return {"Action": "DescribeTags", "Version": "2016-11-15", "Filter.1.Name": "value",
            "Filter.1.Value.1": value}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_scheme_runs_the_signed_filter(gateway_server: GatewayServer, tagged: Any, scheme: str) -> None:
    keys, _ = tagged
    for name, value in VALUES.items():
        assert tags_in(send(signed(gateway_server, keys, scheme, describe_params(value)))) == {(name, value)}


# --- the moved-fields attack ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", None])
@pytest.mark.parametrize("scheme", ["sigv2-get", "sigv2-post", "sigv4-presigned"])
def test_signed_filter_moved_into_a_text_body_is_refused(gateway_server: GatewayServer, tagged: Any, scheme: str,
                                                         content_type: str | None) -> None:
    """A captured request whose Filter.* fields are moved into a body that is not a form (the rest in the
    query string) would list every tag if the body were ignored: it is refused."""
    keys, _ = tagged
    prepared = signed(gateway_server, keys, scheme, describe_params("a b"))
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    fields = [f for f in (parts.query + "&" + (body.decode() if isinstance(body, bytes) else body)).split("&") if f]
    query = "&".join(f for f in fields if not f.startswith("Filter."))
    moved = "&".join(f for f in fields if f.startswith("Filter.")).encode()
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-type"}
    if content_type:
        headers["Content-Type"] = content_type
    response = send(prepared, url=f"{gateway_server.url}/?{query}", body=moved, headers=headers)
    assert error_of(response) == (400, "InvalidParameterValue")
    assert "x-www-form-urlencoded" in answer(response)["Error"]["Message"]


@pytest.mark.parametrize("content_type", ["text/plain", None])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_sigv4_signed_text_body_is_refused_not_dropped(gateway_server: GatewayServer, tagged: Any, method: str,
                                                         content_type: str | None) -> None:
    """SigV4 signs the body's hash whatever its type, so the signature is good: the fields in it are still not
    parameters, and running the request without them would run what nobody signed."""
    keys, _ = tagged
    request = AWSRequest(method=method, url=gateway_server.url + "/?Action=DescribeTags&Version=2016-11-15",
                         data=urlencode({"Filter.1.Name": "value", "Filter.1.Value.1": "a b"}),
                         headers={"Content-Type": content_type} if content_type else {})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "ec2", REGION).add_auth(request)
    prepared = request.prepare()
    assert error_of(send(prepared)) == (400, "InvalidParameterValue")


# --- one decoding of '+' --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_plus_signed_as_2B_but_sent_raw_is_refused(gateway_server: GatewayServer, tagged: Any,
                                                     scheme: str) -> None:
    """Signed: the tag value 'a+b'. Sent: 'a+b' with a raw '+', which is 'a b' once decoded: never run as either."""
    keys, _ = tagged
    prepared = signed(gateway_server, keys, scheme, describe_params("a+b"))
    if scheme.endswith("post"):
        body = prepared.body if isinstance(prepared.body, bytes) else prepared.body.encode()
        assert b"a%2Bb" in body
        response = send(prepared, body=body.replace(b"a%2Bb", b"a+b"))
    else:
        assert "a%2Bb" in prepared.url
        response = send(prepared, url=prepared.url.replace("a%2Bb", "a+b"))
    assert error_of(response) == (403, "SignatureDoesNotMatch")
    assert tags_in(send(prepared)) == {("plus", "a+b")}


# --- each name once ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["Action=DeleteTags", "Action=DescribeTags", "Signature=AAAA", "Version=2010-11-15",
                                   "Filter.1.Value.1=100%25"])
def test_a_repeated_parameter_is_refused(gateway_server: GatewayServer, tagged: Any, extra: str) -> None:
    keys, _ = tagged
    prepared = signed(gateway_server, keys, "sigv2-get", describe_params("a b"))
    response = send(prepared, url=prepared.url + "&" + extra)
    assert error_of(response) == (400, "InvalidParameterValue")
    assert "more than once" in answer(response)["Error"]["Message"]


def test_a_parameter_in_the_query_and_in_the_body_is_refused(gateway_server: GatewayServer, tagged: Any) -> None:
    keys, _ = tagged
    prepared = signed(gateway_server, keys, "sigv2-post", describe_params("a b"))
    response = send(prepared, url=prepared.url + "?Filter.1.Value.1=100%25")
    assert error_of(response) == (400, "InvalidParameterValue")
    assert "both in the query string and in the body" in answer(response)["Error"]["Message"]


def test_escapes_that_are_not_utf8_are_refused(gateway_server: GatewayServer, tagged: Any) -> None:
    keys, _ = tagged
    prepared = signed(gateway_server, keys, "sigv4-presigned", describe_params("é"))
    response = send(prepared, url=prepared.url.replace("%C3%A9", "%E9"))
    assert error_of(response) == (400, "InvalidParameterValue")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods_that_carry_no_query_parameters_get_an_ec2_answer(gateway_server: GatewayServer, tagged: Any,
                                                                  method: str) -> None:
    keys, _ = tagged
    prepared = signed(gateway_server, keys, "sigv2-get", describe_params("a b"), "/awsapi/rest/AmazonEC2")
    response = send(prepared, method=method)
    assert error_of(response) == (405, "UnsupportedOperation")
    assert response.headers["Allow"] == "GET, HEAD, POST"
    head = send(prepared, method="HEAD")
    assert (head.status_code, head.content) == (403, b"")  # HEAD is GET's answer without the body


# --- real clients keep working with every kind of value -------------------------------------------------------

def test_clients_send_spaces_plus_percent_and_unicode_unchanged(ec2: EC2Client) -> None:
    sg = group(ec2, "values")
    if ec2.kind == "awscli":
        # JSON arguments: awscli's shorthand syntax has no room for some of these values
        ec2.cli("create-tags", "--resources", sg, "--tags",
                json.dumps([{"Key": k, "Value": v} for k, v in VALUES.items()]))

        def by_value(value: str) -> set:
            found = ec2.cli("describe-tags", "--filters", json.dumps([{"Name": "value", "Values": [value]}]))
            return {(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in found["Tags"]}
    else:
        create(ec2, [sg], VALUES)

        def by_value(value: str) -> set:
            return describe(ec2, {"value": [value]})
    assert describe(ec2) == {(sg, "security-group", k, v) for k, v in VALUES.items()}
    for name, value in VALUES.items():
        assert by_value(value) == {(sg, "security-group", name, value)}


def test_boto2_signature_version_2_sends_every_kind_of_value(gateway_server: GatewayServer, new_user: Any) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import boto.ec2.connection
        from boto.ec2.regioninfo import RegionInfo

    class SigV2Connection(boto.ec2.connection.EC2Connection):
        def _required_auth_capability(self) -> list[str]:
            return ["sign-v2"]

    keys = new_user()
    port = int(gateway_server.url.rsplit(":", 1)[1])
    conn = SigV2Connection(keys.access_key, keys.secret_key, port=port, is_secure=False, path="/awsapi",
                           region=RegionInfo(name=REGION, endpoint="127.0.0.1"))
    conn.num_retries = 0
    assert conn._auth_handler.__class__.__name__ == "QuerySignatureV2AuthHandler"
    sg = conn.create_security_group("boto2-v2", "values").id
    assert conn.create_tags([sg], VALUES) is True
    for name, value in VALUES.items():
        assert {(t.name, t.value) for t in conn.get_all_tags(filters={"value": value})} == {(name, value)}


# --- property: random signed values arrive unchanged; mutated requests run nothing else ------------------------

_VALUE_CHARS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +%&=/?#:;,!'()[]{}@$*~._-<>\"\\"
                "é☃😀\u00a0")


def _signed_create_tags(server: GatewayServer, keys: Keys, scheme: str,
                        params: dict[str, str]) -> tuple[str, str, str, dict]:
    """(method, url, body, headers) of a CreateTags request signed with SCHEME: botocore SigV4 (a POST form),
    botocore SigV4 presigned (GET) or ec2soap's own SigV2 signer (GET). At the EC2-only path, so that a
    mutated Action is still answered by EC2 (at / a request without Action is S3's)."""
    from ec2soap.registration import signed_params

    params = {"Action": "CreateTags", "Version": "2012-08-15", **params}
    url = server.url + "/awsapi/rest/AmazonEC2"
    if scheme == "ours-sigv2":
        query = urlencode(signed_params("GET", url, keys.access_key, keys.secret_key, params))
        return "GET", url + "?" + query, "", {}
    prepared = signed(server, keys, scheme, params, "/awsapi/rest/AmazonEC2")
    body = prepared.body or ""
    return (prepared.method, prepared.url, body.decode() if isinstance(body, bytes) else body,
            dict(prepared.headers))


_REFUSALS = {"SignatureDoesNotMatch", "InvalidParameterValue", "MissingParameter", "AuthFailure",
             "IncompleteSignature", "MissingAction", "InvalidAction", "InvalidParameter", "InvalidID",
             "InvalidGroup.NotFound", "UnknownParameter", "RequestExpired"}


def test_random_signed_values_arrive_unchanged_and_mutations_run_nothing_else(gateway_server: GatewayServer,
                                                                              tagged: Any) -> None:
    """Seeded: random tag values (spaces, '+', '%', '&', '=', unicode) signed by botocore's SigV4 (header and
    presigned) and ec2soap's SigV2 signer are stored exactly; each request with one byte of its encoded
    parameters replaced is refused with a 4xx in EC2's format, or (an equivalent escape) stores exactly the
    signed tag: in the end the group holds exactly the signed tags."""
    import random

    keys, sg = tagged
    rng = random.Random("signed-create-tags")
    expected = set(VALUES.items())
    session = requests.Session()
    rounds, refused = 30, 0
    for i in range(rounds):
        scheme = ("sigv4-post", "sigv4-presigned", "ours-sigv2")[i % 3]
        pair = (f"k{i}", "".join(rng.choice(_VALUE_CHARS) for _ in range(rng.randint(1, 16))))
        method, url, body, headers = _signed_create_tags(gateway_server, keys, scheme, {
            "ResourceId.1": sg, "Tag.1.Key": pair[0], "Tag.1.Value": pair[1]})
        encoded = body or urlsplit(url).query
        at = rng.randrange(len(encoded))
        mutant = encoded[:at] + rng.choice([c for c in "+% &=aZ0.~\t" if c != encoded[at]]) + encoded[at + 1:]
        bad_url, bad_body = (url, mutant) if body else (url.split("?", 1)[0] + "?" + mutant, "")
        bad = session.request(method, bad_url, data=bad_body.encode() or None, headers=headers, timeout=30)
        if bad.status_code != 200:
            refused += 1
            assert 400 <= bad.status_code < 500 and error_of(bad)[1] in _REFUSALS, (bad.status_code, bad.text)
        good = session.request(method, url, data=body.encode() or None, headers=headers, timeout=30)
        assert good.status_code == 200, good.text
        expected.add(pair)
    stored = tags_in(send(signed(gateway_server, keys, "sigv4-post", {"Action": "DescribeTags",
                                                                       "Version": "2016-11-15"})))
    assert stored == expected
    assert refused >= rounds * 0.8


@pytest.mark.parametrize("action,name", [("ModifyInstanceAttribute", "InstanceId"),
                                         ("DescribeInstanceAttribute", "InstanceId"),
                                         ("GetConsoleOutput", "InstanceId"),
                                         ("DeleteKeyPair", "KeyName"),
                                         ("CreateSecurityGroup", "GroupName")])
def test_an_empty_required_parameter_is_missing(gateway_server: GatewayServer, tagged: Any, action: str,
                                                name: str) -> None:
    """EC2 answers `Name=` for a required parameter as MissingParameter: never a 500 (found by the fuzz test)."""
    keys, _ = tagged
    params = {"Action": action, "Version": "2016-11-15", name: "", "Attribute": "instanceType",
              "GroupDescription": "d"}
    assert error_of(send(signed(gateway_server, keys, "sigv2-get", params))) == (400, "MissingParameter")
