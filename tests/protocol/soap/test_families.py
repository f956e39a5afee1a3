"""The other EC2 families over SOAP through both zeep clients: zones, regions, security groups, volumes,
snapshots, addresses, tags, images and instances, with their main error cases."""
from __future__ import annotations

import time
from typing import Any

from tests.protocol.soap.conftest import SoapClient


def items(answer: Any, name: str) -> list[Any]:
    holder = getattr(answer, name)
    return list(holder.item) if holder is not None and holder.item else []


def test_zones_and_regions(soap: SoapClient) -> None:
    zones = items(soap.call("DescribeAvailabilityZones", availabilityZoneSet={"item": []}), "availabilityZoneInfo")
    assert zones and zones[0].zoneState == "available"
    regions = items(soap.call("DescribeRegions", regionSet={"item": []}), "regionInfo")
    assert regions and regions[0].regionName


def test_security_groups(soap: SoapClient) -> None:
    assert soap.call("CreateSecurityGroup", groupName="web", groupDescription="web servers")["return"] is True
    soap.call("AuthorizeSecurityGroupIngress", userId="", groupName="web", ipPermissions={"item": [{
        "ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "groups": {"item": []},
        "ipRanges": {"item": [{"cidrIp": "0.0.0.0/0"}]}}]})
    groups = items(soap.call("DescribeSecurityGroups", securityGroupSet={"item": [{"groupName": "web"}]}),
                   "securityGroupInfo")
    assert [g.groupName for g in groups] == ["web"]
    rule, = groups[0].ipPermissions.item
    assert (rule.ipProtocol, rule.fromPort, rule.toPort, rule.ipRanges.item[0].cidrIp) == ("tcp", 80, 80,
                                                                                           "0.0.0.0/0")
    failure = soap.failure("CreateSecurityGroup", groupName="web", groupDescription="again")
    assert failure.faultcode == "Client.InvalidGroup.Duplicate"
    assert soap.call("DeleteSecurityGroup", groupName="web")["return"] is True
    failure = soap.failure("DescribeSecurityGroups", securityGroupSet={"item": [{"groupName": "web"}]})
    assert failure.faultcode == "Client.InvalidGroup.NotFound"


def test_volumes_snapshots_and_tags(soap: SoapClient) -> None:
    zone = items(soap.call("DescribeAvailabilityZones", availabilityZoneSet={"item": []}),
                 "availabilityZoneInfo")[0].zoneName
    volume = soap.call("CreateVolume", size="1", availabilityZone=zone)
    assert volume.volumeId.startswith("vol-") and volume.size == "1"
    soap.call("CreateTags", resourcesSet={"item": [{"resourceId": volume.volumeId}]},
              tagSet={"item": [{"key": "team", "value": "blue"}]})
    tags = items(soap.call("DescribeTags", filterSet={"item": [
        {"name": "resource-id", "valueSet": {"item": [{"value": volume.volumeId}]}}]}), "tagSet")
    assert [(t.key, t.value) for t in tags] == [("team", "blue")]
    deadline = time.monotonic() + 20
    while True:
        found, = items(soap.call("DescribeVolumes", volumeSet={"item": [{"volumeId": volume.volumeId}]}),
                       "volumeSet")
        if found.status == "available" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found.status == "available"
    # CloudStack allocates a volume's storage on its first attachment and cannot snapshot it before; it holds
    # only zeros, and the gateway serves that snapshot itself.
    snapshot = soap.call("CreateSnapshot", volumeId=volume.volumeId, description="backup")
    assert snapshot.snapshotId.startswith("snap-") and snapshot.status == "completed"
    assert snapshot.volumeSize == "1" and snapshot.description == "backup"
    [seen] = items(soap.call("DescribeSnapshots", snapshotSet={"item": []}), "snapshotSet")
    assert (seen.snapshotId, seen.volumeId, seen.status, seen.progress) == (
        snapshot.snapshotId, volume.volumeId, "completed", "100%")
    restored = soap.call("CreateVolume", snapshotId=snapshot.snapshotId, availabilityZone=zone)
    assert restored.snapshotId == snapshot.snapshotId and restored.size == "1"
    assert soap.call("DeleteSnapshot", snapshotId=snapshot.snapshotId)["return"] is True
    assert items(soap.call("DescribeSnapshots", snapshotSet={"item": []}), "snapshotSet") == []
    assert soap.call("DeleteVolume", volumeId=volume.volumeId)["return"] is True
    failure = soap.failure("DescribeVolumes", volumeSet={"item": [{"volumeId": "vol-0123456789abcdef0"}]})
    assert failure.faultcode == "Client.InvalidVolume.NotFound"


def test_addresses(soap: SoapClient) -> None:
    allocated = soap.call("AllocateAddress")
    assert allocated.publicIp
    listed = items(soap.call("DescribeAddresses", publicIpsSet={"item": []}), "addressesSet")
    assert [a.publicIp for a in listed] == [allocated.publicIp]
    assert soap.call("ReleaseAddress", publicIp=allocated.publicIp)["return"] is True


def test_images_and_instances(soap: SoapClient) -> None:
    images = items(soap.call("DescribeImages", imagesSet={"item": []}), "imagesSet")
    assert images
    image = next(i for i in images if i.imageState == "available")
    run = soap.call("RunInstances", imageId=image.imageId, minCount=1, maxCount=1, groupSet={"item": []},
                    instanceType="m1.small")
    instance, = run.instancesSet.item
    assert instance.instanceId.startswith("i-") and instance.instanceType == "m1.small"
    reservations = items(soap.call("DescribeInstances", instancesSet={"item": [
        {"instanceId": instance.instanceId}]}), "reservationSet")
    assert [i.instanceId for r in reservations for i in r.instancesSet.item] == [instance.instanceId]
    changes = items(soap.call("TerminateInstances", instancesSet={"item": [{"instanceId": instance.instanceId}]}),
                    "instancesSet")
    assert changes[0].instanceId == instance.instanceId
    failure = soap.failure("DescribeInstances", instancesSet={"item": [{"instanceId": "i-0123456789abcdef0"}]})
    assert failure.faultcode == "Client.InvalidInstanceID.NotFound"
