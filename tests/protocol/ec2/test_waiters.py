"""Every boto3 waiter and `aws ec2 wait` subcommand for the resources the gateway serves, end to end through the
real server: instance_exists/running/stopped/terminated, instance_status_ok, volume_available/in_use/deleted,
snapshot_completed, image_available/exists, key_pair_exists, security_group_exists. boto 2 has no waiters: its
get_all_* polling for a couple.

The waiters are botocore's own (their acceptors, paths and error matchers as published); only the delay between
polls is shortened: boto3 through WaiterConfig, awscli (which has no --delay) through a copy of botocore's
ec2 waiters-2.json with the delays cut, found first on AWS_DATA_PATH.
"""
from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import botocore
import pytest

from tests.protocol.conftest import EC2Client
from tests.protocol.ec2.test_instances import template_id

ZONE = "zone1"
FAST = {"Delay": 0.2, "MaxAttempts": 100}


@pytest.fixture(scope="module")
def fast_waiters(tmp_path_factory: Any) -> Path:
    """A data path whose ec2 waiters-2.json is botocore's with 0.2 s between polls."""
    data = Path(botocore.__file__).parent / "data" / "ec2"
    version = sorted(p.name for p in data.iterdir() if p.is_dir())[-1]
    source = next((data / version).glob("waiters-2.json*"))
    text = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    model = json.loads(text)
    for waiter in model["waiters"].values():
        waiter["delay"], waiter["maxAttempts"] = 0.2, 100
    root = tmp_path_factory.mktemp("aws-data")
    (root / "ec2" / version).mkdir(parents=True)
    (root / "ec2" / version / "waiters-2.json").write_text(json.dumps(model))
    return root


@pytest.fixture
def keys(new_user: Any) -> Any:
    return new_user()


@pytest.fixture
def boto3_ec2(ec2_of: Any, keys: Any) -> EC2Client:
    return ec2_of("boto3", keys)


@pytest.fixture
def cli(ec2_of: Any, keys: Any, fast_waiters: Path, monkeypatch: Any) -> EC2Client:
    import awscli

    # awscli keeps its own data (cli.json) on the data path too; ours comes first.
    monkeypatch.setenv("AWS_DATA_PATH",
                       os.pathsep.join([str(fast_waiters), str(Path(awscli.__file__).parent / "data")]))
    return ec2_of("awscli", keys)


def wait(client: Any, name: str, **params: Any) -> None:
    client.get_waiter(name).wait(WaiterConfig=FAST, **params)


def launch(c: Any, image: str) -> str:
    return c.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def state(c: Any, instance_id: str) -> str:
    return c.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


