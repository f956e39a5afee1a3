"""ec2soap.http: which door an over-limit request is answered for, and which bodies are limited."""
from __future__ import annotations

import pytest

from ec2soap.http import body_limited, door_for

FORM = b"application/x-www-form-urlencoded; charset=utf-8"


@pytest.mark.parametrize("method,target,ctype,door", [
    (b"GET", b"/bucket/key", b"", "s3"),
    (b"GET", b"/", b"", "s3"),
    (b"GET", b"/?Action=DescribeRegions", b"", "query"),
    (b"POST", b"/", FORM, "query"),
    (b"POST", b"/awsapi", b"text/xml", "soap"),
    (b"POST", b"/awsapi", FORM, "query"),
    (b"POST", b"/awsapi/services/AmazonEC2", b"text/xml", "soap"),
    (b"GET", b"/awsapi/rest/AmazonEC2?x", b"", "query"),
    (b"GET", b"/awsapi/rest/AmazonS3/b?Action=x", b"", "s3"),
    (b"GET", b"/awsapi/rest/AmazonS3", b"", "s3"),
])
def test_door_for_follows_the_gateway_routes(method: bytes, target: bytes, ctype: bytes, door: str) -> None:
    assert door_for(method, target, ctype) == door


@pytest.mark.parametrize("method,target,ctype,limited", [
    (b"POST", b"/awsapi/services/AmazonEC2", b"text/xml", True),
    (b"POST", b"/", FORM, True),
    (b"GET", b"/?Action=DescribeRegions", b"", False),
    (b"PUT", b"/bucket/key", b"", False),
    (b"PUT", b"/bucket/key?partNumber=1&uploadId=u", b"", False),
    (b"POST", b"/bucket/key?uploadId=u", b"", True),
    (b"POST", b"/bucket/key?uploads", b"", False),
    (b"PUT", b"/bucket?acl", b"", True),
    (b"PUT", b"/bucket?policy", b"", True),
    (b"POST", b"/bucket?delete", b"", True),
    (b"POST", b"/bucket", b"multipart/form-data; boundary=x", False),
])
def test_body_limited_only_for_documents_we_parse_whole(method: bytes, target: bytes, ctype: bytes,
                                                       limited: bool) -> None:
    assert body_limited(method, target, ctype) is limited
