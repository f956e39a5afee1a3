"""The last resort of s3/answers.py on a real twisted.web Request (over Twisted's own test channel): an S3
request whose normal answer failed still gets S3's 500 document, or a closed connection once bytes are out."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from twisted.web import server
from twisted.web.test.requesthelper import DummyChannel

from ec2soap.auth import AuthError
from ec2soap.auth.s3_query import S3Query, S3QueryError
from ec2soap.s3.answers import as_s3_error, last_resort
from ec2soap.s3.errors import S3Error


def _request(method: bytes = b"PUT") -> server.Request:
    request = server.Request(DummyChannel(), False)
    request.method, request.uri, request.clientproto = method, b"/b/k", b"HTTP/1.1"
    request.setHeader(b"x-amz-request-id", b"REQ123")
    return request


def test_an_unanswered_request_gets_s3s_internal_error_document():
    request = _request()
    channel = request.channel
    last_resort(request)
    wire = channel.transport.written.getvalue()
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 ")
    assert b"Content-Type: application/xml" in head
    root = ET.fromstring(body)
    assert (root.tag, root.findtext("Code"), root.findtext("RequestId")) == ("Error", "InternalError", "REQ123")
    assert request.finished


def test_a_request_already_writing_is_cut_and_a_finished_one_left_alone():
    request = _request(b"GET")
    request.setResponseCode(200)
    request.write(b"partial body")
    last_resort(request)
    assert request.channel.transport.disconnected
    assert b"InternalError" not in request.channel.transport.written.getvalue()

    done = _request(b"GET")
    channel = done.channel
    done.setResponseCode(204)
    done.finish()
    sent = channel.transport.written.getvalue()
    last_resort(done)
    assert channel.transport.written.getvalue() == sent and not channel.transport.disconnected


class _Call:
    method, resource_name, request_id = "PUT", "/b/k", "REQ123"
    headers = {"authorization": "AWS AKID:sig"}
    query = S3Query()


def test_every_failure_becomes_an_s3_error():
    assert as_s3_error(S3Error("NoSuchKey"), _Call()).code == "NoSuchKey"
    mismatch = as_s3_error(AuthError("SignatureDoesNotMatch", "no", string_to_sign="GET\n"), _Call())
    assert (mismatch.status, mismatch.fields["aws_access_key_id"]) == (403, "AKID")
    repeated = as_s3_error(S3QueryError("InvalidArgument", "twice", argument_name="prefix",
                                        argument_value="x" * 1000), _Call())
    assert (repeated.status, repeated.fields["argument_name"]) == (400, "prefix")
    assert len(repeated.fields["argument_value"]) < 300
    bug = as_s3_error(UnicodeEncodeError("ascii", "é", 0, 1, "ordinal not in range"), _Call())
    assert (bug.status, bug.code) == (500, "InternalError")
