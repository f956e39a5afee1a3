"""Spyne models from the shapes: names, order, occurrences, later elements left out; answers read back."""
from __future__ import annotations

from dataclasses import dataclass

from ec2soap.soap.models import Models
from ec2soap.soap.faults import fault_document
from ec2soap.errors import ERRORS


@dataclass
class KeyPair:
    name: str
    fingerprint: str


def test_request_and_response_types_keep_ec2_names_and_order() -> None:
    models = Models(["DescribeKeyPairs", "DescribeSecurityGroups"])
    request = models.requests["DescribeKeyPairs"]
    assert request.get_type_name() == "DescribeKeyPairsType"
    assert [name for name, _ in request._type_info.items()] == ["keySet", "filterSet"]
    assert request._type_info["keySet"].Attributes.min_occurs == 1
    assert request._type_info["filterSet"].Attributes.min_occurs == 0
    item = models.classes["SecurityGroupItemType"]
    # groupId, ipPermissionsEgress and tagSet came after 2010-11-15.
    assert list(item._type_info) == ["ownerId", "groupName", "groupDescription", "ipPermissions"]


def test_request_value() -> None:
    models = Models(["DescribeKeyPairs"])
    cls = models.requests["DescribeKeyPairs"]
    info, item = models.classes["DescribeKeyPairsInfoType"], models.classes["DescribeKeyPairsItemType"]
    value = models.request_value("DescribeKeyPairs", cls(keySet=info(item=[item(keyName="a")])))
    assert value == {"keySet": [{"keyName": "a"}], "filterSet": None}


def test_soap_answer_is_read_by_our_response_model() -> None:
    """The resource writes answers from the response shape; Spyne's model of that shape reads them back."""
    from lxml import etree
    from spyne.protocol.soap import Soap11

    from ec2soap.soap.resource import envelope
    from ec2soap.wire.shapes import BASE_VERSION, render_response

    models = Models(["DescribeKeyPairs"])
    body = envelope(render_response("DescribeKeyPairs", [KeyPair("a", "f")], "req-1", BASE_VERSION))
    element = etree.fromstring(body)[0][0]
    answer = Soap11().from_element(None, models.responses["DescribeKeyPairs"], element)
    assert answer.requestId == "req-1"
    assert [(k.keyName, k.keyFingerprint) for k in answer.keySet.item] == [("a", "f")]


def test_fault_document_names_sender_and_code() -> None:
    from lxml import etree

    doc = etree.fromstring(fault_document(ERRORS["InvalidKeyPair.Duplicate"](key_name="k"), "req-2"))
    fault = doc.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultcode") == "soapenv:Client.InvalidKeyPair.Duplicate"
    assert fault.findtext("faultstring") == "The keypair 'k' already exists."
    assert fault.findtext("detail/RequestID") == "req-2"