# -- boto3 ---------------------------------------------------------------------------------------------------------
def test_instance_waiters(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    instance_id = launch(c, template_id(boto3_ec2.server))
    wait(c, "instance_exists", InstanceIds=[instance_id])
    wait(c, "instance_running", InstanceIds=[instance_id])
    assert state(c, instance_id) == "running"
    wait(c, "instance_status_ok", InstanceIds=[instance_id])
    c.stop_instances(InstanceIds=[instance_id])
    wait(c, "instance_stopped", InstanceIds=[instance_id])
    assert state(c, instance_id) == "stopped"
    c.start_instances(InstanceIds=[instance_id])
    wait(c, "instance_running", InstanceIds=[instance_id])
    c.terminate_instances(InstanceIds=[instance_id])
    wait(c, "instance_terminated", InstanceIds=[instance_id])
    assert state(c, instance_id) == "terminated"


def test_volume_waiters(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    instance_id = launch(c, template_id(boto3_ec2.server))
    volume_id = c.create_volume(AvailabilityZone=ZONE, Size=1)["VolumeId"]
    wait(c, "volume_available", VolumeIds=[volume_id])
    wait(c, "instance_running", InstanceIds=[instance_id])
    assert c.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")["State"] == "attaching"
    wait(c, "volume_in_use", VolumeIds=[volume_id])
    [seen] = c.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    assert seen["Attachments"][0]["State"] == "attached" and seen["Attachments"][0]["InstanceId"] == instance_id
    assert c.detach_volume(VolumeId=volume_id)["State"] == "detaching"
    wait(c, "volume_available", VolumeIds=[volume_id])
    c.delete_volume(VolumeId=volume_id)
    wait(c, "volume_deleted", VolumeIds=[volume_id])


def test_snapshot_completed(boto3_ec2: EC2Client) -> None:
    from tests.protocol.ec2.test_snapshots import ready_volume

    c = boto3_ec2.client
    volume_id = ready_volume(boto3_ec2)
    snapshot_id = c.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    wait(c, "snapshot_completed", SnapshotIds=[snapshot_id])
    assert c.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]["State"] == "completed"


def test_image_waiters(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    instance_id = launch(c, template_id(boto3_ec2.server))
    wait(c, "instance_running", InstanceIds=[instance_id])
    c.stop_instances(InstanceIds=[instance_id])
    wait(c, "instance_stopped", InstanceIds=[instance_id])
    image_id = c.create_image(InstanceId=instance_id, Name="waited-for")["ImageId"]
    wait(c, "image_exists", ImageIds=[image_id])
    wait(c, "image_available", ImageIds=[image_id])
    assert c.describe_images(ImageIds=[image_id])["Images"][0]["State"] == "available"


def test_key_pair_and_security_group_exist(boto3_ec2: EC2Client) -> None:
    c = boto3_ec2.client
    c.create_key_pair(KeyName="waited")
    wait(c, "key_pair_exists", KeyNames=["waited"])
    group_id = c.create_security_group(GroupName="waited", Description="waited for")["GroupId"]
    wait(c, "security_group_exists", GroupIds=[group_id])
    wait(c, "security_group_exists", GroupNames=["waited"])


# -- awscli: aws ec2 wait ... --------------------------------------------------------------------------------------
def test_aws_ec2_wait_instances(cli: EC2Client) -> None:
    made = cli.cli("run-instances", "--image-id", template_id(cli.server), "--count", "1")
    instance_id = made["Instances"][0]["InstanceId"]
    cli.cli("wait", "instance-exists", "--instance-ids", instance_id)
    cli.cli("wait", "instance-running", "--instance-ids", instance_id)
    cli.cli("wait", "instance-status-ok", "--instance-ids", instance_id)
    cli.cli("stop-instances", "--instance-ids", instance_id)
    cli.cli("wait", "instance-stopped", "--instance-ids", instance_id)
    image_id = cli.cli("create-image", "--instance-id", instance_id, "--name", "cli-waited")["ImageId"]
    cli.cli("wait", "image-exists", "--image-ids", image_id)
    cli.cli("wait", "image-available", "--image-ids", image_id)
    cli.cli("terminate-instances", "--instance-ids", instance_id)
    cli.cli("wait", "instance-terminated", "--instance-ids", instance_id)
    boto3 = EC2Client("boto3", cli.server, cli.keys).client
    assert state(boto3, instance_id) == "terminated"


def test_aws_ec2_wait_volumes_snapshots_keys_groups(cli: EC2Client) -> None:
    volume_id = cli.cli("create-volume", "--availability-zone", ZONE, "--size", "1")["VolumeId"]
    cli.cli("wait", "volume-available", "--volume-ids", volume_id)
    boto3_client = EC2Client("boto3", cli.server, cli.keys)
    instance_id = launch(boto3_client.client, template_id(cli.server))
    cli.cli("wait", "instance-running", "--instance-ids", instance_id)
    cli.cli("attach-volume", "--volume-id", volume_id, "--instance-id", instance_id, "--device", "/dev/sdg")
    cli.cli("wait", "volume-in-use", "--volume-ids", volume_id)
    cli.cli("detach-volume", "--volume-id", volume_id)
    cli.cli("wait", "volume-available", "--volume-ids", volume_id)
    snapshot_id = cli.cli("create-snapshot", "--volume-id", volume_id)["SnapshotId"]
    cli.cli("wait", "snapshot-completed", "--snapshot-ids", snapshot_id)
    cli.cli("delete-volume", "--volume-id", volume_id)
    cli.cli("wait", "volume-deleted", "--volume-ids", volume_id)
    cli.cli("create-key-pair", "--key-name", "cli-key")
    cli.cli("wait", "key-pair-exists", "--key-names", "cli-key")
    group_id = cli.cli("create-security-group", "--group-name", "cli-group", "--description", "d")["GroupId"]
    cli.cli("wait", "security-group-exists", "--group-ids", group_id)


def test_aws_ec2_wait_gives_up_on_a_missing_resource(cli: EC2Client) -> None:
    """A waiter whose resource does not exist ends with the waiter's failure, not a hang or a crash."""
    with cli.failure() as failure:
        cli.cli("wait", "volume-available", "--volume-ids", "vol-0123456789abcdef0")
    assert "InvalidVolume.NotFound" in failure.value.message or "Waiter" in failure.value.message


# -- boto 2: no waiters; its users poll ---------------------------------------------------------------------------
def test_boto2_polling(ec2_of: Any, keys: Any) -> None:
    pytest.importorskip("boto")
    conn = ec2_of("boto2", keys).conn
    reservation = conn.run_instances(template_id(ec2_of("boto2", keys).server))
    instance = reservation.instances[0]
    deadline = time.monotonic() + 20
    while instance.update() != "running":
        assert time.monotonic() < deadline, instance.state
        time.sleep(0.2)
    volume = conn.create_volume(1, ZONE)
    while volume.update() != "available":
        assert time.monotonic() < deadline, volume.status
        time.sleep(0.2)
    assert volume.attach(instance.id, "/dev/sdh") == "attaching"
    while volume.update() != "in-use" or volume.attachment_state() != "attached":
        assert time.monotonic() < deadline, (volume.status, volume.attachment_state())
        time.sleep(0.2)
    [seen] = conn.get_all_volumes([volume.id])
    assert seen.attach_data.instance_id == instance.id and seen.attach_data.device == "/dev/sdh"
