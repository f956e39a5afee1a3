"""Snapshots of volumes that were never attached (CloudStack has no storage for them yet, so they hold only zeros)
through boto3, boto 2 and awscli: completed at once with the volume's size, listed, filtered and tagged like any
snapshot, a volume made from one (empty, at least its size, SnapshotId shown), deleted, per-user."""
from __future__ import annotations

from typing import Any, Callable

from tests.protocol.conftest import EC2Client
from tests.protocol.ec2.test_snapshots import create_snapshot, delete_snapshot, describe_snapshots
from tests.protocol.ec2.test_volumes import ZONE, attach, create_volume, describe_volumes, launch, wait_volume


def _fresh_volume(ec2: EC2Client, size: int) -> str:
    volume_id = create_volume(ec2, size=size)["id"]
    wait_volume(ec2, volume_id, "available")
    return volume_id


def _tag(ec2: EC2Client, resource: str, key: str, value: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])
    elif ec2.kind == "boto2":
        assert ec2.conn.create_tags([resource], {key: value}) is True
    else:
        ec2.cli("create-tags", "--resources", resource, "--tags", f"Key={key},Value={value}")


def _untag(ec2: EC2Client, resource: str, key: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.delete_tags(Resources=[resource], Tags=[{"Key": key}])
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_tags([resource], [key]) is True
    else:
        ec2.cli("delete-tags", "--resources", resource, "--tags", f"Key={key}")


def _tags_of(ec2: EC2Client, resource: str) -> dict[str, str]:
    if ec2.kind == "boto2":
        return {t.name: t.value for t in ec2.conn.get_all_tags(filters={"resource-id": resource})}
    if ec2.kind == "boto3":
        found = ec2.client.describe_tags(Filters=[{"Name": "resource-id", "Values": [resource]}])["Tags"]
    else:
        found = ec2.cli("describe-tags", "--filters", f"Name=resource-id,Values={resource}")["Tags"]
    assert all(t["ResourceType"] == "snapshot" for t in found)
    return {t["Key"]: t["Value"] for t in found}


def test_snapshot_of_a_new_volume(ec2: EC2Client) -> None:
    volume_id = _fresh_volume(ec2, 3)
    made = create_snapshot(ec2, volume_id, "empty disk")
    assert made["id"].startswith("snap-") and made["volume"] == volume_id
    # Nothing to copy: it is complete at once, with the volume's size.
    assert (made["status"], made["progress"], made["size"], made["description"]) == (
        "completed", "100%", 3, "empty disk")
    [seen] = describe_snapshots(ec2, [made["id"]])
    assert seen == made
    assert [s["id"] for s in describe_snapshots(ec2, owners=["self"])] == [made["id"]]
    assert [s["id"] for s in describe_snapshots(ec2, filters={"volume-id": [volume_id]})] == [made["id"]]
    assert [s["id"] for s in describe_snapshots(ec2, filters={"status": ["completed"], "volume-size": ["3"]})] \
        == [made["id"]]
    assert describe_snapshots(ec2, filters={"status": ["pending"]}) == []

    _tag(ec2, made["id"], "stage", "blank")
    _tag(ec2, made["id"], "owner", "ops")
    _tag(ec2, made["id"], "stage", "golden")  # a key it has gets the new value, as in EC2
    assert _tags_of(ec2, made["id"]) == {"stage": "golden", "owner": "ops"}
    assert [s["id"] for s in describe_snapshots(ec2, filters={"tag:stage": ["golden"]})] == [made["id"]]
    _untag(ec2, made["id"], "owner")
    assert describe_snapshots(ec2, [made["id"]])[0]["tags"] == {"stage": "golden"}

    # A volume from it: a new empty volume of its size, or larger; never smaller.
    restored = create_volume(ec2, snapshot=made["id"])
    assert restored["size"] == 3 and restored["snapshot"] == made["id"]
    bigger = create_volume(ec2, size=5, snapshot=made["id"])
    assert bigger["size"] == 5
    with ec2.failure() as failure:
        create_volume(ec2, size=2, snapshot=made["id"])
    assert failure.value.code == "InvalidParameterValue"
    wait_volume(ec2, restored["id"], "available")
    assert {v["id"] for v in describe_volumes(ec2, filters={"snapshot-id": [made["id"]]})} == {
        restored["id"], bigger["id"]}
    assert describe_volumes(ec2, [restored["id"]])[0]["tags"] == {}

    delete_snapshot(ec2, made["id"])
    assert describe_snapshots(ec2) == []
    with ec2.failure() as failure:
        describe_snapshots(ec2, [made["id"]])
    assert failure.value.code == "InvalidSnapshot.NotFound"
    with ec2.failure() as failure:
        delete_snapshot(ec2, made["id"])
    assert failure.value.code == "InvalidSnapshot.NotFound"
    # The volume made from it outlives it, as in EC2.
    assert describe_volumes(ec2, [restored["id"]])[0]["snapshot"] == made["id"]


def test_a_volume_from_a_zero_snapshot_is_a_volume_like_any(ec2: EC2Client) -> None:
    snapshot = create_snapshot(ec2, _fresh_volume(ec2, 1))["id"]
    restored = create_volume(ec2, snapshot=snapshot)["id"]
    wait_volume(ec2, restored, "available")
    instance = launch(ec2)
    attach(ec2, restored, instance, "/dev/sdf")
    wait_volume(ec2, restored, "in-use")
    # Attached once, it has CloudStack storage: its own snapshots are CloudStack's again.
    boto3 = EC2Client("boto3", ec2.server, ec2.keys).client
    boto3.detach_volume(VolumeId=restored)
    wait_volume(ec2, restored, "available")
    second = boto3.create_snapshot(VolumeId=restored)
    assert second["State"] == "pending"
    boto3.get_waiter("snapshot_completed").wait(SnapshotIds=[second["SnapshotId"]],
                                                WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    assert {s["id"] for s in describe_snapshots(ec2)} == {snapshot, second["SnapshotId"]}


def test_zero_snapshots_are_per_user(ec2: EC2Client, new_user: Callable[[], Any],
                                     ec2_of: Callable[..., EC2Client]) -> None:
    mine = create_snapshot(ec2, _fresh_volume(ec2, 1))["id"]
    other = ec2_of(ec2.kind, new_user())
    assert describe_snapshots(other) == []
    for call in (lambda: describe_snapshots(other, [mine]), lambda: delete_snapshot(other, mine),
                 lambda: create_volume(other, snapshot=mine), lambda: _tag(other, mine, "a", "b")):
        with other.failure() as failure:
            call()
        assert failure.value.code == "InvalidSnapshot.NotFound", failure.value
    assert [s["id"] for s in describe_snapshots(ec2)] == [mine]


def test_tag_specification_and_run_instances_mapping(gateway_server: Any, new_user: Any, ec2_of: Any) -> None:
    from tests.protocol.ec2.test_block_devices import volumes_of, wait_running
    from tests.protocol.ec2.test_instances import template_id

    c = ec2_of("boto3", new_user()).client
    volume_id = c.create_volume(AvailabilityZone=ZONE, Size=2)["VolumeId"]
    c.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    snapshot = c.create_snapshot(VolumeId=volume_id, TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "blank-2g"}]}])
    assert snapshot["State"] == "completed" and {t["Key"]: t["Value"] for t in snapshot["Tags"]} == {
        "Name": "blank-2g"}
    c.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot["SnapshotId"]])
    made = c.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdk", "Ebs": {"SnapshotId": snapshot["SnapshotId"]}}])
    instance_id = made["Instances"][0]["InstanceId"]
    wait_running(c, instance_id)
    mapped = volumes_of(c, instance_id)["/dev/sdk"]
    assert mapped["Size"] == 2 and mapped["SnapshotId"] == snapshot["SnapshotId"]
