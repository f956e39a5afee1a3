"""The request that runs is exactly the request that was signed, in every EC2 Query scheme.

Requests are signed by botocore (SigV2, SigV4 header, SigV4 presigned) and by ec2soap's own SigV2 signer, then
moved around or tampered with as an attacker holding a captured request could. The parameters are always
read through Ec2Query, the object the server hands to the action's binding, so "verifies" and "what the
action receives" are checked on the same thing.
"""
from __future__ import annotations

import random
from dataclasses import replace
from urllib.parse import quote, urlencode, urlsplit

import pytest
from botocore.auth import SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ec2soap.auth import AuthError, HttpRequestInfo, authenticate_ec2
from ec2soap.auth.ec2_query import Ec2Query
from ec2soap.registration import signed_params

from .conftest import ACCESS_KEY, SECRET_KEY, from_boto2, from_prepared, secrets

CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
URL = "http://ec2.example.com:7080/awsapi/"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
SIGNATURES = {"Signature", "X-Amz-Signature"}
BASE = {"Action": "DescribeTags", "Version": "2012-08-15"}  # the Version ec2soap's own signer sends
FILTERS = {"Filter.1.Name": "value", "Filter.1.Value.1": "web server+1 100% é☃"}


def v2_get(params):
    request = AWSRequest(method="GET", url=URL, params=dict(params))
    SigV2Auth(CREDS).add_auth(request)
    return from_prepared(request.prepare())


def v2_post(params):
    request = AWSRequest(method="POST", url=URL, data=dict(params), headers={"Content-Type": FORM})
    SigV2Auth(CREDS).add_auth(request)
    return from_prepared(request.prepare())


def v2_ours(params, method="GET"):
    """ec2soap's own SigV2 signer (the register tool's), sent urlencoded as requests would send it."""
    host = urlsplit(URL).netloc
    encoded = urlencode(signed_params(method, URL, ACCESS_KEY, SECRET_KEY, dict(params)))
    if method == "GET":
        return HttpRequestInfo("GET", "/awsapi/", encoded, {"Host": host})
    return HttpRequestInfo("POST", "/awsapi/", "", {"Host": host, "Content-Type": FORM}, body=encoded.encode())


def v4_get(params, body=None, content_type=None):
    headers = {"Content-Type": content_type} if content_type else {}
    request = AWSRequest(method="GET", url=URL, params=dict(params), data=body, headers=headers)
    SigV4Auth(CREDS, "ec2", "us-east-1").add_auth(request)
    return from_prepared(request.prepare())


def v4_post(params):
    request = AWSRequest(method="POST", url=URL, data=dict(params), headers={"Content-Type": FORM})
    SigV4Auth(CREDS, "ec2", "us-east-1").add_auth(request)
    return from_prepared(request.prepare())


def v4_presigned(params):
    request = AWSRequest(method="GET", url=URL, params=dict(params))
    SigV4QueryAuth(CREDS, "ec2", "us-east-1", expires=300).add_auth(request)
    return from_prepared(request.prepare())


def boto2(params, method="GET", handler="v2"):
    """boto 2.49's own signers (QuerySignatureV2AuthHandler, HmacAuthV4Handler), as its _mexe sends them."""
    boto = pytest.importorskip("boto")
    import boto.auth
    from boto.ec2.connection import EC2Connection
    from boto.ec2.regioninfo import RegionInfo

    conn = EC2Connection(ACCESS_KEY, SECRET_KEY, is_secure=False, port=7080, path="/awsapi",
                         region=RegionInfo(name="us-east-1", endpoint="ec2.example.com"))
    if handler == "v2":
        conn._auth_handler = boto.auth.QuerySignatureV2AuthHandler(conn.host, boto.config, conn.provider)
    http_request = conn.build_base_http_request(method, "/", None, dict(params), {}, "", conn.host)
    if method == "POST":
        http_request.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
    http_request.authorize(connection=conn)
    conn.set_host_header(http_request)
    if method == "POST" and handler == "v4":
        http_request.body = http_request.body or urlencode(http_request.params)  # what boto 2 sends
    return from_boto2(http_request)


