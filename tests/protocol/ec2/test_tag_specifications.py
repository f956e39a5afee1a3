"""TagSpecification on the create actions other than RunInstances (test_block_devices.py has that one), through
boto3 and awscli: applied where CloudStack can tag the resource, refused by name where it cannot, EC2's error
for a resource type the action does not make; and the key-pair negative paths."""
from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.protocol.conftest import EC2Client
from tests.protocol.ec2.test_block_devices import tags, wait_running
from tests.protocol.ec2.test_instances import template_id

ZONE = "zone1"
KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 test@example"


def spec(resource_type: str, **pairs: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()]}]


def cli_spec(resource_type: str, **pairs: str) -> list[str]:
    inner = ",".join(f"{{Key={k},Value={v}}}" for k, v in pairs.items())
    return ["--tag-specifications", f"ResourceType={resource_type},Tags=[{inner}]"]


@pytest.fixture(params=["boto3", "awscli"])
def client(request: Any, new_user: Any, ec2_of: Any) -> EC2Client:
    return ec2_of(request.param, new_user())


def test_security_group_volume_snapshot_address(client: EC2Client) -> None:
    boto3 = EC2Client("boto3", client.server, client.keys).client
    if client.kind == "boto3":
        group = client.client.create_security_group(GroupName="web", Description="web servers",
                                                    TagSpecifications=spec("security-group", tier="web"))["GroupId"]
        volume = client.client.create_volume(AvailabilityZone=ZONE, Size=1,
                                             TagSpecifications=spec("volume", Name="data"))["VolumeId"]
        address = client.client.allocate_address(TagSpecifications=spec("elastic-ip", Name="front"))
    else:
        group = client.cli("create-security-group", "--group-name", "web", "--description", "web servers",
                           *cli_spec("security-group", tier="web"))["GroupId"]
        volume = client.cli("create-volume", "--availability-zone", ZONE, "--size", "1",
                            *cli_spec("volume", Name="data"))["VolumeId"]
        address = client.cli("allocate-address", *cli_spec("elastic-ip", Name="front"))
    [seen_group] = boto3.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert tags(seen_group) == {"tier": "web"}
    [seen_volume] = boto3.describe_volumes(VolumeIds=[volume])["Volumes"]
    assert tags(seen_volume) == {"Name": "data"}
    [seen_address] = boto3.describe_addresses(AllocationIds=[address["AllocationId"]])["Addresses"]
    assert tags(seen_address) == {"Name": "front"}
    by_type = {t["ResourceType"]: (t["ResourceId"], t["Key"]) for t in boto3.describe_tags()["Tags"]}
    assert by_type == {"security-group": (group, "tier"), "volume": (volume, "Name"),
                       "elastic-ip": (address["AllocationId"], "Name")}


def test_wrong_resource_type_is_refused(client: EC2Client) -> None:
    calls = {
        "boto3": [lambda: client.client.create_volume(AvailabilityZone=ZONE, Size=1,
                                                      TagSpecifications=spec("instance", a="b")),
                  lambda: client.client.create_security_group(GroupName="g", Description="d",
                                                              TagSpecifications=spec("volume", a="b")),
                  lambda: client.client.allocate_address(TagSpecifications=spec("instance", a="b"))],
        "awscli": [lambda: client.cli("create-volume", "--availability-zone", ZONE, "--size", "1",
                                      *cli_spec("instance", a="b")),
                   lambda: client.cli("create-security-group", "--group-name", "g", "--description", "d",
                                      *cli_spec("volume", a="b")),
                   lambda: client.cli("allocate-address", *cli_spec("instance", a="b"))],
    }[client.kind]
    for call in calls:
        with client.failure() as failure:
            call()
        assert failure.value.code == "InvalidParameterValue"
        assert "not a valid taggable resource type" in failure.value.message
    # Nothing was made by the refused calls.
    boto3 = EC2Client("boto3", client.server, client.keys).client
    assert boto3.describe_volumes()["Volumes"] == [] and boto3.describe_addresses()["Addresses"] == []
    assert [g["GroupName"] for g in boto3.describe_security_groups()["SecurityGroups"]] == ["default"]


def test_key_pairs_cannot_be_tagged_here(client: EC2Client) -> None:
    with client.failure() as failure:
        if client.kind == "boto3":
            client.client.create_key_pair(KeyName="k1", TagSpecifications=spec("key-pair", a="b"))
        else:
            client.cli("create-key-pair", "--key-name", "k1", *cli_spec("key-pair", a="b"))
    assert failure.value.code == "InvalidParameterValue" and "key-pair" in failure.value.message
    with client.failure() as failure:
        if client.kind == "boto3":
            client.client.import_key_pair(KeyName="k2", PublicKeyMaterial=KEY.encode(),
                                          TagSpecifications=spec("key-pair", a="b"))
        else:
            client.cli("import-key-pair", "--key-name", "k2", "--public-key-material",
                       base64.b64encode(KEY.encode()).decode(), *cli_spec("key-pair", a="b"))
    assert failure.value.code == "InvalidParameterValue" and "key-pair" in failure.value.message
    boto3 = EC2Client("boto3", client.server, client.keys).client
    assert boto3.describe_key_pairs()["KeyPairs"] == []


def test_import_key_pair_with_empty_material(client: EC2Client) -> None:
    with client.failure() as failure:
        if client.kind == "boto3":
            client.client.import_key_pair(KeyName="empty", PublicKeyMaterial=b"")
        else:
            client.cli("import-key-pair", "--key-name", "empty", "--public-key-material", "")
    assert failure.value.code == "MissingParameter", failure.value


def test_create_image_tags_the_image_and_refuses_snapshot_tags(gateway_server: Any, new_user: Any,
                                                                ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    c = ec2.client
    instance_id = c.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1)[
        "Instances"][0]["InstanceId"]
    wait_running(c, instance_id)
    with ec2.failure() as failure:
        c.create_image(InstanceId=instance_id, Name="img-1", TagSpecifications=spec("snapshot", a="b"))
    assert failure.value.code == "InvalidParameterValue" and "snapshot" in failure.value.message
    with ec2.failure() as failure:
        c.create_image(InstanceId=instance_id, Name="img-1", TagSpecifications=spec("volume", a="b"))
    assert failure.value.code == "InvalidParameterValue" and "not a valid taggable" in failure.value.message
    image_id = c.create_image(InstanceId=instance_id, Name="img-1",
                              TagSpecifications=spec("image", Name="golden"))["ImageId"]
    [image] = c.describe_images(ImageIds=[image_id])["Images"]
    assert tags(image) == {"Name": "golden"}
    registered = c.register_image(Name="reg-1", ImageLocation="http://images.example.com/x.qcow2",
                                  TagSpecifications=spec("image", source="url"))["ImageId"]
    [image] = c.describe_images(ImageIds=[registered])["Images"]
    assert tags(image) == {"source": "url"}
