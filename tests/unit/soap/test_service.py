"""SoapService reads an operation element through Spyne's public decoding and the request shape, without
Spyne's request pipeline: values, EC2's errors for what does not decode, and no method context anywhere."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from ec2soap.errors import EC2Error
from ec2soap.soap.models import NAMESPACE
from ec2soap.soap.service import SoapService

@pytest.fixture(scope="module")
def service() -> SoapService:
    return SoapService()

def _op(action: str, body: str) -> etree._Element:
    return etree.fromstring(f'<{action} xmlns="{NAMESPACE}">{body}</{action}>')

def test_an_element_becomes_the_cores_keywords(service: SoapService) -> None:
    element = _op("RunInstances", "<imageId>ami-1</imageId><minCount>1</minCount><maxCount>2</maxCount>"
                                  "<groupSet><item><groupId>web</groupId></item></groupSet>"
                                  "<placement><availabilityZone>z1</availabilityZone></placement>"
                                  "<instanceType>m1.small</instanceType>"
                                  "<blockDeviceMapping><item><deviceName>/dev/sdb</deviceName>"
                                  "<ebs><volumeSize>5</volumeSize></ebs></item></blockDeviceMapping>")
    value = service.request_value("RunInstances", element)
    from ec2soap.soap.reader import read

    kwargs = read("RunInstances", value)
    assert (kwargs["image_id"], kwargs["min_count"], kwargs["max_count"]) == ("ami-1", 1, 2)
    assert kwargs["security_groups"] == ["web"] and kwargs["availability_zone"] == "z1"
    assert [(d.device_name, d.ebs, d.volume_size) for d in kwargs["block_devices"]] == [("/dev/sdb", True, 5)]

def test_what_does_not_decode_is_invalid_parameter_value(service: SoapService) -> None:
    element = _op("RunInstances", "<imageId>ami-1</imageId><minCount>many</minCount><maxCount>1</maxCount>")
    with pytest.raises(EC2Error) as caught:
        service.request_value("RunInstances", element)
    assert caught.value.code == "InvalidParameterValue"

def test_an_action_without_elements_reads_as_empty(service: SoapService) -> None:
    assert service.request_value("AllocateAddress", _op("AllocateAddress", "")) == {}

def test_no_module_drives_spynes_request_pipeline() -> None:
    package = Path(__file__).resolve().parents[3] / "ec2soap"
    for path in package.rglob("*.py"):
        text = path.read_text()
        for name in ("MethodContext", "ServerBase", "generate_contexts", "get_in_object", "get_out_object",
                     "ctx.udc", "create_in_document"):
            assert name not in text, f"{path.relative_to(package)} uses {name}"