SCHEMES = {"sigv2-get": v2_get, "sigv2-post": v2_post, "sigv2-ours-get": v2_ours,
           "sigv2-ours-post": lambda p: v2_ours(p, "POST"), "sigv4-get": v4_get, "sigv4-post": v4_post,
           "sigv4-presigned": v4_presigned,
           "boto2-sigv2-get": boto2, "boto2-sigv2-post": lambda p: boto2(p, "POST"),
           "boto2-sigv4-get": lambda p: boto2(p, handler="v4"), "boto2-sigv4-post": lambda p: boto2(p, "POST", "v4")}
POST_SCHEMES = {"sigv2-post", "sigv2-ours-post", "sigv4-post", "boto2-sigv2-post", "boto2-sigv4-post"}


def runs_with(request: HttpRequestInfo) -> dict[str, str]:
    """Verify REQUEST as the server does and return what the action receives (signatures left out)."""
    query = Ec2Query.read(request)
    assert authenticate_ec2(query, secrets) == ACCESS_KEY
    return {k: v for k, v in query.items() if k not in SIGNATURES}


def refused(request: HttpRequestInfo) -> str:
    with pytest.raises(AuthError) as failure:
        authenticate_ec2(request, secrets)
    return failure.value.code


def wire(request: HttpRequestInfo, scheme: str) -> str:
    """Where the scheme put the parameters: the body of a POST form, else the query string."""
    return request.body.decode() if scheme in POST_SCHEMES else request.query


def rewire(request: HttpRequestInfo, scheme: str, text: str) -> HttpRequestInfo:
    if scheme in POST_SCHEMES:
        return replace(request, body=text.encode())
    return replace(request, query=text)


def user_params(received: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in received.items() if k in BASE or k.startswith(("Filter.", "P"))}


# --- every scheme verifies and hands over exactly what was signed ---------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_signed_values_reach_the_action_unchanged(scheme):
    params = {**BASE, **FILTERS, "Filter.1.Value.2": "a b", "Filter.1.Value.3": "a+b", "Filter.1.Value.4": "%2B~*'"}
    assert user_params(runs_with(SCHEMES[scheme](params))) == params


# --- the moved-fields attack: signed fields in a body that is not a form -------------------------------------

def _moved(request: HttpRequestInfo, content_type: str | None, method: str | None = None) -> HttpRequestInfo:
    """The captured request's Filter.* fields moved into a body of CONTENT_TYPE, the rest into the query."""
    fields = [f for f in (request.query + "&" + (request.body or b"").decode()).split("&") if f]
    body = "&".join(f for f in fields if f.startswith("Filter."))
    query = "&".join(f for f in fields if not f.startswith("Filter."))
    headers = [(k, v) for k in request.header_names() if k != "content-type" for v in request.header_values(k)]
    if content_type:
        headers.append(("Content-Type", content_type))
    return replace(request, method=method or request.method, query=query, body=body.encode(), headers=headers)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/json", "multipart/form-data"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_signed_fields_moved_into_a_body_that_is_not_a_form_are_refused(scheme, content_type):
    moved = _moved(SCHEMES[scheme]({**BASE, **FILTERS}), content_type)
    assert refused(moved) == "InvalidParameterValue"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_sigv4_signature_over_a_text_body_does_not_make_it_parameters(method, content_type):
    """SigV4 hashes whatever body it is given, so such a request verifies; the body still holds no
    parameters, and dropping its signed fields silently would run a request nobody signed."""
    request = AWSRequest(method=method, url=URL + "?" + urlencode(BASE), data=urlencode(FILTERS),
                         headers={"Content-Type": content_type} if content_type else {})
    SigV4Auth(CREDS, "ec2", "us-east-1").add_auth(request)
    prepared = from_prepared(request.prepare())
    assert prepared.header("content-type") == content_type
    assert refused(prepared) == "InvalidParameterValue"


def test_an_empty_body_of_any_type_is_no_obstacle():
    request = v4_presigned(BASE)
    typed = replace(request, headers=[("Host", request.host), ("Content-Type", "text/plain")])
    assert user_params(runs_with(typed)) == BASE


