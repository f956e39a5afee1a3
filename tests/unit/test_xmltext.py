"""ec2soap.xmltext: the one function every writer uses, and every writer using it (each document parses)."""
from __future__ import annotations

from lxml import etree

from ec2soap.errors import ERRORS
from ec2soap.query.resource import error_document
from ec2soap.s3 import xml as s3xml
from ec2soap.s3.errors import S3Error, render_error
from ec2soap.soap.faults import fault_document
from ec2soap.wire.shapes import render_document
from ec2soap.xmltext import clean, escape

# Every character XML 1.0 cannot carry, and the edges it can.
INVALID = [chr(c) for c in range(0x20) if c not in (0x9, 0xA, 0xD)] + ["\ud800", "\udfff", "\ufffe", "\uffff"]
VALID_EDGES = ["\t", "\n", "\x7f", "\x85", "\ud7ff", "\ue000", "\ufffd", "\U00010000", "\U0010ffff", "é"]
HOSTILE = "a<b>&c\"d'" + "".join(INVALID) + "".join(VALID_EDGES) + "\r]]>"


def test_clean_replaces_exactly_the_characters_xml_cannot_carry() -> None:
    for ch in INVALID:
        assert clean(f"x{ch}y") == "x\ufffdy", repr(ch)
    for ch in VALID_EDGES:
        assert clean(f"x{ch}y") == f"x{ch}y", repr(ch)
    assert clean(42) == "42"


def test_escape_round_trips_through_a_parser_as_text_and_attribute() -> None:
    expected = clean(HOSTILE)
    element = etree.fromstring(f'<a v="{escape(HOSTILE, attribute=True)}">{escape(HOSTILE)}</a>'
                               .encode("utf-8", "strict"))
    assert element.text == expected
    assert element.get("v") == expected


def test_escape_leaves_plain_text_alone() -> None:
    assert escape("plain text 123") == "plain text 123"
    assert escape("a&b") == "a&amp;b"


def _parses(document: bytes) -> etree._Element:
    return etree.fromstring(document)


def test_every_writer_gives_a_document_that_parses() -> None:
    # EC2 Query error and SOAP fault, with the hostile text in the message and the request id.
    query = _parses(error_document("InvalidParameterValue", HOSTILE, "r" + HOSTILE))
    assert query.findtext("Errors/Error/Message") == clean(HOSTILE)
    fault = _parses(fault_document(ERRORS["InvalidParameterValue"](detail=HOSTILE), HOSTILE))
    assert fault.findtext(".//faultstring") == clean(HOSTILE)
    # S3 error document: message, extra fields, resource and request id.
    s3 = _parses(render_error(S3Error("NoSuchKey", HOSTILE, key=HOSTILE, bucket_name=HOSTILE),
                              resource="/b/" + HOSTILE, request_id=HOSTILE, host_id=HOSTILE))
    assert [s3.findtext(name) for name in ("Message", "Key", "BucketName", "Resource", "HostId")] == \
        [clean(HOSTILE), clean(HOSTILE), clean(HOSTILE), "/b/" + clean(HOSTILE), clean(HOSTILE)]
    # S3 responses written with lxml (which refuses such text outright unless it is cleaned first).
    started = _parses(s3xml.initiate_multipart_upload_result(HOSTILE, HOSTILE, HOSTILE))
    assert started.findtext(f"{{{s3xml.NS}}}Key") == clean(HOSTILE)
    _parses(s3xml.location_constraint(HOSTILE))
    _parses(s3xml.versioning_configuration(HOSTILE))
    # The EC2 response shapes (Query documents and SOAP bodies).
    _parses(render_document("CreateKeyPair", {"key_name": HOSTILE, "key_fingerprint": HOSTILE,
                                              "key_material": HOSTILE}, HOSTILE, None))


def test_lone_surrogates_do_not_break_utf8_encoding() -> None:
    # A str holding a lone surrogate cannot be encoded to UTF-8 at all: the writer must not raise.
    _parses(error_document("X", "a\udc80b", "r"))
    _parses(render_error(S3Error("NoSuchBucket", bucket_name="\udc80")))


def test_the_wsdl_address_goes_through_the_same_function() -> None:
    from ec2soap.soap.wsdl import PLACEHOLDER_ADDRESS, with_address

    document = f'<definitions><port location="{PLACEHOLDER_ADDRESS}"/></definitions>'.encode()
    address = 'http://h\x00"><x/>:80/awsapi'
    assert _parses(with_address(document, address)).find("port").get("location") == clean(address)
