"""RunInstances' BlockDeviceMapping and TagSpecification through boto3, awscli, boto 2 (the Query form libcloud
sends) and zeep-free SOAP: mapped volumes created and attached at their devices before the first boot, root
sizes, DeleteOnTermination shown, what CloudStack cannot do refused by name; tags on instances and volumes."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.protocol.conftest import EC2Client
from tests.protocol.ec2.test_instances import template_id

ZONE = "zone1"


def _image(ec2: EC2Client) -> str:
    return template_id(ec2.server)


def wait_running(client: Any, instance_id: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        inst = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        if inst["State"]["Name"] == "running" or time.monotonic() > deadline:
            assert inst["State"]["Name"] == "running", inst["State"]
            return inst
        time.sleep(0.1)


def volumes_of(client: Any, instance_id: str) -> dict[str, dict]:
    """{device: volume} of the volumes attached to INSTANCE_ID."""
    found = client.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])
    return {v["Attachments"][0]["Device"]: v for v in found["Volumes"]}


def tags(item: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get("Tags", [])}


@pytest.fixture
def boto3_ec2(gateway_server: Any, new_user: Any, ec2_of: Any) -> EC2Client:
    return ec2_of("boto3", new_user())


def test_mapped_volumes_are_attached_before_first_boot(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    made = c.run_instances(
        ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1, InstanceType="m1.small",
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 20, "DeleteOnTermination": True}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 3}},
            {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}},
            {"DeviceName": "/dev/sdh", "NoDevice": ""}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]},
                           {"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "blue"}]}])
    [inst] = made["Instances"]
    assert inst["State"]["Name"] == "pending"
    instance_id = inst["InstanceId"]
    running = wait_running(c, instance_id)
    assert tags(running) == {"Name": "web-1"}
    devices = volumes_of(c, instance_id)
    assert set(devices) == {"/dev/sda1", "/dev/sdf", "/dev/sdg"}
    assert devices["/dev/sda1"]["Size"] == 20
    assert devices["/dev/sdf"]["Size"] == 3 and devices["/dev/sdg"]["Size"] == 1
    delete = {d: v["Attachments"][0]["DeleteOnTermination"] for d, v in devices.items()}
    assert delete == {"/dev/sda1": True, "/dev/sdf": True, "/dev/sdg": False}
    # The volume tags are on every volume of the launch, and the gateway's own marker is never shown.
    assert all(tags(v) == {"team": "blue"} for v in devices.values()), devices
    # DescribeInstances shows the same mapping.
    mapping = {m["DeviceName"]: m["Ebs"]["DeleteOnTermination"] for m in running["BlockDeviceMappings"]}
    assert mapping == delete
    assert {v["State"] for v in devices.values()} == {"in-use"}
    # DescribeTags sees them as the caller's tags.
    seen = c.describe_tags(Filters=[{"Name": "key", "Values": ["Name", "team"]}])["Tags"]
    assert {(t["ResourceType"], t["Key"]) for t in seen} == {("instance", "Name"), ("volume", "team")}
    assert c.describe_volumes(Filters=[{"Name": "attachment.delete-on-termination", "Values": ["false"]}])[
        "Volumes"][0]["VolumeId"] == devices["/dev/sdg"]["VolumeId"]


def test_mapping_from_a_snapshot(boto3_ec2: EC2Client) -> None:
    from tests.protocol.ec2.test_snapshots import ready_volume, wait_snapshot

    c = boto3_ec2.client
    source = ready_volume(boto3_ec2, size=2)
    snapshot = c.create_snapshot(VolumeId=source)["SnapshotId"]
    wait_snapshot(boto3_ec2, snapshot, "completed")
    made = c.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1,
                           BlockDeviceMappings=[{"DeviceName": "xvdj", "Ebs": {"SnapshotId": snapshot}}])
    instance_id = made["Instances"][0]["InstanceId"]
    wait_running(c, instance_id)
    restored = volumes_of(c, instance_id)["/dev/sdj"]
    assert restored["SnapshotId"] == snapshot and restored["Size"] == 2


@pytest.mark.parametrize("mapping, words", [
    ({"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}, "instance store"),
    ({"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5, "VolumeType": "gp3"}}, "gp3"),
    ({"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5, "VolumeType": "io1", "Iops": 300}}, "io1"),
    ({"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5, "Encrypted": True}}, "encrypted"),
    ({"DeviceName": "/dev/sda1", "Ebs": {"DeleteOnTermination": False}}, "root volume"),
    ({"DeviceName": "/dev/sda1", "NoDevice": ""}, "root device"),
    ({"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 1}}, "smaller than the image"),
    ({"DeviceName": "/dev/floppy", "Ebs": {"VolumeSize": 1}}, "/dev/floppy"),
    ({"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 99999}}, "VolumeSize"),
])
def test_what_cloudstack_cannot_do_is_refused(boto3_ec2: EC2Client, mapping: dict, words: str) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1,
                                       BlockDeviceMappings=[mapping])
    assert failure.value.code == "InvalidParameterValue" and words in failure.value.message, failure.value
    # Nothing was launched.
    assert boto3_ec2.client.describe_instances()["Reservations"] == []


def test_mapping_needs_a_size_or_snapshot(boto3_ec2: EC2Client) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1,
                                       BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {}}])
    assert failure.value.code == "MissingParameter"
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1, BlockDeviceMappings=[
            {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}])
    assert failure.value.code == "InvalidSnapshot.NotFound"


def test_awscli_run_instances_with_mappings_and_tags(ec2_of: Any, new_user: Any) -> None:
    cli = ec2_of("awscli", new_user())
    made = cli.cli("run-instances", "--image-id", _image(cli), "--count", "2",
                   "--block-device-mappings", json.dumps([{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2}}]),
                   "--tag-specifications", "ResourceType=instance,Tags=[{Key=role,Value=db}]",
                   "ResourceType=volume,Tags=[{Key=role,Value=db-disk}]")
    ids = [i["InstanceId"] for i in made["Instances"]]
    assert len(ids) == 2
    boto3 = ec2_of("boto3", cli.keys).client
    for instance_id in ids:
        inst = wait_running(boto3, instance_id)
        assert tags(inst) == {"role": "db"}
        devices = volumes_of(boto3, instance_id)
        assert set(devices) == {"/dev/sda1", "/dev/sdf"} and devices["/dev/sdf"]["Size"] == 2
        assert {tags(v)["role"] for v in devices.values()} == {"db-disk"}
    # Each instance got its own mapped volume.
    assert len({volumes_of(boto3, i)["/dev/sdf"]["VolumeId"] for i in ids}) == 2


def test_boto2_query_form_as_libcloud_sends_it(ec2_of: Any, new_user: Any) -> None:
    """libcloud's EC2 driver writes TagSpecification.N for instance and volume by hand; boto 2 sends the same
    parameters through its own signer."""
    pytest.importorskip("boto")
    import boto.ec2.instance

    keys = new_user()
    conn = ec2_of("boto2", keys).conn
    params = {"ImageId": template_id(ec2_of("boto2", keys).server), "MinCount": "1", "MaxCount": "1",
              "TagSpecification.1.ResourceType": "instance", "TagSpecification.1.Tag.1.Key": "Name",
              "TagSpecification.1.Tag.1.Value": "node-1",
              "TagSpecification.2.ResourceType": "volume", "TagSpecification.2.Tag.1.Key": "Name",
              "TagSpecification.2.Tag.1.Value": "node-1-root",
              "BlockDeviceMapping.1.DeviceName": "/dev/sda1", "BlockDeviceMapping.1.Ebs.VolumeSize": "12"}
    reservation = conn.get_object("RunInstances", params, boto.ec2.instance.Reservation, verb="POST")
    instance_id = reservation.instances[0].id
    boto3 = ec2_of("boto3", keys).client
    assert tags(wait_running(boto3, instance_id)) == {"Name": "node-1"}
    root = volumes_of(boto3, instance_id)["/dev/sda1"]
    assert tags(root) == {"Name": "node-1-root"} and root["Size"] == 12
    [seen] = conn.get_only_instances([instance_id])
    assert seen.tags == {"Name": "node-1"}


def test_run_instances_tag_specification_errors(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    image = _image(boto3_ec2)
    for resource_type, code, words in (("network-interface", "InvalidParameterValue", "network-interface"),
                                       ("snapshot", "InvalidParameterValue", "not a valid taggable"),
                                       ("security-group", "InvalidParameterValue", "not a valid taggable")):
        with boto3_ec2.failure() as failure:
            c.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
                {"ResourceType": resource_type, "Tags": [{"Key": "a", "Value": "b"}]}])
        assert failure.value.code == code and words in failure.value.message, failure.value
    with boto3_ec2.failure() as failure:
        c.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "aws:reserved", "Value": "b"}]}])
    assert failure.value.code == "InvalidParameterValue"
    with boto3_ec2.failure() as failure:
        c.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]},
            {"ResourceType": "instance", "Tags": [{"Key": "c", "Value": "d"}]}])
    assert failure.value.code == "InvalidParameterValue"
    assert c.describe_instances()["Reservations"] == []


def test_delete_on_termination_is_honoured(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    made = c.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
        {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}}])
    instance_id = made["Instances"][0]["InstanceId"]
    wait_running(c, instance_id)
    devices = volumes_of(c, instance_id)
    gone, kept = devices["/dev/sdf"]["VolumeId"], devices["/dev/sdg"]["VolumeId"]
    c.terminate_instances(InstanceIds=[instance_id])
    fast = {"Delay": 0.2, "MaxAttempts": 100}
    c.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=fast)
    # EC2 deletes the volumes marked DeleteOnTermination and detaches the rest as the instance terminates.
    c.get_waiter("volume_deleted").wait(VolumeIds=[gone], WaiterConfig=fast)
    c.get_waiter("volume_available").wait(VolumeIds=[kept], WaiterConfig=fast)
    assert [v["VolumeId"] for v in c.describe_volumes()["Volumes"]] == [kept]


def test_a_launch_that_cannot_make_its_volumes_leaves_nothing(boto3_ec2: EC2Client) -> None:
    from tests.protocol.ec2.test_volumes import set_limit

    # Room for the instance's root volume only: the mapped volume cannot be made.
    set_limit(boto3_ec2.server, boto3_ec2.keys.account, "volume", 1)
    c = boto3_ec2.client
    with boto3_ec2.failure() as failure:
        c.run_instances(ImageId=_image(boto3_ec2), MinCount=1, MaxCount=1,
                        BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}}])
    assert failure.value.code == "VolumeLimitExceeded"
    running = [i for r in c.describe_instances()["Reservations"] for i in r["Instances"]
               if i["State"]["Name"] not in ("terminated", "shutting-down")]
    assert running == []
