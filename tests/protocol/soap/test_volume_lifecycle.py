"""Over SOAP through both zeep clients: RunInstances' blockDeviceMapping (mapped volumes attached before the
first boot, the root size, what CloudStack cannot do refused), AttachVolume/DetachVolume answering at once."""
from __future__ import annotations

import time
from typing import Any, Callable

from tests.protocol.soap.conftest import SoapClient
from tests.protocol.soap.test_families import items


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value
            return value
        time.sleep(0.2)


def _image(soap: SoapClient) -> str:
    images = items(soap.call("DescribeImages", imagesSet={"item": []}), "imagesSet")
    return sorted((i for i in images if i.imageState == "available"), key=lambda i: i.imageId)[0].imageId


def _instance(soap: SoapClient, instance_id: str) -> Any:
    reservations = items(soap.call("DescribeInstances", instancesSet={"item": [{"instanceId": instance_id}]}),
                         "reservationSet")
    return reservations[0].instancesSet.item[0]


def _volumes_of(soap: SoapClient, instance_id: str) -> dict[str, Any]:
    found = items(soap.call("DescribeVolumes", volumeSet={"item": []}, filterSet={"item": [
        {"name": "attachment.instance-id", "valueSet": {"item": [{"value": instance_id}]}}]}), "volumeSet")
    return {v.attachmentSet.item[0].device: v for v in found}


def test_block_device_mapping_and_prompt_attach(soap: SoapClient) -> None:
    run = soap.call("RunInstances", imageId=_image(soap), minCount=1, maxCount=1, groupSet={"item": []},
                    instanceType="m1.small", blockDeviceMapping={"item": [
                        {"deviceName": "/dev/sda1", "ebs": {"volumeSize": 15}},
                        {"deviceName": "/dev/sdf", "ebs": {"volumeSize": 2, "deleteOnTermination": False}}]})
    instance_id = run.instancesSet.item[0].instanceId
    _until(lambda: _instance(soap, instance_id).instanceState.name == "running")
    devices = _volumes_of(soap, instance_id)
    assert set(devices) == {"/dev/sda1", "/dev/sdf"}
    assert devices["/dev/sda1"].size == "15" and devices["/dev/sdf"].size == "2"
    assert devices["/dev/sdf"].attachmentSet.item[0].deleteOnTermination is False

    data = devices["/dev/sdf"].volumeId
    detached = soap.call("DetachVolume", volumeId=data)
    assert detached.status == "detaching"
    _until(lambda: items(soap.call("DescribeVolumes", volumeSet={"item": [{"volumeId": data}]}),
                         "volumeSet")[0].status == "available")
    attached = soap.call("AttachVolume", volumeId=data, instanceId=instance_id, device="/dev/sdh")
    assert attached.status == "attaching"
    _until(lambda: "/dev/sdh" in _volumes_of(soap, instance_id))

    failure = soap.failure("RunInstances", imageId=_image(soap), minCount=1, maxCount=1, groupSet={"item": []},
                           instanceType="m1.small", blockDeviceMapping={"item": [
                               {"deviceName": "/dev/sdb", "virtualName": "ephemeral0"}]})
    assert failure.faultcode == "Client.InvalidParameterValue" and "instance store" in failure.message
