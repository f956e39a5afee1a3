"""ec2soap.limits (the one size and depth bound of every JSON and XML body we parse) and each parser using it."""
from __future__ import annotations

import pytest
from lxml import etree

from ec2soap.auth import wsse
from ec2soap.limits import LimitExceeded, json_depth, load_json, parse_xml, xml_depth
from ec2soap.s3 import xml as s3xml
from ec2soap.s3.errors import S3Error
from ec2soap.s3.policy import MAX_POLICY_BYTES, parse_policy


def test_json_depth_counts_nesting_and_ignores_brackets_in_strings() -> None:
    assert json_depth(b"1") == 0
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth('{"a": "[[[[{{{\\"[[["}') == 1
    assert json_depth(b"[" * 10_000, limit=32) == 33  # stops counting past the limit


def test_load_json_bounds_depth_and_size() -> None:
    assert load_json(b'{"a": [[1]]}', max_bytes=100) == {"a": [[1]]}
    with pytest.raises(LimitExceeded) as deep:
        load_json(b"[" * 10_000 + b"]" * 10_000, max_bytes=1 << 20)
    assert deep.value.what == "depth"
    with pytest.raises(LimitExceeded) as big:
        load_json(b"[" + b"1," * 100 + b"1]", max_bytes=50)
    assert big.value.what == "size"
    with pytest.raises(ValueError):
        load_json(b"{nope", max_bytes=100)


def _nested(depth: int, leaf: str = "x") -> bytes:
    return ("<a>" * depth + leaf + "</a>" * depth).encode()


def test_parse_xml_bounds_depth_and_size() -> None:
    assert xml_depth(parse_xml(_nested(10))) == 10
    with pytest.raises(LimitExceeded) as deep:
        parse_xml(_nested(65))
    assert deep.value.what == "depth"
    with pytest.raises(LimitExceeded) as big:
        parse_xml(b"<a>" + b"x" * 100 + b"</a>", max_bytes=50)
    assert big.value.what == "size"
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(_nested(10_000))  # libxml2 stops first; either way no recursion of ours


DEEP_POLICY = b'{"Version": "2012-10-17", "Statement": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


def test_a_10000_deep_bucket_policy_is_malformed_policy() -> None:
    assert len(DEEP_POLICY) <= MAX_POLICY_BYTES
    with pytest.raises(S3Error) as caught:
        parse_policy(DEEP_POLICY, "b")
    assert caught.value.code == "MalformedPolicy"
    with pytest.raises(S3Error) as big:
        parse_policy(b'{"Statement": "' + b"x" * MAX_POLICY_BYTES + b'"}', "b")
    assert big.value.code == "InvalidArgument"


S3_DOCUMENTS = [
    (s3xml.parse_access_control_policy, "AccessControlPolicy", "MalformedACLError"),
    (s3xml.parse_cors, "CORSConfiguration", "MalformedXML"),
    (s3xml.parse_versioning, "VersioningConfiguration", "MalformedXML"),
    (s3xml.parse_delete, "Delete", "MalformedXML"),
    (s3xml.parse_complete_multipart_upload, "CompleteMultipartUpload", "MalformedXML"),
    (s3xml.parse_create_bucket, "CreateBucketConfiguration", "MalformedXML"),
]


@pytest.mark.parametrize("parse,root,code", S3_DOCUMENTS, ids=[d[1] for d in S3_DOCUMENTS])
@pytest.mark.parametrize("depth", [40, 200, 10_000])
def test_deep_s3_documents_are_refused_with_s3s_code(parse, root, code, depth) -> None:
    body = (f"<{root}>" + "<x>" * depth + "</x>" * depth + f"</{root}>").encode()
    with pytest.raises(S3Error) as caught:
        parse(body)
    assert caught.value.code == code


@pytest.mark.parametrize("parse,root,code", S3_DOCUMENTS, ids=[d[1] for d in S3_DOCUMENTS])
def test_oversized_s3_documents_are_refused(parse, root, code) -> None:
    body = f"<{root}><!-- {'x' * s3xml.MAX_BODY_BYTES} --></{root}>".encode()
    with pytest.raises(S3Error) as caught:
        parse(body)
    assert caught.value.code == code


def test_deep_soap_envelopes_are_refused_before_any_soap_processing() -> None:
    env = "http://schemas.xmlsoap.org/soap/envelope/"
    for depth in (100, 10_000):
        body = (f'<e:Envelope xmlns:e="{env}"><e:Body>' + "<x>" * depth + "</x>" * depth
                + "</e:Body></e:Envelope>").encode()
        with pytest.raises(wsse.XmlRejected) as caught:
            wsse.parse_hardened(body)
        assert caught.value.reason in ("too_deep", "malformed")
    with pytest.raises(wsse.XmlRejected) as caught:
        wsse.parse_hardened(f'<e:Envelope xmlns:e="{env}">'.encode() + b"<x>" * 65 + b"</x>" * 65 + b"</e:Envelope>")
    assert caught.value.reason == "too_deep"