# --- one decoding of '+' --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_plus_signed_as_2B_but_sent_raw_fails(scheme):
    request = SCHEMES[scheme]({**BASE, "Filter.1.Name": "value", "Filter.1.Value.1": "a+b"})
    text = wire(request, scheme)
    assert "%2B" in text
    assert refused(rewire(request, scheme, text.replace("%2B", "+"))) == "SignatureDoesNotMatch"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_space_is_a_space_however_it_is_encoded(scheme):
    request = SCHEMES[scheme]({**BASE, "Filter.1.Name": "value", "Filter.1.Value.1": "a b"})
    text = wire(request, scheme)
    space = "+" if "a+b" in text else "%20"
    assert f"a{space}b" in text
    for other in ("+", "%20"):
        rewired = rewire(request, scheme, text.replace(f"a{space}b", f"a{other}b"))
        if scheme in ("sigv4-post", "boto2-sigv4-post") and other != space:
            assert refused(rewired) == "SignatureDoesNotMatch"  # the payload hash covers the bytes
        else:
            assert runs_with(rewired)["Filter.1.Value.1"] == "a b"
    assert refused(rewire(request, scheme, text.replace(f"a{space}b", "a%2Bb"))) == "SignatureDoesNotMatch"


def test_the_register_tools_own_encoding_is_read_the_one_way_too(now):
    """The original's register tool signed its quote_plus encoding as sent: a '+' there is the space it
    decodes to, so the value the action receives is the one the tool signed."""
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote_plus

    params = {**BASE, "AWSAccessKeyId": ACCESS_KEY, "SignatureMethod": "HmacSHA1", "SignatureVersion": "2",
              "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "Filter.1.Value.1": "a b+c"}
    query = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items()))
    sts = f"GET\nec2.example.com:7080\n/awsapi\n{query}"
    signature = base64.b64encode(hmac.new(SECRET_KEY.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    request = HttpRequestInfo("GET", "/awsapi", f"{query}&Signature={quote_plus(signature)}",
                              {"Host": "ec2.example.com:7080"})
    assert runs_with(request)["Filter.1.Value.1"] == "a b+c"
    # the same bytes with the plus read literally would be another request: it is not this one
    assert refused(replace(request, query=request.query.replace("a+b%2Bc", "a%2Bb%2Bc"))) == "SignatureDoesNotMatch"


# --- each name once ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["Action=RunInstances", "Action=DescribeTags", "Version=2010-11-15",
                                   "Filter.1.Value.1=other", "AWSAccessKeyId=AKIDOTHER", "Signature=abc",
                                   "Timestamp=2030-01-01T00:00:00Z", "X-Amz-Signature=00", "SignatureVersion=2"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_repeated_parameter_is_refused(scheme, extra):
    request = SCHEMES[scheme]({**BASE, **FILTERS})
    text = wire(request, scheme)
    name = extra.split("=")[0]
    if not any(f.split("=")[0] == name for f in text.split("&")):
        text += "&" + extra.replace("=", "=x", 1)  # a name the request does not carry yet: give it twice
    with pytest.raises(AuthError) as failure:
        Ec2Query.read(rewire(request, scheme, text + "&" + extra))
    assert failure.value.code == "InvalidParameterValue"
    assert "appears more than once" in failure.value.message
    assert refused(rewire(request, scheme, text + "&" + extra)) == "InvalidParameterValue"


@pytest.mark.parametrize("scheme", sorted(POST_SCHEMES))
def test_a_parameter_in_both_the_query_and_the_body_is_refused(scheme):
    request = SCHEMES[scheme]({**BASE, **FILTERS})
    doubled = replace(request, query="Filter.1.Value.1=" + quote("web server+1 100% é☃"))
    assert refused(doubled) == "InvalidParameterValue"
    with pytest.raises(AuthError, match="both in the query string and in the body"):
        Ec2Query.read(doubled)


def test_escapes_that_are_not_utf8_are_refused_not_replaced():
    good = v2_get({**BASE, "Filter.1.Value.1": "\ufffd"})
    assert runs_with(good)["Filter.1.Value.1"] == "\ufffd"
    bad = replace(good, query=good.query.replace("%EF%BF%BD", "%FF"))
    assert refused(bad) == "InvalidParameterValue"
    assert refused(replace(bad, query="", method="POST", body=bad.query.encode(),
                           headers={"Host": good.host, "Content-Type": FORM})) == "InvalidParameterValue"


# --- property: random parameters, random single-byte mutations ------------------------------------------------

_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_~"
_ODD_NAME_CHARS = _NAME_CHARS + " +%*é"
_VALUE_CHARS = _ODD_NAME_CHARS + "&=/?#:;,!'()[]{}@$\"\\<>\t\n\r\x00\x7f\u00a0\u2603\U0001f600\ufffd"


def _random_params(rng: random.Random, name_chars: str = _ODD_NAME_CHARS) -> dict[str, str]:
    params = dict(BASE)
    for _ in range(rng.randint(0, 6)):
        name = "P" + "".join(rng.choice(name_chars) for _ in range(rng.randint(0, 8)))
        params[name] = "".join(rng.choice(_VALUE_CHARS) for _ in range(rng.randint(0, 12)))
    return params


_MUTANTS = [chr(c) for c in range(0x20, 0x7f)] + ["\x00", "\t", "é"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_random_signed_parameters_verify_and_every_single_byte_mutation_is_refused(scheme):
    """Seeded: for random names and values (spaces, '+', '%', '&', '=', controls, unicode) the request
    verifies and the action receives exactly the signed values; replacing any one byte of the encoded
    parameters is refused, unless it spells the same decoded parameters (`%2f` for `%2F`)."""
    rng = random.Random(f"ec2-query-{scheme}")
    # boto 2's SigV4 sorts by the decoded name where SigV4 sorts by the encoded one: names EC2 uses (plain
    # ASCII) sort the same either way; names with escapes would not verify on AWS either.
    names = _NAME_CHARS if scheme == "boto2-sigv4-get" else _ODD_NAME_CHARS
    mutations = refusals = 0
    for _ in range(40):
        params = _random_params(rng, names)
        request = SCHEMES[scheme](params)
        assert user_params(runs_with(request)) == params
        text = wire(request, scheme)
        for _ in range(12):
            at = rng.randrange(len(text))
            byte = rng.choice([c for c in _MUTANTS if c != text[at]])
            mutated = rewire(request, scheme, text[:at] + byte + text[at + 1:])
            mutations += 1
            try:
                received = runs_with(mutated)
            except AuthError:
                refusals += 1
                continue
            # Verified: then it must decode to the very same parameters (`%2f` for `%2F`, ' ' for '+', or
            # bits of the unsigned Signature that base64 ignores).
            assert user_params(received) == params, (text, at, byte)
    assert refusals > mutations * 0.9


@pytest.mark.parametrize("second", ["Filter.1.Value.01", "Filter.01.Name", "InstanceId.002"])
def test_two_names_for_one_list_slot_are_refused_by_the_binding(second):
    """`X.1` and `X.01` are distinct names (the signature covers both) but one slot of a list: the binding
    refuses them instead of keeping whichever it met last."""
    from ec2soap.errors import EC2Error
    from ec2soap.query.params import QueryParams

    params = {**BASE, "Filter.1.Name": "value", "Filter.1.Value.1": "a", "InstanceId.2": "i-1", second: "b"}
    query = Ec2Query.read(v2_get(params))
    assert authenticate_ec2(query, secrets) == ACCESS_KEY
    with pytest.raises(EC2Error) as failure:
        reader = QueryParams(query)
        reader.filters()
        reader.list("InstanceId")
    assert failure.value.code == "InvalidParameterValue"
    assert "appears more than once" in failure.value.message
    without = {k: v for k, v in params.items() if k != second}
    assert QueryParams(Ec2Query.read(v2_get(without))).filters()[0].values == ("a",)


def test_the_parameters_cannot_change_between_the_check_and_the_action():
    query = Ec2Query.read(v2_get({**BASE, **FILTERS}))
    with pytest.raises(AttributeError):
        query.query_pairs = ()
    with pytest.raises(TypeError):
        query["Filter.1.Value.1"] = "other"  # type: ignore[index]
    assert dict(query)["Filter.1.Value.1"] == FILTERS["Filter.1.Value.1"]
