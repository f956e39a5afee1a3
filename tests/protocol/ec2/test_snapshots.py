"""Snapshots through boto3, boto 2 and awscli: create (pending → completed) with a description, describe (ids,
owners, filters, pages), a volume from a snapshot, delete, errors, limits and per-user isolation."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, cli_filters
from tests.protocol.ec2.test_volumes import (attach, create_volume, describe_volumes, detach, launch,
                                             set_limit, wait_volume)


def _snapshot_of_boto3(s: dict) -> dict:
    return {"id": s["SnapshotId"], "volume": s["VolumeId"], "status": s["State"], "progress": s["Progress"],
            "owner": s["OwnerId"], "size": s["VolumeSize"], "description": s.get("Description", ""),
            "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])}}


def _snapshot_of_boto2(s: Any) -> dict:
    return {"id": s.id, "volume": s.volume_id, "status": s.status, "progress": s.progress, "owner": s.owner_id,
            "size": s.volume_size, "description": s.description or "", "tags": dict(s.tags)}


def create_snapshot(ec2: EC2Client, volume_id: str, description: str | None = None) -> dict:
    if ec2.kind == "boto3":
        kw = {"VolumeId": volume_id, **({"Description": description} if description else {})}
        return _snapshot_of_boto3(ec2.client.create_snapshot(**kw))
    if ec2.kind == "boto2":
        return _snapshot_of_boto2(ec2.conn.create_snapshot(volume_id, description))
    args = ["create-snapshot", "--volume-id", volume_id]
    if description:
        args += ["--description", description]
    return _snapshot_of_boto3(ec2.cli(*args))


def describe_snapshots(ec2: EC2Client, ids: list[str] = (), owners: list[str] = (),
                       filters: dict[str, list[str]] | None = None) -> list[dict]:
    filters = filters or {}
    if ec2.kind == "boto3":
        kw: dict[str, Any] = {"SnapshotIds": list(ids)} if ids else {}
        if owners:
            kw["OwnerIds"] = list(owners)
        if filters:
            kw["Filters"] = [{"Name": k, "Values": v} for k, v in filters.items()]
        return [_snapshot_of_boto3(s) for s in ec2.client.describe_snapshots(**kw)["Snapshots"]]
    if ec2.kind == "boto2":
        return [_snapshot_of_boto2(s) for s in ec2.conn.get_all_snapshots(
            snapshot_ids=list(ids) or None, owner=list(owners) or None, filters=filters or None)]
    args = ["describe-snapshots"]
    if ids:
        args += ["--snapshot-ids", *ids]
    if owners:
        args += ["--owner-ids", *owners]
    args += cli_filters(filters)
    return [_snapshot_of_boto3(s) for s in ec2.cli(*args)["Snapshots"]]


def wait_snapshot(ec2: EC2Client, snapshot_id: str, status: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        [seen] = describe_snapshots(ec2, [snapshot_id])
        if seen["status"] == status or time.monotonic() > deadline:
            assert seen["status"] == status, seen
            return seen
        time.sleep(0.1)


def delete_snapshot(ec2: EC2Client, snapshot_id: str) -> None:
    if ec2.kind == "boto3":
        ec2.client.delete_snapshot(SnapshotId=snapshot_id)
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_snapshot(snapshot_id) is True
    else:
        ec2.cli("delete-snapshot", "--snapshot-id", snapshot_id)


def ready_volume(ec2: EC2Client, size: int = 2) -> str:
    """A data volume with storage behind it: CloudStack allocates a volume's storage on its first attach."""
    instance = launch(ec2)
    volume_id = create_volume(ec2, size=size)["id"]
    wait_volume(ec2, volume_id, "available")
    attach(ec2, volume_id, instance, "/dev/sdf")
    wait_volume(ec2, volume_id, "in-use")
    detach(ec2, volume_id)
    wait_volume(ec2, volume_id, "available")
    return volume_id


def root_volume(ec2: EC2Client) -> dict:
    instance = launch(ec2)
    volumes = [v for v in describe_volumes(ec2) if v["attachments"]
               and v["attachments"][0]["device"] == "/dev/sda1"]
    assert volumes, instance
    return volumes[-1]


