"""Request signing (protocol.md §2): the documented test vector, Java's encoding, and agreement with the cs client."""
from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from cs.client import CloudStack, transform

from ec2soap.cloudstack import signing
from ec2soap.cloudstack.client import form_body, sign_request

# The CloudStack developer guide's example (dev.rst, "How to sign an API call with Python").
DOC_API_KEY = "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg"
DOC_SECRET = "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ"
DOC_STRING = ("apikey=plgwjfzk4gys3momtvmjuvg-x-jlwlnfauj9gabbbf9edm-kaymmailqzzq1elzlyq_u38zcm0bewzgudp66mg"
              "&command=listusers&response=json")
DOC_SIGNATURE = "TTpdDq/7j/J58XCRHomKoQXEQds="


def test_documented_test_vector() -> None:
    params = {"apikey": DOC_API_KEY, "command": "listUsers", "response": "json"}
    assert signing.string_to_sign(params) == DOC_STRING
    assert signing.sign(params, DOC_SECRET) == DOC_SIGNATURE
    assert signing.verify({**params, "signature": DOC_SIGNATURE}, DOC_SECRET)
    assert not signing.verify({**params, "signature": DOC_SIGNATURE}, DOC_SECRET[:-1] + "x")


@pytest.mark.parametrize("value, encoded", [
    ("a~b", "a%7eb"),          # Java encodes '~'; Python's quote would not
    ("a+b", "a%2bb"),          # a literal plus is %2B, never a space
    ("a b", "a%20b"),          # space is %20, not '+'
    ("a*b.c-d_e", "a*b.c-d_e"),  # Java's unreserved set
    ("x/y=z,w:", "x%2fy%3dz%2cw%3a"),
    ("é", "%c3%a9"),
])
def test_values_are_encoded_like_java_urlencoder(value: str, encoded: str) -> None:
    assert signing.string_to_sign({"v": value}) == f"v={encoded}"


def test_names_sort_case_sensitively_before_lowercasing() -> None:
    # Java String order: 'Z' (0x5A) sorts before 'a' (0x61).
    assert signing.string_to_sign({"a": "1", "Z": "2"}) == "z=2&a=1"


def test_client_request_carries_version_3_and_verifies_after_the_wire() -> None:
    wire = sign_request("listUsers", {"keyword": "a b+c~é", "listall": True, "ids": ["1", "2"]},
                        "KEY", "SECRET")
    assert wire["signatureVersion"] == "3" and wire["response"] == "json" and wire["apiKey"] == "KEY"
    assert wire["expires"].endswith("+0000")
    # What the server decodes from our form body must verify.
    decoded = dict(parse_qsl(form_body(wire).decode("ascii"), keep_blank_values=True))
    assert decoded == wire
    assert signing.verify(decoded, "SECRET")
    assert not signing.verify(decoded, "OTHER")


def test_reserved_parameters_cannot_be_overridden() -> None:
    with pytest.raises(ValueError):
        sign_request("listUsers", {"Response": "xml"}, "KEY", "SECRET")


def _cs_signed(command: str, **params: str) -> dict:
    """The parameters the PyPI cs client would send, signature included."""
    client = CloudStack(endpoint="http://127.0.0.1:1/client/api", key="KEY", secret="SECRET")
    _, prepared = client._prepare_request(command, **params)
    transform(prepared)
    client._sign(prepared)
    return prepared


def test_cs_client_signature_verifies_with_ours() -> None:
    sent = _cs_signed("deployVirtualMachine", name="web 1", displayname="a+b/c=d", userdata="aGk=")
    assert sent["signatureVersion"] == "3"
    assert signing.verify(sent, "SECRET")


def test_our_signature_matches_the_cs_client() -> None:
    wire = sign_request("listVirtualMachines", {"name": "web 1", "keyword": "a+b/c=d", "listall": True},
                        "KEY", "SECRET")
    client = CloudStack(endpoint="http://127.0.0.1:1/client/api", key="KEY", secret="SECRET")
    theirs = {k: v for k, v in wire.items() if k != "signature"}
    client._sign(theirs)
    assert theirs["signature"] == wire["signature"]


def test_cs_client_tilde_differs_from_the_server() -> None:
    """protocol.md §2: the cs client leaves '~' unencoded, Java encodes it, so such a request fails to verify."""
    sent = _cs_signed("listUsers", keyword="a~b")
    assert not signing.verify(sent, "SECRET")
    assert signing.verify({**sent, "signature": signing.sign(sent, "SECRET")}, "SECRET")
