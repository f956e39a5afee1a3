"""Spyne models from the shapes: names, order, occurrences, later elements left out; results → responses."""
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


def test_request_value_and_response_object() -> None:
    models = Models(["DescribeKeyPairs"])
    cls = models.requests["DescribeKeyPairs"]
    info, item = models.classes["DescribeKeyPairsInfoType"], models.classes["DescribeKeyPairsItemType"]
    value = models.request_value("DescribeKeyPairs", cls(keySet=info(item=[item(keyName="a")])))
    assert value == {"keySet": [{"keyName": "a"}], "filterSet": None}
    answer = models.response_object("DescribeKeyPairs", [KeyPair("a", "f")], "req-1")
    assert answer.requestId == "req-1"
    assert [(k.keyName, k.keyFingerprint) for k in answer.keySet.item] == [("a", "f")]


def test_fault_document_names_sender_and_code() -> None:
    from lxml import etree

    doc = etree.fromstring(fault_document(ERRORS["InvalidKeyPair.Duplicate"](key_name="k"), "req-2"))
    fault = doc.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultcode") == "soapenv:Client.InvalidKeyPair.Duplicate"
    assert fault.findtext("faultstring") == "The keypair 'k' already exists."
    assert fault.findtext("detail/RequestID") == "req-2"