# -- scenarios -----------------------------------------------------------------------------------------------------
def test_snapshot_restore_delete(ec2: EC2Client) -> None:
    volume_id = ready_volume(ec2, size=3)
    made = create_snapshot(ec2, volume_id, "before the upgrade")
    assert made["id"].startswith("snap-") and made["volume"] == volume_id and made["size"] == 3
    assert made["status"] == "pending" and made["description"] == "before the upgrade"
    done = wait_snapshot(ec2, made["id"], "completed")
    assert done["progress"] == "100%" and done["description"] == "before the upgrade" and done["size"] == 3
    assert done["tags"] == {}  # the description's own CloudStack tag stays hidden
    assert done["owner"] == made["owner"] and done["owner"]
    if ec2.kind == "boto3":  # the same ownerId as the account's other resources
        groups = ec2.client.describe_security_groups()["SecurityGroups"]
        assert {g["OwnerId"] for g in groups} == {done["owner"]}
    plain = create_snapshot(ec2, volume_id)
    assert plain["description"] == ""
    wait_snapshot(ec2, plain["id"], "completed")

    assert {s["id"] for s in describe_snapshots(ec2)} == {made["id"], plain["id"]}
    assert {s["id"] for s in describe_snapshots(ec2, owners=["self"])} == {made["id"], plain["id"]}
    assert {s["id"] for s in describe_snapshots(ec2, owners=[done["owner"]])} == {made["id"], plain["id"]}
    assert describe_snapshots(ec2, owners=["amazon"]) == []
    assert [s["id"] for s in describe_snapshots(ec2, filters={"description": ["before*"]})] == [made["id"]]
    assert {s["id"] for s in describe_snapshots(ec2, filters={"volume-id": [volume_id],
                                                               "status": ["completed"]})} == {made["id"], plain["id"]}
    assert describe_snapshots(ec2, filters={"volume-size": ["4"]}) == []

    restored = create_volume(ec2, snapshot=made["id"])
    assert restored["snapshot"] == made["id"] and restored["size"] == 3 and restored["status"] == "creating"
    seen = wait_volume(ec2, restored["id"], "available")
    assert seen["snapshot"] == made["id"] and seen["size"] == 3
    assert [v["id"] for v in describe_volumes(ec2, filters={"snapshot-id": [made["id"]]})] == [restored["id"]]
    with ec2.failure() as failure:
        create_volume(ec2, size=1, snapshot=made["id"])
    assert failure.value.code == "InvalidParameterValue"

    delete_snapshot(ec2, made["id"])
    assert [s["id"] for s in describe_snapshots(ec2)] == [plain["id"]]
    with ec2.failure() as failure:
        describe_snapshots(ec2, [made["id"]])
    assert failure.value.code == "InvalidSnapshot.NotFound"
    with ec2.failure() as failure:
        delete_snapshot(ec2, made["id"])
    assert failure.value.code == "InvalidSnapshot.NotFound"


def test_snapshot_of_a_root_volume(ec2: EC2Client) -> None:
    root = root_volume(ec2)
    made = create_snapshot(ec2, root["id"], "root")
    assert made["size"] == root["size"] and made["status"] == "pending"
    wait_snapshot(ec2, made["id"], "completed")


def test_tag_specifications(ec2: EC2Client) -> None:
    if ec2.kind != "boto3":
        pytest.skip("boto 2.49 has no TagSpecification; one modern client is enough")
    volume_id = ready_volume(ec2)
    made = ec2.client.create_snapshot(VolumeId=volume_id, Description="tagged", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "Name", "Value": "nightly"}]}])
    assert made["Tags"] == [{"Key": "Name", "Value": "nightly"}] and made["Description"] == "tagged"
    [seen] = describe_snapshots(ec2, filters={"tag:Name": ["nightly"]})
    assert seen["id"] == made["SnapshotId"] and seen["tags"] == {"Name": "nightly"}
    assert seen["description"] == "tagged"
    assert describe_snapshots(ec2, filters={"tag-key": ["ec2:description"]}) == []


def test_errors(ec2: EC2Client) -> None:
    with ec2.failure() as failure:
        create_snapshot(ec2, "vol-0123456789abcdef0")
    assert failure.value.code == "InvalidVolume.NotFound"
    with ec2.failure() as failure:
        describe_snapshots(ec2, ["snap-0123456789abcdef0"])
    assert failure.value.code == "InvalidSnapshot.NotFound"
    with ec2.failure() as failure:
        delete_snapshot(ec2, "snap-0123456789abcdef0")
    assert failure.value.code == "InvalidSnapshot.NotFound"
    with ec2.failure() as failure:
        describe_snapshots(ec2, filters={"colour": ["red"]})
    assert failure.value.code == "InvalidFilter"


def test_snapshot_limit(ec2: EC2Client, gateway_server: GatewayServer) -> None:
    volume_id = ready_volume(ec2)
    set_limit(gateway_server, ec2.keys.account, "snapshot", 1)
    create_snapshot(ec2, volume_id)
    with ec2.failure() as failure:
        create_snapshot(ec2, volume_id)
    assert failure.value.code == "SnapshotLimitExceeded"


def test_pages(ec2: EC2Client) -> None:
    if ec2.kind != "boto3":
        pytest.skip("one client is enough for pages (awscli pages every describe-snapshots itself)")
    volume_id = ready_volume(ec2)
    made = {create_snapshot(ec2, volume_id)["id"] for _ in range(6)}
    first = ec2.client.describe_snapshots(MaxResults=5)
    second = ec2.client.describe_snapshots(MaxResults=5, NextToken=first["NextToken"])
    assert [len(first["Snapshots"]), len(second["Snapshots"])] == [5, 1] and "NextToken" not in second
    assert {s["SnapshotId"] for s in first["Snapshots"] + second["Snapshots"]} == made
    with ec2.failure() as failure:
        ec2.client.describe_snapshots(MaxResults=5, SnapshotIds=sorted(made)[:1])
    assert failure.value.code == "InvalidParameterCombination"


def test_snapshots_are_per_user(ec2: EC2Client, new_user: Callable[[], Any],
                                ec2_of: Callable[..., EC2Client]) -> None:
    volume_id = ready_volume(ec2)
    mine = create_snapshot(ec2, volume_id, "mine")["id"]
    wait_snapshot(ec2, mine, "completed")
    other = ec2_of(ec2.kind, new_user())
    assert describe_snapshots(other) == []
    for call in (lambda: describe_snapshots(other, [mine]), lambda: delete_snapshot(other, mine),
                 lambda: create_volume(other, snapshot=mine)):
        with other.failure() as failure:
            call()
        assert failure.value.code == "InvalidSnapshot.NotFound"
    with other.failure() as failure:
        create_snapshot(other, volume_id)
    assert failure.value.code == "InvalidVolume.NotFound"
    assert [s["id"] for s in describe_snapshots(ec2)] == [mine]
